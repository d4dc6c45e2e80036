//! The domain core: plain data and pure functions, no I/O and no async.
//!
//! Every rule about orders and stock lives here once; the store applies what these functions decide.

pub mod barcode;
pub mod batch;
pub mod capacity;
pub mod china_time;
pub mod clock;
pub mod delivery;
pub mod document;
pub mod ids;
pub mod item;
pub mod lang;
pub mod money;
pub mod order;
pub mod report;
pub mod request;
pub mod rider;
pub mod scan;
pub mod sla;
pub mod stock;
pub mod text;
pub mod transition;

pub use clock::Clock;
pub use delivery::Delivery;
pub use ids::{EventId, OrderId, Platform, SkuCode, Timestamp};
pub use lang::Lang;
pub use money::Fen;
pub use order::{
    CancelSource, Order, OrderEvent, OrderLine, OrderState, RefundLine, Report, ScanMatch,
    ShortReason, Transition, TransitionError, UnknownItem, match_scan,
};
pub use scan::{ScanOutcome, ScanPlan, ScannedItem, plan_scan};
pub use sla::{SlaPolicy, SlaState};
pub use stock::{MAX_QTY, MoveKind, StockEffect, StockError, StockFigures, Unit};
pub use transition::transition;
