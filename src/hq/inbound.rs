//! What HQ sends in: relayed orders and catalog deltas, as the contract (`assets/asyncapi.yaml`)
//! has them, and their conversion into the store's records. The contract's own types, so that a
//! field added to the store's write structs cannot change what HQ may send.

use crate::model::{Fen, Platform, SkuCode, Timestamp, Unit, UnknownItem};
use crate::store::{self, CatalogDelta, NewLine, NewOrder};
use serde::{Deserialize, Serialize};

/// A message on `…/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayedOrder {
    /// Payload format.
    pub v: u32,
    /// HQ's message id: a redelivery carries the same.
    pub id: String,
    /// The order, normalised (platform `hq`).
    pub order: WireOrder,
}

/// An order as HQ relays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireOrder {
    /// Source: `hq`.
    pub platform: Platform,
    /// HQ's order id.
    pub external_id: String,
    /// HQ's day sequence number; assigned by the store when absent.
    #[serde(default)]
    pub day_seq: Option<u32>,
    /// When the customer paid.
    pub placed_at: Timestamp,
    /// Promised delivery time.
    #[serde(default)]
    pub promised_at: Option<Timestamp>,
    /// A pick deadline set by HQ.
    #[serde(default)]
    pub platform_deadline: Option<Timestamp>,
    /// Code the rider will show.
    #[serde(default)]
    pub pickup_code: Option<String>,
    /// The lines.
    pub lines: Vec<RelayedLine>,
    /// The customer's remark.
    #[serde(default)]
    pub remark: Option<String>,
    /// Items HQ could not map to the store's catalog.
    #[serde(default)]
    pub unknown_items: Vec<UnknownItem>,
}

/// One line of a relayed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayedLine {
    /// The store item.
    pub sku: SkuCode,
    /// Name as sold; the catalog name when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Quantity in the sku's unit.
    pub qty: i64,
    /// Price of one unit.
    #[serde(default)]
    pub unit_price: Fen,
    /// HQ's own id of the item.
    #[serde(default)]
    pub platform_item: Option<String>,
    /// HQ's merchant code of the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_code: Option<String>,
    /// Weighed goods: the grams of one portion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_g: Option<i64>,
}

impl From<WireOrder> for NewOrder {
    fn from(o: WireOrder) -> Self {
        NewOrder {
            platform: o.platform,
            external_id: o.external_id,
            day_seq: o.day_seq,
            placed_at: o.placed_at,
            promised_at: o.promised_at,
            platform_deadline: o.platform_deadline,
            pickup_code: o.pickup_code,
            // HQ's orders are not delivered by a platform's carrier.
            delivery: None,
            lines: o.lines.into_iter().map(Into::into).collect(),
            remark: o.remark,
            unknown_items: o.unknown_items,
        }
    }
}

impl From<RelayedLine> for NewLine {
    fn from(l: RelayedLine) -> Self {
        NewLine {
            sku: l.sku,
            name: l.name,
            qty: l.qty,
            unit_price: l.unit_price,
            platform_item: l.platform_item,
            merchant_code: l.merchant_code,
            unit_g: l.unit_g,
        }
    }
}

/// A message on `…/catalog`: the next catalog delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogMsg {
    /// Payload format, 1.
    pub v: u32,
    /// This delta's number: one more than the last one applied.
    pub version: i64,
    /// The changes, in order.
    pub changes: Vec<CatalogChange>,
}

/// One change of a catalog delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum CatalogChange {
    /// Creates or replaces an item's description (never its stock).
    Item {
        /// Store code.
        sku: SkuCode,
        /// Chinese name.
        name: String,
        /// English name.
        #[serde(default)]
        name_en: Option<String>,
        /// Specification.
        #[serde(default)]
        spec: Option<String>,
        /// `piece` or `gram`.
        #[serde(default)]
        unit: Unit,
        /// Shelf location.
        location: String,
        /// Position on the pick walk.
        #[serde(default)]
        walk_seq: i64,
        /// Shelf price.
        #[serde(default)]
        price_fen: Option<Fen>,
        /// Barcodes (replace the item's codes).
        #[serde(default)]
        barcodes: Vec<String>,
        /// Scale PLU.
        #[serde(default)]
        plu: Option<String>,
        /// Weighed goods: the grams of one portion (absent: the item keeps the one it has).
        #[serde(default)]
        sale_unit_g: Option<i64>,
    },
    /// A new shelf price.
    Price {
        /// Store code.
        sku: SkuCode,
        /// Price.
        price_fen: Fen,
    },
    /// A new place on the shelves (layout change).
    Move {
        /// Store code.
        sku: SkuCode,
        /// Shelf location.
        location: String,
        /// Position on the pick walk.
        walk_seq: i64,
    },
}

impl From<CatalogMsg> for CatalogDelta {
    fn from(m: CatalogMsg) -> Self {
        CatalogDelta {
            v: m.v,
            version: m.version,
            changes: m.changes.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<CatalogChange> for store::CatalogChange {
    fn from(c: CatalogChange) -> Self {
        match c {
            CatalogChange::Item {
                sku,
                name,
                name_en,
                spec,
                unit,
                location,
                walk_seq,
                price_fen,
                barcodes,
                plu,
                sale_unit_g,
            } => store::CatalogChange::Item {
                sku,
                name,
                name_en,
                spec,
                unit,
                location,
                walk_seq,
                price_fen,
                barcodes,
                // Leading zeros are taken off, as a catalog file's are.
                plu: plu.map(|p| crate::model::item::normalised_plu(&p)),
                sale_unit_g,
            },
            CatalogChange::Price { sku, price_fen } => {
                store::CatalogChange::Price { sku, price_fen }
            }
            CatalogChange::Move {
                sku,
                location,
                walk_seq,
            } => store::CatalogChange::Move {
                sku,
                location,
                walk_seq,
            },
        }
    }
}
