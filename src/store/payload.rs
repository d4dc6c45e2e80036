//! What each outbox row carries, typed by destination and kind: the store writes these and the
//! platform workers and the HQ link read them, so a missing field is a refusal to read the row
//! (it is parked with the reason), never an empty string sent to a platform.
//!
//! FROZEN at `"v": 1`: rows outlive releases (a store may be upgraded with rows pending), so
//! fields are only added, with defaults, and rows an older release wrote still read
//! (`tests/fixtures/db/outbox-release-0.1.0.db`).

use crate::model::{Platform, Report, SkuCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A row for a delivery platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlatformPayload {
    /// Tell the platform what happened to one of its orders.
    Report(ReportPayload),
    /// One item's level, under one code the platform knows it by.
    StockLevel(LevelPayload),
    /// Every level again (after an import or on request).
    StockFullSync(FullSyncPayload),
    /// Fetch an order the platform announced by id only.
    FetchOrder(FetchPayload),
    /// The store's decision on a customer's request.
    Decision(DecisionPayload),
    /// The store open or closed at the platform (coalesced: only the newest state goes).
    StoreOpen(StoreOpenPayload),
}

/// The store's wanted open / closed state at one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreOpenPayload {
    /// Payload format, 1.
    pub v: u32,
    /// The platform.
    pub platform: Platform,
    /// Open (else closed).
    pub open: bool,
    /// Why (kept here, shown on the screens).
    #[serde(default)]
    pub reason: String,
    /// When it was wanted.
    pub at: i64,
    /// This row's event id.
    #[serde(default)]
    pub event_id: String,
}

impl PlatformPayload {
    /// The outbox `kind` of rows carrying this.
    pub fn kind(&self) -> &'static str {
        match self {
            PlatformPayload::Report(_) => "report",
            PlatformPayload::StockLevel(_) => "stock_level",
            PlatformPayload::StockFullSync(_) => "stock_full_sync",
            PlatformPayload::FetchOrder(_) => "fetch_order",
            PlatformPayload::Decision(_) => "decision",
            PlatformPayload::StoreOpen(_) => "store_open",
        }
    }

    /// The platform's order id, for rows about an order.
    pub fn external_id(&self) -> Option<&str> {
        match self {
            PlatformPayload::Report(r) => Some(&r.external_id),
            PlatformPayload::FetchOrder(f) => Some(&f.external_id),
            PlatformPayload::Decision(d) => Some(&d.external_id),
            _ => None,
        }
    }

    /// Reads a row's payload; the error names what is missing or wrong.
    pub fn read(payload: &Value) -> Result<PlatformPayload, String> {
        PlatformPayload::deserialize(payload).map_err(|e| format!("the row cannot be read: {e}"))
    }
}

/// A manager's decision on a customer's request, for the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionPayload {
    /// Payload format, 1.
    pub v: u32,
    /// The store's id of the request.
    pub request_id: i64,
    /// The order's platform.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// What the customer asked.
    pub kind: crate::model::request::RequestKind,
    /// The platform's refund id, when it gave one.
    #[serde(default)]
    pub refund_id: String,
    /// Agreed (else rejected).
    pub agree: bool,
    /// The store's reason (shown to the customer on a rejection).
    #[serde(default)]
    pub reason: String,
    /// Who decided.
    pub decided_by: String,
    /// When.
    pub at: i64,
    /// This row's event id.
    #[serde(default)]
    pub event_id: String,
}

/// A report: the order as it stands and the action for the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPayload {
    /// Payload format, 1.
    pub v: u32,
    /// The transition that caused it.
    pub caused_by: String,
    /// The store's order id.
    pub order_id: i64,
    /// The order's platform.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// The state the order left (`new` when a cancel comes before the accept).
    pub from_state: String,
    /// Every line of the order, as it stands.
    #[serde(default)]
    pub order_lines: Vec<ReportLine>,
    /// Who delivers the order, when the platform said (rows of older releases: none, the
    /// store's setting applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::model::Delivery>,
    /// What to tell the platform (`action`, and its fields).
    #[serde(flatten)]
    pub report: Report,
    /// When.
    pub at: i64,
    /// This row's event id.
    #[serde(default)]
    pub event_id: String,
}

/// One line of a reported order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    /// Line number.
    pub line_no: u32,
    /// The store's item.
    pub sku: SkuCode,
    /// The platform's own id of the item.
    #[serde(default)]
    pub platform_item: Option<String>,
    /// The platform's merchant code of the item (rows of older releases have none: the sku).
    #[serde(default)]
    pub merchant_code: Option<String>,
    /// Name as sold.
    #[serde(default)]
    pub name: String,
    /// Ordered.
    pub qty: i64,
    /// Picked.
    pub picked: i64,
    /// Short.
    pub short: i64,
    /// Price of one unit, fen.
    #[serde(default)]
    pub unit_price_fen: i64,
    /// Weighed lines: grams of one portion, when known.
    #[serde(default)]
    pub unit_g: Option<i64>,
    /// Weighed.
    #[serde(default)]
    pub weighed: bool,
}

impl ReportLine {
    /// The code the platform knows the item by: its merchant code, else the sku.
    pub fn code(&self) -> &str {
        self.merchant_code.as_deref().unwrap_or(&self.sku.0)
    }
}

