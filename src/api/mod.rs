//! The local API: JSON lines over the daemon's Unix socket. The TUI and the CLI use nothing else.
//!
//! FROZEN wire format, version [`PROTOCOL`]: change it only by adding fields with defaults, or by
//! bumping the version. A session:
//! ```text
//! → {"hello":{"protocol":1,"client":"flashpick-tui 0.1.0","actor":"station-1"}}
//! ← {"hello":{"protocol":1,"server":"flashpick 0.1.0","store_id":"SH-0001"}}
//! → {"id":1,"req":"claim_order","order_id":12,"picker":"p1"}
//! ← {"id":1,"ok":{"order":{…}}}
//! → {"id":2,"req":"subscribe","topics":["orders","alerts"]}
//! ← {"id":2,"ok":{"subscribed":["orders","alerts"]}}
//! ← {"event":{"type":"order_changed","cause":"pick","order":{…}}}
//! ```
//! A line that is not a valid request gets `{"id":…,"error":{"code":"bad_request","message":…}}`
//! (id `null` when none could be read); the connection stays open.

pub mod client;
pub mod records;
pub mod reply;
pub mod session;
mod status;

pub use records::{CatalogRow, LineWalk, OutboxDepth, ParkedRow, SkuInfo};
pub use status::{BatchStatus, ChannelStatus, PrinterStatus, ScannerStatus, Status};
mod notice;
pub use notice::{ESCALATED_REPEAT_SECS, Notice, NoticeKind};
pub use reply::{
    DecidedReply, ImportedReply, LoadNow, OpenStatesReply, OrderReply, OrdersReply, PlatformLoad,
    PrintingReply, QueuedReply, ReplyKind, ReportReply, RequestsReply, ResolvedReply, Response,
    StagedReply, StockReply, SubscribedReply,
};

use crate::model::{Order, SlaState, Timestamp};
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL: u32 = 1;

/// Longest request line accepted, in bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// The first line of each side. Unknown fields are refused: a misspelt `actr` would silently
/// make the actor `station`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Protocol version.
    pub protocol: u32,
    /// Client software, e.g. `flashpick-tui 0.1.0` (client side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Who acts through this connection when a request names nobody (client side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The station this client stands at (client side): the documents its changes cause print
    /// on that station's printers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// Server software (server side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The store (server side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
}

/// `{"hello": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloLine {
    /// The hello.
    pub hello: Hello,
}

/// A request line: an id chosen by the client, echoed in the reply, and the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestLine {
    /// Echoed in the reply.
    pub id: u64,
    /// The request.
    #[serde(flatten)]
    pub req: Request,
}

/// Event topics a client may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Orders created or changed.
    Orders,
    /// Every scan and its result.
    Scans,
    /// Stock changes.
    Stock,
    /// Things a person must see now.
    Alerts,
    /// The daemon's status, every few seconds.
    Status,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 5] = [
        Topic::Orders,
        Topic::Scans,
        Topic::Stock,
        Topic::Alerts,
        Topic::Status,
    ];
}

