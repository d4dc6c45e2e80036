//! The reply to each request, typed: what the daemon puts in a reply's `ok`, and how a client
//! reads it back. A client reads a reply as the kind its request gets ([`Request::reply_kind`]);
//! a reply that is not that kind is a protocol error, never an empty default. Frozen at protocol
//! 1 like the requests: fields are only ever added, with defaults, so replies are read without
//! refusing fields a newer daemon adds.

use super::{LookupReply, OrderView, Request, ScanReply, Status, Topic};
use crate::model::SkuCode;
use crate::model::request::CustomerRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Reply to `list_orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersReply {
    /// The orders, most urgent first.
    pub orders: Vec<OrderView>,
}

/// Reply to a request about one order (`get_order` and every order action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReply {
    /// The order afterwards.
    pub order: OrderView,
}

/// Reply to `stock_receive`, `stock_count` and `stock_adjust`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReply {
    /// The item the code named.
    pub sku: SkuCode,
    /// On the shelf now.
    pub on_hand: i64,
    /// Held for open orders.
    pub reserved: i64,
}

/// Reply to `catalog_stage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedReply {
    /// Rows staged on this connection so far.
    pub staged: usize,
}

/// Reply to `catalog_commit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedReply {
    /// Rows imported.
    pub imported: usize,
}

/// Reply to `stock_resync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedReply {
    /// Every level is queued for every platform.
    pub queued: bool,
}

/// Reply to `reprint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintingReply {
    /// Jobs queued (a label per bag).
    pub jobs: usize,
    /// On these printers.
    pub printers: Vec<String>,
    /// The order's day number (#23), to check it is the one meant.
    pub day_seq: u32,
}

/// Reply to `list_requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestsReply {
    /// Live requests, oldest first.
    pub requests: Vec<CustomerRequest>,
}

/// Reply to `set_store_open` and `store_open_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenStatesReply {
    /// Each platform's state.
    pub platforms: Vec<crate::model::capacity::OpenState>,
}

/// Reply to `day_report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportReply {
    /// The day's numbers.
    pub report: crate::model::report::DayReport,
    /// For today: the load now against the auto-pause thresholds.
    #[serde(default)]
    pub load: Option<LoadNow>,
}

/// The open orders now against the store-wide auto-pause thresholds (0: off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadNow {
    /// Open orders (not yet packed, booked ones left out).
    pub open: u32,
    /// Of those, amber or red.
    pub at_risk: u32,
    /// Auto-pause is on.
    pub auto_pause: bool,
    /// Pause at this many open orders.
    pub max_open_orders: u32,
    /// Pause at this many amber or red.
    pub max_at_risk: u32,
    /// Open again under this many.
    pub resume_below: u32,
    /// Platforms with thresholds of their own: their orders against them.
    #[serde(default)]
    pub platforms: Vec<PlatformLoad>,
}

/// One platform's open orders against its own auto-pause thresholds (0: off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformLoad {
    /// The platform.
    pub platform: crate::model::Platform,
    /// Its open orders.
    pub open: u32,
    /// Of those, amber or red.
    pub at_risk: u32,
    /// Pause it at this many open orders.
    pub max_open_orders: u32,
    /// Pause it at this many amber or red.
    pub max_at_risk: u32,
    /// Open it again under this many.
    pub resume_below: u32,
}

/// Reply to `resolve_parked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedReply {
    /// The row.
    pub row: i64,
    /// Its state now: `done`, or `pending` (sent again).
    pub state: String,
}

/// Reply to `decide_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedReply {
    /// The request afterwards (`agreeing` / `rejecting` until the platform confirms).
    pub request: CustomerRequest,
}

/// Reply to `subscribe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribedReply {
    /// The topics this connection now receives.
    pub subscribed: Vec<Topic>,
}

/// Which reply a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// [`OrdersReply`].
    Orders,
    /// [`OrderReply`].
    Order,
    /// [`ScanReply`].
    Scan,
    /// [`LookupReply`].
    Lookup,
    /// [`StockReply`].
    Stock,
    /// [`StagedReply`].
    Staged,
    /// [`ImportedReply`].
    Imported,
    /// [`QueuedReply`].
    Queued,
    /// [`Status`].
    Status,
    /// [`SubscribedReply`].
    Subscribed,
    /// [`RequestsReply`].
    Requests,
    /// [`DecidedReply`].
    Decided,
    /// [`ResolvedReply`].
    Resolved,
    /// [`OpenStatesReply`].
    OpenStates,
    /// [`ReportReply`].
    Report,
    /// [`PrintingReply`].
    Printing,
}

/// A reply, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// To `list_orders`.
    Orders(OrdersReply),
    /// To a request about one order.
    Order(Box<OrderReply>),
    /// To `record_scan`.
    Scan(Box<ScanReply>),
    /// To `stock_lookup`.
    Lookup(LookupReply),
    /// To a stock operation.
    Stock(StockReply),
    /// To `catalog_stage`.
    Staged(StagedReply),
    /// To `catalog_commit`.
    Imported(ImportedReply),
    /// To `stock_resync`.
    Queued(QueuedReply),
    /// To `status`.
    Status(Box<Status>),
    /// To `subscribe`.
    Subscribed(SubscribedReply),
    /// To `list_requests`.
    Requests(RequestsReply),
    /// To `decide_request`.
    Decided(DecidedReply),
    /// To `resolve_parked`.
    Resolved(ResolvedReply),
    /// To `set_store_open` and `store_open_state`.
    OpenStates(OpenStatesReply),
    /// To `day_report`.
    Report(Box<ReportReply>),
    /// To `reprint`.
    Printing(PrintingReply),
}

