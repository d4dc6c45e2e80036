//! Records the socket carries that the store also has: the protocol's own types, so that a
//! change inside the store cannot change the protocol by accident. The daemon converts
//! (`daemon::convert`); their JSON is frozen at protocol 1, field for field.

use crate::model::{Fen, SkuCode, Timestamp, Unit};
use serde::{Deserialize, Serialize};

/// Everything about one item, as shown on the stock screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuInfo {
    /// Store code.
    pub sku: SkuCode,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Specification (规格), e.g. 500ml.
    pub spec: Option<String>,
    /// Pieces or grams.
    pub unit: Unit,
    /// Shelf location.
    pub location: String,
    /// Position on the pick walk.
    pub walk_seq: i64,
    /// Shelf price.
    pub price: Option<Fen>,
    /// The sku's own safety stock.
    pub safety_stock: Option<i64>,
    /// Every barcode that maps to it.
    pub barcodes: Vec<String>,
    /// The item code on scale labels.
    pub plu: Option<String>,
    /// Weighed goods: the grams of one portion as the platforms sell it.
    #[serde(default)]
    pub sale_unit_g: Option<i64>,
    /// Marked sold out (a picker found none on the shelf): every platform shows 0 until the
    /// next receipt or count, or a manager clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sold_out_at: Option<crate::model::Timestamp>,
    /// On the shelf.
    pub on_hand: i64,
    /// Held for open orders.
    pub reserved: i64,
}

/// How much is waiting to leave for one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxDepth {
    /// `meituan`, `jddj` or `hq`.
    pub destination: String,
    /// Rows still to be delivered.
    pub pending: i64,
    /// Rows permanently refused, waiting for a person.
    pub parked: i64,
    /// When the oldest pending row was written.
    pub oldest_pending_at: Option<Timestamp>,
    /// The latest parked rows (at most five), with the platform's reason.
    #[serde(default)]
    pub parked_rows: Vec<ParkedRow>,
}

/// A row a destination refused for good, as `status` shows it to whoever must settle it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedRow {
    /// The row (what `flashpick outbox resolve` and `resolve_parked` name).
    #[serde(default)]
    pub id: i64,
    /// `report`, `stock_level`, `fetch_order`, …
    pub kind: String,
    /// What the report did (`confirm`, `adjust`, `pick_complete`, `cancel`), for reports.
    pub action: Option<String>,
    /// The platform's order id, for rows about an order.
    pub order: Option<String>,
    /// The platform's answer.
    pub reason: String,
    /// When the row was queued.
    pub queued_at: Timestamp,
}

/// Where a line's item is on the shelves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineWalk {
    /// Line.
    pub line_no: u32,
    /// Shelf location.
    pub location: String,
    /// Walk position.
    pub walk_seq: i64,
    /// Pieces or grams.
    pub unit: Unit,
    /// Specification.
    pub spec: Option<String>,
}

/// One item of a catalog file, staged over the socket by `catalog import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogRow {
    /// Line in the file (1-based, header is line 1).
    pub line: u64,
    /// Store code.
    pub sku: SkuCode,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Specification.
    pub spec: Option<String>,
    /// Pieces or grams.
    pub unit: Unit,
    /// Shelf location.
    pub location: String,
    /// Position on the pick walk.
    pub walk_seq: i64,
    /// Shelf price.
    pub price: Option<Fen>,
    /// The sku's own safety stock.
    pub safety_stock: Option<i64>,
    /// On hand, as counted for the import.
    pub on_hand: i64,
    /// Barcodes.
    pub barcodes: Vec<String>,
    /// The item code the store's scales print on their labels (leading zeros removed).
    #[serde(default)]
    pub plu: Option<String>,
    /// Weighed goods: the grams of one portion as the platforms sell it.
    #[serde(default)]
    pub sale_unit_g: Option<i64>,
}