/// Every request, tagged by `req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "req", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Open orders by deadline (`all`: orders of every state, by deadline, at most 500).
    ListOrders {
        /// Include finished orders.
        #[serde(default)]
        all: bool,
    },
    /// One order.
    GetOrder {
        /// Local id.
        order_id: i64,
    },
    /// Accept a new order (reserves its stock, tells the platform).
    AcceptOrder {
        /// Local id.
        order_id: i64,
    },
    /// Take an order for picking.
    ClaimOrder {
        /// Local id.
        order_id: i64,
        /// Who picks.
        picker: String,
        /// Take it over from the picker who has it (a logged transfer); without it, an order
        /// someone else is picking is refused.
        #[serde(default)]
        take_over: bool,
    },
    /// Take a batch for picking: the most urgent waiting orders that fit `[picking] batch_*`,
    /// each in a slot of the cart.
    ClaimBatch {
        /// Who picks.
        picker: String,
    },
    /// Give every order of the batch this order is in back to the queue (picked units stay).
    ReleaseBatch {
        /// Any order of the batch.
        order_id: i64,
    },
    /// Give an order back to the queue.
    ReleaseOrder {
        /// Local id.
        order_id: i64,
    },
    /// A scan while picking an order.
    RecordScan {
        /// The order being picked.
        order_id: i64,
        /// Raw code as scanned or typed.
        code: String,
        /// Scanner name, when it came from one.
        #[serde(default)]
        scanner: Option<String>,
    },
    /// Undo picked units of a line (the last scan was a mistake).
    UndoPick {
        /// Local id.
        order_id: i64,
        /// Line.
        line_no: u32,
        /// Units; 1 when left out.
        #[serde(default = "one")]
        qty: i64,
    },
    /// Mark units of a line as missing.
    MarkShort {
        /// Local id.
        order_id: i64,
        /// Line.
        line_no: u32,
        /// Missing units.
        qty: i64,
        /// `out_of_stock`, `damaged`, `expired` or `other`.
        reason: String,
    },
    /// Finish picking.
    CompletePick {
        /// Local id.
        order_id: i64,
    },
    /// Bagged.
    Pack {
        /// Local id.
        order_id: i64,
        /// Bags used.
        bags: u32,
    },
    /// Given to the rider.
    HandOver {
        /// Local id.
        order_id: i64,
        /// What the packer scanned to hand it over, when it was scanned: it must name this
        /// order (its label `<order prefix><id>`, its platform id or its day number), else the
        /// hand-over is refused (the wrong bag in hand).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// The store cancels the order (reported to the platform).
    CancelOrder {
        /// Local id.
        order_id: i64,
        /// Why.
        reason: String,
    },
    /// Staff confirm the goods of a cancelled order are back on the shelf.
    ConfirmReturn {
        /// Local id.
        order_id: i64,
    },
    /// Find items by code, barcode or name.
    StockLookup {
        /// Code, barcode, or part of a name.
        query: String,
    },
    /// Goods arrived.
    StockReceive {
        /// Sku or barcode.
        code: String,
        /// Units (or grams).
        qty: i64,
    },
    /// A shelf count.
    StockCount {
        /// Sku or barcode.
        code: String,
        /// What is on the shelf.
        counted: i64,
        /// Why, if known.
        #[serde(default)]
        reason: Option<String>,
    },
    /// A correction.
    StockAdjust {
        /// Sku or barcode.
        code: String,
        /// Change (negative removes).
        delta: i64,
        /// Why (required: it goes into the ledger).
        reason: String,
    },
    /// Adds catalog rows to this connection's staging area (send a file in chunks that each fit
    /// in one line; nothing is written until `catalog_commit`).
    CatalogStage {
        /// Rows, with their line numbers in the file.
        rows: Vec<CatalogRow>,
    },
    /// Imports everything staged on this connection in one transaction, or nothing (the error
    /// names the file line). The staging area is emptied either way.
    CatalogCommit,
    /// Send every stock level to every platform again.
    StockResync,
    /// A manager clears an item's sold-out mark (a receipt or a count clears it too).
    StockClearSoldOut {
        /// Sku or barcode.
        code: String,
    },
    /// A customer collects a packed order (自提) with their code: Meituan's is the order's day
    /// number (found by it when no order is named); JD's is checked with JD, and when JD cannot
    /// be reached a manager may hand over without the check (`unchecked`, logged).
    HandOverPickup {
        /// The order, when the screen has it open (required for JD).
        #[serde(default)]
        order_id: Option<i64>,
        /// Whose code it is: day numbers of two platforms collide.
        platform: crate::model::Platform,
        /// The code the customer shows.
        code: String,
        /// Hand over without the platform's check (a manager only; logged).
        #[serde(default)]
        unchecked: bool,
    },
    /// Customers' requests still waiting for the store or the platform.
    ListRequests,
    /// A manager's decision on a customer's request (a refund, a cancel): goes to the platform
    /// once; its effect on the order follows the platform's confirmation.
    DecideRequest {
        /// The request.
        request_id: i64,
        /// Agree (else reject).
        agree: bool,
        /// Why (required to reject: the platform shows it to the customer).
        #[serde(default)]
        reason: String,
    },
    /// Open the store at the platforms, or close it (休息): one platform or all, with a reason;
    /// a close may end by itself at `until` (ms). A manager's only; the state each platform
    /// confirms is what the screens show.
    SetStoreOpen {
        /// The platform, or every platform enabled.
        #[serde(default)]
        platform: Option<crate::model::Platform>,
        /// Open (else close).
        open: bool,
        /// A close ends by itself then (ms).
        #[serde(default)]
        until: Option<i64>,
        /// Why (required to close).
        #[serde(default)]
        reason: String,
    },
    /// The store's open / closed state at each platform: wanted, confirmed, why, until when.
    StoreOpenState,
    /// A manager settles a parked outbox row by hand, recorded with who and when: `resend`
    /// sends it again from scratch, else it is marked done (the change is at the platform).
    ResolveParked {
        /// The row (`status` lists the parked ones with their ids).
        row: i64,
        /// Send again (else: done).
        #[serde(default)]
        resend: bool,
    },
    /// The day's numbers: a business day (`YYYY-MM-DD`, China time; today when absent), and
    /// today's load against the auto-pause thresholds.
    DayReport {
        /// The day; today when absent.
        #[serde(default)]
        day: Option<String>,
    },
    /// Prints an order's document again (a label: every bag's), on the printer named or where
    /// the document goes from this connection's station; printed whatever the order's state.
    Reprint {
        /// Local id.
        order_id: i64,
        /// `slip`, `pick_list` or `label`.
        document: crate::model::document::Document,
        /// The printer, by name; where the document goes when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        printer: Option<String>,
    },
    /// Daemon health and figures.
    Status,
    /// Start receiving events on these topics (all when empty).
    Subscribe {
        /// Topics.
        #[serde(default)]
        topics: Vec<Topic>,
    },
}

