//! Queries. They take any connection (a reader, or the writer inside its transaction), one file
//! per aggregate.

mod floor;
mod items;
mod orders;
mod outbox;
pub mod report;
mod stock;

pub use floor::{picker_for_badge, scanner_bindings};
pub use items::{
    SkuInfo, lookup_skus, resolve_item, sale_unit, sku_by_code, sku_for_scan, sku_info,
    weighed_without_portion,
};
pub use orders::{
    LineWalk, current_order, current_order_id, idle_claims, last_touched, list_orders, load_order,
    order_counts, order_id_by_external, walk,
};
pub use outbox::{
    OutboxDepth, OutboxRow, ParkedRow, outbox_depth, parked_orders, pending_outbox,
    pending_outbox_after, sync_state,
};
pub use stock::{
    Invariants, PlatformLevel, all_levels, check_invariants, selling_view, stock_figures,
};