/// A stock level for one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelPayload {
    /// Payload format, 1.
    pub v: u32,
    /// For whom.
    pub platform: Platform,
    /// The store's item.
    pub sku: SkuCode,
    /// The code the platform knows it by (rows of releases before codes name only the sku).
    #[serde(default)]
    pub code: Option<String>,
    /// The platform's own id of the item.
    #[serde(default)]
    pub item: Option<String>,
    /// What the platform may sell (portions for weighed items).
    pub level: i64,
    /// On the shelf when queued.
    #[serde(default)]
    pub on_hand: i64,
    /// Held for open orders when queued.
    #[serde(default)]
    pub reserved: i64,
    /// Held back for this platform.
    #[serde(default)]
    pub safety: i64,
    /// Weighed items: grams of one portion.
    #[serde(default)]
    pub sale_unit_g: Option<i64>,
    /// When.
    pub at: i64,
    /// This row's event id.
    #[serde(default)]
    pub event_id: String,
}

impl LevelPayload {
    /// The code the level goes out under.
    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or(&self.sku.0)
    }
}

/// Every level again, for one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullSyncPayload {
    /// Payload format, 1.
    pub v: u32,
    /// For whom.
    pub platform: Platform,
    /// When.
    pub at: i64,
    /// This row's event id.
    #[serde(default)]
    pub event_id: String,
}

/// An order to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPayload {
    /// Payload format, 1.
    pub v: u32,
    /// From whom.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// When.
    pub at: i64,
    /// This row's event id.
    #[serde(default)]
    pub event_id: String,
}

/// An event for HQ: the `data` of the contract's `Event` (`assets/asyncapi.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HqPayload {
    /// An order changed state.
    OrderTransition(TransitionPayload),
    /// Stock moved.
    StockMove(MovePayload),
    /// A catalog file was imported.
    CatalogImport(ImportPayload),
    /// A catalog delta from HQ was applied.
    CatalogApplied(AppliedPayload),
    /// Something HQ sent was refused.
    Rejected(RejectedPayload),
    /// The store opened or closed at a platform (by a person, a timer or the load).
    StoreState(StoreStatePayload),
    /// A business day's numbers, at 00:05 China time for the day before.
    DaySummary(DaySummaryPayload),
}

/// `day_summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaySummaryPayload {
    /// Payload format, 1.
    pub v: u32,
    /// The business day, `YYYY-MM-DD` (China time).
    pub date: String,
    /// Its numbers.
    pub report: crate::model::report::DayReport,
    /// When it was computed.
    pub at: i64,
    /// This event's id.
    #[serde(default)]
    pub event_id: String,
}

/// `store_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatePayload {
    /// Payload format, 1.
    pub v: u32,
    /// The platform.
    pub platform: Platform,
    /// Open (else closed).
    pub open: bool,
    /// Set by the store itself under load.
    pub automatic: bool,
    /// Why.
    pub reason: String,
    /// Who (a manager, `timer`, `capacity`).
    pub by: String,
    /// A timed close opens again then (ms).
    pub until: Option<i64>,
    /// When.
    pub at: i64,
    /// This event's id.
    #[serde(default)]
    pub event_id: String,
}

impl HqPayload {
    /// The outbox `kind` (and the contract's event `kind`) of rows carrying this.
    pub fn kind(&self) -> &'static str {
        match self {
            HqPayload::OrderTransition(_) => "order_transition",
            HqPayload::StockMove(_) => "stock_move",
            HqPayload::CatalogImport(_) => "catalog_import",
            HqPayload::CatalogApplied(_) => "catalog_applied",
            HqPayload::Rejected(_) => "rejected",
            HqPayload::StoreState(_) => "store_state",
            HqPayload::DaySummary(_) => "day_summary",
        }
    }

    /// Reads a row's payload; the error names what is missing or wrong.
    pub fn read(payload: &Value) -> Result<HqPayload, String> {
        HqPayload::deserialize(payload)
            .map_err(|e| format!("the row is not an event of the HQ contract: {e}"))
    }
}

/// `order_transition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionPayload {
    /// Payload format, 1.
    pub v: u32,
    /// This event's id.
    pub event_id: String,
    /// The store's order id.
    pub order_id: i64,
    /// The order's platform.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// The day sequence number.
    pub day_seq: u32,
    /// The state before (`None` when the order came in).
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// The order event as applied.
    pub event: Value,
    /// Who.
    pub actor: String,
    /// When.
    pub at: i64,
}

/// `stock_move`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovePayload {
    /// Payload format, 1.
    pub v: u32,
    /// The change that caused it.
    pub caused_by: String,
    /// The item.
    pub sku: SkuCode,
    /// Units (or grams) on the shelf, signed.
    pub delta: i64,
    /// `pick`, `receive`, `count`, …
    pub kind: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// Who.
    pub actor: String,
    /// The order, for moves of an order.
    pub order_id: Option<i64>,
    /// When.
    pub at: i64,
    /// This event's id.
    #[serde(default)]
    pub event_id: String,
}

/// `catalog_import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPayload {
    /// Payload format, 1.
    pub v: u32,
    /// Items in the file.
    pub items: usize,
    /// Items whose stock changed.
    pub stock_changes: usize,
    /// When.
    pub at: i64,
    /// This event's id.
    #[serde(default)]
    pub event_id: String,
}

/// `catalog_applied`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPayload {
    /// Payload format, 1.
    pub v: u32,
    /// The catalog's version now.
    pub version: i64,
    /// Changes in the delta.
    pub changes: usize,
    /// When.
    pub at: i64,
    /// This event's id.
    #[serde(default)]
    pub event_id: String,
}

/// `rejected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedPayload {
    /// Payload format, 1.
    pub v: u32,
    /// `orders`, `catalog` or `config`.
    pub topic: String,
    /// HQ's id, or a digest of a payload without one.
    pub message_id: Option<String>,
    /// Why.
    pub reason: String,
    /// When.
    pub at: i64,
    /// This event's id.
    #[serde(default)]
    pub event_id: String,
}