fn one() -> i64 {
    1
}

/// An error reply's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Machine-readable: `bad_request`, `protocol`, `not_found`, `refused`, `unavailable`, `internal`.
    pub code: String,
    /// For the person at the screen.
    pub message: String,
}

/// A reply line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyLine {
    /// The request's id; `None` when it could not be read.
    pub id: Option<u64>,
    /// Success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<serde_json::Value>,
    /// Failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// An order as clients see it: the model's order plus its clock and where its lines are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The order.
    #[serde(flatten)]
    pub order: Order,
    /// Against the pick deadline.
    pub sla: SlaState,
    /// Seconds to the pick deadline (negative when late), when the view was made.
    pub seconds_left: i64,
    /// Shelf location of each line, by line number, for walking in shelf order.
    pub walk: Vec<LineWalk>,
    /// A booked order not yet in the live queue: when it joins it (`[sla] release_before_secs`
    /// before its pick deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_until: Option<Timestamp>,
    /// Its documents (slip, pick list, labels) printed so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub printed: u32,
    /// Its documents waiting at a printer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub print_waiting: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

pub use crate::model::ScanOutcome;

/// A line still waiting for units, as told to a picker who scanned the wrong thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// Line.
    pub line_no: u32,
    /// Item.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Units (or grams) still needed.
    pub remaining: i64,
}

/// The result of one scan: the reply to `record_scan`, and the `scan_result` event every scan
/// (serial or typed) produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReply {
    /// What happened.
    pub result: ScanOutcome,
    /// The code as scanned.
    pub code: String,
    /// What happened, in a sentence (the TUI renders its own from the fields).
    pub message: String,
    /// The scanner, for scans that came from one.
    #[serde(default)]
    pub scanner: Option<String>,
    /// The picker it counted for.
    #[serde(default)]
    pub picker: Option<String>,
    /// The line it counted for (or would have).
    pub line_no: Option<u32>,
    /// The item scanned, when known.
    pub sku: Option<String>,
    /// Its name, when known.
    pub name: Option<String>,
    /// The weight on the label, for weighed items.
    #[serde(default)]
    pub weight_g: Option<i64>,
    /// What the order still needs (after this scan).
    #[serde(default)]
    pub expected: Vec<Expected>,
    /// In a batch: the cart slot the unit goes into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The order afterwards, when there is one.
    pub order: Option<OrderView>,
}

/// Something pushed to subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An order was created or changed.
    OrderChanged {
        /// What happened (`ingest`, `accept`, `pick`, …).
        cause: String,
        /// The order afterwards (boxed: the largest event by far).
        order: Box<OrderView>,
    },
    /// What a scan did, for the screens: OK, or what was scanned and what was expected.
    ScanResult {
        /// The result.
        reply: Box<ScanReply>,
    },
    /// Stock of these items changed (empty: many changed, reload).
    StockChanged {
        /// Items.
        skus: Vec<String>,
    },
    /// Something a person must see.
    Alert {
        /// `info`, `warning` or `error`.
        level: String,
        /// What happened and what to do.
        message: String,
        /// The order concerned.
        #[serde(default)]
        order_id: Option<i64>,
    },
    /// Something that asks for a person until it is done: repeated by the screens until it is
    /// resolved (by the action it asks for) or snoozed on one screen.
    Notice {
        /// The notice (raised, or changed).
        notice: Box<Notice>,
    },
    /// A notice is done: every screen stops showing it.
    NoticeResolved {
        /// The notice's key.
        key: String,
        /// What resolved it, for the screens.
        #[serde(default)]
        by: String,
    },
    /// The daemon's status.
    Status {
        /// Figures.
        status: Box<Status>,
    },
    /// Events were missed (the client was too slow): reload everything.
    Resync {
        /// Why.
        reason: String,
    },
}

/// `{"event": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventLine {
    /// The event.
    pub event: Event,
}

impl Event {
    /// The topic this event belongs to.
    pub fn topic(&self) -> Topic {
        match self {
            Event::OrderChanged { .. } | Event::Resync { .. } => Topic::Orders,
            Event::ScanResult { .. } => Topic::Scans,
            Event::StockChanged { .. } => Topic::Stock,
            Event::Alert { .. } | Event::Notice { .. } | Event::NoticeResolved { .. } => {
                Topic::Alerts
            }
            Event::Status { .. } => Topic::Status,
        }
    }
}

/// Reply to `stock_lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupReply {
    /// Matches, exact first.
    pub items: Vec<SkuInfo>,
}