impl Request {
    /// The kind of reply this request gets.
    pub fn reply_kind(&self) -> ReplyKind {
        use Request as R;
        match self {
            R::ListOrders { .. } | R::ClaimBatch { .. } | R::ReleaseBatch { .. } => {
                ReplyKind::Orders
            }
            R::GetOrder { .. }
            | R::AcceptOrder { .. }
            | R::ClaimOrder { .. }
            | R::ReleaseOrder { .. }
            | R::UndoPick { .. }
            | R::MarkShort { .. }
            | R::CompletePick { .. }
            | R::Pack { .. }
            | R::HandOver { .. }
            | R::CancelOrder { .. }
            | R::ConfirmReturn { .. }
            | R::HandOverPickup { .. } => ReplyKind::Order,
            R::RecordScan { .. } => ReplyKind::Scan,
            R::StockLookup { .. } => ReplyKind::Lookup,
            R::StockReceive { .. }
            | R::StockCount { .. }
            | R::StockAdjust { .. }
            | R::StockClearSoldOut { .. } => ReplyKind::Stock,
            R::CatalogStage { .. } => ReplyKind::Staged,
            R::CatalogCommit => ReplyKind::Imported,
            R::StockResync => ReplyKind::Queued,
            R::Status => ReplyKind::Status,
            R::Subscribe { .. } => ReplyKind::Subscribed,
            R::ListRequests => ReplyKind::Requests,
            R::DecideRequest { .. } => ReplyKind::Decided,
            R::ResolveParked { .. } => ReplyKind::Resolved,
            R::SetStoreOpen { .. } | R::StoreOpenState => ReplyKind::OpenStates,
            R::DayReport { .. } => ReplyKind::Report,
            R::Reprint { .. } => ReplyKind::Printing,
        }
    }
}

impl Response {
    /// Its kind.
    pub fn kind(&self) -> ReplyKind {
        match self {
            Response::Orders(_) => ReplyKind::Orders,
            Response::Order(_) => ReplyKind::Order,
            Response::Scan(_) => ReplyKind::Scan,
            Response::Lookup(_) => ReplyKind::Lookup,
            Response::Stock(_) => ReplyKind::Stock,
            Response::Staged(_) => ReplyKind::Staged,
            Response::Imported(_) => ReplyKind::Imported,
            Response::Queued(_) => ReplyKind::Queued,
            Response::Status(_) => ReplyKind::Status,
            Response::Subscribed(_) => ReplyKind::Subscribed,
            Response::Requests(_) => ReplyKind::Requests,
            Response::Decided(_) => ReplyKind::Decided,
            Response::Resolved(_) => ReplyKind::Resolved,
            Response::OpenStates(_) => ReplyKind::OpenStates,
            Response::Report(_) => ReplyKind::Report,
            Response::Printing(_) => ReplyKind::Printing,
        }
    }

    /// Reads a reply's `ok` as the kind its request gets. A reply of another shape is an error
    /// naming what was wrong: a protocol mismatch must show, not become an empty screen.
    pub fn read(kind: ReplyKind, ok: Value) -> Result<Response, String> {
        fn as_<T: serde::de::DeserializeOwned>(ok: Value) -> Result<T, String> {
            serde_json::from_value(ok).map_err(|e| e.to_string())
        }
        let r = match kind {
            ReplyKind::Orders => Response::Orders(as_(ok)?),
            ReplyKind::Order => Response::Order(Box::new(as_(ok)?)),
            ReplyKind::Scan => Response::Scan(Box::new(as_(ok)?)),
            ReplyKind::Lookup => Response::Lookup(as_(ok)?),
            ReplyKind::Stock => Response::Stock(as_(ok)?),
            ReplyKind::Staged => Response::Staged(as_(ok)?),
            ReplyKind::Imported => Response::Imported(as_(ok)?),
            ReplyKind::Queued => Response::Queued(as_(ok)?),
            ReplyKind::Status => Response::Status(Box::new(as_(ok)?)),
            ReplyKind::Subscribed => Response::Subscribed(as_(ok)?),
            ReplyKind::Requests => Response::Requests(as_(ok)?),
            ReplyKind::Decided => Response::Decided(as_(ok)?),
            ReplyKind::Resolved => Response::Resolved(as_(ok)?),
            ReplyKind::OpenStates => Response::OpenStates(as_(ok)?),
            ReplyKind::Report => Response::Report(Box::new(as_(ok)?)),
            ReplyKind::Printing => Response::Printing(as_(ok)?),
        };
        Ok(r)
    }

    /// The reply's `ok`, as it goes on the wire.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("replies serialise")
    }
}
