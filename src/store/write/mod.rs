//! The writes. Each function runs inside the writer's open transaction and returns its value plus
//! the events to broadcast after the commit. Outbox payloads written here are a wire format: FROZEN
//! at `"v": 1`; change them only by adding a version.
//!
//! - `order`: orders coming in and their transitions (state, history, platform reports);
//! - `stock`: stock moves, levels for the platforms, receipts and counts, catalog imports;
//! - `scan`: a scan into an order;
//! - `scan_log`: the log of every scan (below `order` and `scan`, which both write it);
//! - `emit`: the outbox rows every change writes.

mod batch;
mod claim;
mod codes;
pub(super) mod emit;
mod hq;
mod order;
pub mod order_check;
mod rider;
mod scan;
mod scan_log;
mod stock;

pub use batch::{BatchInPicking, batches_in_picking};
pub(super) use batch::{claim_batch, release_batch};
pub use claim::IDLE_RELEASE;
pub(super) use claim::{release_idle, take_over};
pub use codes::conflicting_codes;
pub(super) use emit::platform_row;
pub use hq::{CatalogChange, CatalogDelta, DeltaOutcome, Rejection};
pub(super) use hq::{catalog_delta, hq_note};
pub(super) use order::{apply, ingest};
pub use rider::RiderChange;
pub(super) use rider::{remind, reminder_seen, set_rider};
pub(super) use scan::scan;
pub use scan::{ScanDone, ScanRequest};
pub(super) use scan_log::{bind_scanner, log_scan};
pub(super) use stock::{clear_sold_out, import_catalog, queue_full_stock_sync, stock};

use super::{StoreError, StoreEvent};
use crate::model::{EventId, Fen, Order, OrderId, Platform, SkuCode, Timestamp};
use serde::{Deserialize, Serialize};

/// One line of an incoming order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLine {
    /// The store item (already mapped from the platform's sku id).
    pub sku: SkuCode,
    /// Name as sold; the catalog name when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Quantity in the sku's unit.
    pub qty: i64,
    /// Price of one unit.
    #[serde(default)]
    pub unit_price: Fen,
    /// The platform's own id of the item (Meituan `sku_id`, JD `skuId`), sent back in adjustments.
    #[serde(default)]
    pub platform_item: Option<String>,
    /// The platform's merchant code of the item (Meituan `app_food_code`, JD `skuIdIsv`), as it
    /// sent it: reports and stock levels use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_code: Option<String>,
    /// Weighed goods sold by a platform: the grams of one portion, so that refunds and
    /// adjustments go back in portions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_g: Option<i64>,
}

pub use crate::model::UnknownItem;

/// An incoming order, normalised from whichever platform sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    /// Source.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// The platform's day sequence number; assigned locally when absent.
    #[serde(default)]
    pub day_seq: Option<u32>,
    /// When the customer paid.
    pub placed_at: Timestamp,
    /// Promised delivery time.
    #[serde(default)]
    pub promised_at: Option<Timestamp>,
    /// The platform's own pick deadline (JD `pickDeadline`).
    #[serde(default)]
    pub platform_deadline: Option<Timestamp>,
    /// Code the rider will show.
    #[serde(default)]
    pub pickup_code: Option<String>,
    /// Who delivers it, when the platform said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::model::Delivery>,
    /// The lines.
    pub lines: Vec<NewLine>,
    /// The customer's remark (including what to do when an item is out of stock).
    #[serde(default)]
    pub remark: Option<String>,
    /// Items no catalog entry matched.
    #[serde(default)]
    pub unknown_items: Vec<UnknownItem>,
}

/// The outcome of taking an order in.
// Returned once per order taken in, never stored or queued: boxing the order would cost an
// allocation for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// A new order.
    New(Order),
    /// Seen before (same message, or same platform order id): nothing changed.
    Duplicate(OrderId),
    /// The platform sent this order id before with other lines, prices or delivery time: the
    /// store keeps what it has (it may be half picked) and someone must look.
    Changed {
        /// The order as the store has it.
        id: OrderId,
        /// What differs.
        what: String,
    },
}

/// The outcome of an applied order event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The order as committed.
    pub order: Order,
    /// The transition's event id (in the history, the ledger and every outbox row it caused).
    pub event_id: EventId,
}

/// A scan as recorded in `pick_scan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanLog {
    /// The order being picked, if any.
    pub order_id: Option<OrderId>,
    /// The line it matched, if any.
    pub line_no: Option<u32>,
    /// The raw code.
    pub code: String,
    /// `ok`, `wrong_item`, `over`, `unknown`, …
    pub result: String,
    /// Units it counted for.
    pub qty: i64,
    /// Who scanned.
    pub actor: String,
    /// Which scanner.
    pub scanner: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// A stock operation outside of orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockOp {
    /// The item.
    pub sku: SkuCode,
    /// What to do.
    pub kind: StockOpKind,
    /// Who.
    pub actor: String,
    /// Why (goes into the ledger).
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a [`StockOp`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockOpKind {
    /// Goods arrived: add.
    Receive(i64),
    /// A shelf count: set.
    Count(i64),
    /// A correction: add (negative to remove).
    Adjust(i64),
}

pub(super) type Out<T> = Result<(T, Vec<StoreEvent>), StoreError>;
