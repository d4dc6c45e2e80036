//! Between the store's records and the socket's: the protocol has its own types (`api::records`)
//! and this is the one place that knows both. Field for field, so the JSON stays as it was.

use crate::api;
use crate::store;

impl From<store::SkuInfo> for api::SkuInfo {
    fn from(s: store::SkuInfo) -> Self {
        api::SkuInfo {
            sku: s.sku,
            name: s.name,
            name_en: s.name_en,
            spec: s.spec,
            unit: s.unit,
            location: s.location,
            walk_seq: s.walk_seq,
            price: s.price,
            safety_stock: s.safety_stock,
            barcodes: s.barcodes,
            plu: s.plu,
            sale_unit_g: s.sale_unit_g,
            on_hand: s.on_hand,
            reserved: s.reserved,
            sold_out_at: s.sold_out_at,
        }
    }
}

impl From<store::OutboxDepth> for api::OutboxDepth {
    fn from(o: store::OutboxDepth) -> Self {
        api::OutboxDepth {
            destination: o.destination,
            pending: o.pending,
            parked: o.parked,
            oldest_pending_at: o.oldest_pending_at,
            parked_rows: o.parked_rows.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<store::ParkedRow> for api::ParkedRow {
    fn from(p: store::ParkedRow) -> Self {
        api::ParkedRow {
            id: p.id,
            kind: p.kind,
            action: p.action,
            order: p.order,
            reason: p.reason,
            queued_at: p.queued_at,
        }
    }
}

impl From<store::LineWalk> for api::LineWalk {
    fn from(w: store::LineWalk) -> Self {
        api::LineWalk {
            line_no: w.line_no,
            location: w.location,
            walk_seq: w.walk_seq,
            unit: w.unit,
            spec: w.spec,
        }
    }
}

impl From<store::CatalogRow> for api::CatalogRow {
    fn from(r: store::CatalogRow) -> Self {
        api::CatalogRow {
            line: r.line,
            sku: r.sku,
            name: r.name,
            name_en: r.name_en,
            spec: r.spec,
            unit: r.unit,
            location: r.location,
            walk_seq: r.walk_seq,
            price: r.price,
            safety_stock: r.safety_stock,
            on_hand: r.on_hand,
            barcodes: r.barcodes,
            plu: r.plu,
            sale_unit_g: r.sale_unit_g,
        }
    }
}

impl From<api::CatalogRow> for store::CatalogRow {
    fn from(r: api::CatalogRow) -> Self {
        store::CatalogRow {
            line: r.line,
            sku: r.sku,
            name: r.name,
            name_en: r.name_en,
            spec: r.spec,
            unit: r.unit,
            location: r.location,
            walk_seq: r.walk_seq,
            price: r.price,
            safety_stock: r.safety_stock,
            on_hand: r.on_hand,
            barcodes: r.barcodes,
            plu: r.plu,
            sale_unit_g: r.sale_unit_g,
        }
    }
}
