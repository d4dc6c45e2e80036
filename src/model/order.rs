//! The order state machine as one pure function: `(order, event, stock) → (order', effects)` or a
//! typed refusal. The store applies the effects in one transaction; nothing here touches I/O.
//!
//! ```text
//! new → accepted → picking → picked → packed → handed_over
//!  └──────┴──────────┴─────────┴────────┴──→ cancelled   (any state before handed_over)
//! ```
//! A short pick is a state of a line, not of the order: it releases the line's reservation at once
//! and makes `CompletePick` report an adjustment (partial refund) before the pick-complete report.

use super::ids::{OrderId, Platform, SkuCode, Timestamp};
use super::money::Fen;
use super::stock::StockEffect;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where an order is in its life. The snake_case names are stored and sent (frozen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Received, not yet accepted: nothing reserved.
    New,
    /// Accepted: every line reserved, waiting for a picker.
    Accepted,
    /// A picker has claimed it and is walking the shelves.
    Picking,
    /// Every line picked or short.
    Picked,
    /// Bagged at the station.
    Packed,
    /// Given to the rider. Final.
    HandedOver,
    /// Cancelled. Final, though picked units may still have to go back to the shelf.
    Cancelled,
}

impl OrderState {
    /// Every state, in lifecycle order.
    pub const ALL: [OrderState; 7] = [
        OrderState::New,
        OrderState::Accepted,
        OrderState::Picking,
        OrderState::Picked,
        OrderState::Packed,
        OrderState::HandedOver,
        OrderState::Cancelled,
    ];

    /// The stable name (database and wire).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::New => "new",
            OrderState::Accepted => "accepted",
            OrderState::Picking => "picking",
            OrderState::Picked => "picked",
            OrderState::Packed => "packed",
            OrderState::HandedOver => "handed_over",
            OrderState::Cancelled => "cancelled",
        }
    }

    /// Whether the order still holds reservations for its unpicked units.
    pub fn holds_reservation(self) -> bool {
        matches!(self, OrderState::Accepted | OrderState::Picking)
    }

    /// Whether the order still needs work from the store (shown in the queue).
    pub fn is_open(self) -> bool {
        !matches!(self, OrderState::HandedOver | OrderState::Cancelled)
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown order state `{s}`"))
    }
}

/// Why units of a line could not be picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortReason {
    /// Not on the shelf (缺货).
    OutOfStock,
    /// On the shelf but damaged (破损).
    Damaged,
    /// Past its date (过期).
    Expired,
    /// Anything else; the note is in the ledger reason.
    Other,
}

impl ShortReason {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ShortReason::OutOfStock => "out_of_stock",
            ShortReason::Damaged => "damaged",
            ShortReason::Expired => "expired",
            ShortReason::Other => "other",
        }
    }
}

impl FromStr for ShortReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ShortReason::OutOfStock,
            ShortReason::Damaged,
            ShortReason::Expired,
            ShortReason::Other,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| format!("unknown short reason `{s}`"))
    }
}

/// Who cancelled an order. Only a store-side cancel is reported back to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelSource {
    /// The platform (customer, rider or platform service cancelled).
    Platform,
    /// The store cancelled (must be reported).
    Store,
}

/// One line of an order, in the sku's unit (pieces or grams).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// 1-based position in the platform's order.
    pub line_no: u32,
    /// The store item.
    pub sku: SkuCode,
    /// Name as sold (for the pick list when the catalog has none).
    pub name: String,
    /// Ordered quantity.
    pub qty: i64,
    /// Picked so far.
    pub picked: i64,
    /// Reported missing.
    pub short: i64,
    /// Why the short units are missing.
    pub short_reason: Option<ShortReason>,
    /// Price of one unit.
    pub unit_price: Fen,
    /// For weighed lines: the grams the scale labels actually said (the ledger moves these).
    #[serde(default)]
    pub weighed_g: Option<i64>,
    /// Units picked that a refund took off the order: out of the tote and back on the shelf
    /// (`confirm_return` books them back).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub put_back: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Units of one line a customer's refund takes off the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    /// Line.
    pub line: u32,
    /// Units (or grams) refunded.
    pub qty: i64,
}

impl OrderLine {
    /// Units neither picked nor short: what the order still holds reserved.
    pub fn remaining(&self) -> i64 {
        self.qty - self.picked - self.short
    }
}

/// An order as the store sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Local id.
    pub id: OrderId,
    /// Source platform.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// The platform's day sequence number (#23), what the rider says.
    pub day_seq: u32,
    /// Lifecycle state.
    pub state: OrderState,
    /// Who claimed it for picking.
    pub picker: Option<String>,
    /// The lines.
    pub lines: Vec<OrderLine>,
    /// Cancelled after units were picked: they must go back to the shelf.
    pub return_pending: bool,
    /// Bags packed.
    pub bags: Option<u32>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// When the customer paid.
    pub placed_at: Timestamp,
    /// When picking must be done (see `sla`).
    pub pick_deadline: Timestamp,
    /// Code the rider shows, when the platform gives one.
    pub pickup_code: Option<String>,
    /// Who delivers it, when the platform said (JD `deliveryCarrierNo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::model::Delivery>,
    /// The customer's remark (what to do when an item is out of stock, …).
    #[serde(default)]
    pub remark: Option<String>,
    /// Items the platform sold that matched nothing in the catalog: shown with the order so that
    /// staff mark them short or cancel, never silently dropped.
    #[serde(default)]
    pub unknown_items: Vec<UnknownItem>,
    /// The rider, as the platform last reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rider: Option<Box<crate::model::rider::Rider>>,
    /// The customer chased the order (催单) and nobody has opened it since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<Timestamp>,
    /// Picked in a batch: the batch and the cart's slot it goes into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Box<crate::model::batch::BatchSlot>>,
}

/// An item of an incoming order that matched nothing in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownItem {
    /// Name as sold.
    pub name: String,
    /// The merchant code and barcode the platform sent.
    pub codes: Vec<String>,
    /// Quantity ordered.
    pub qty: i64,
}

impl Order {
    /// Total units (or grams) ordered.
    pub fn total_qty(&self) -> i64 {
        self.lines.iter().map(|l| l.qty).sum()
    }
    /// Units still reserved by this order (zero unless the state holds reservations).
    pub fn reserved_qty(&self) -> i64 {
        if self.state.holds_reservation() {
            self.lines.iter().map(OrderLine::remaining).sum()
        } else {
            0
        }
    }
}

/// Something that happens to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderEvent {
    /// The store accepts the order: every line is reserved.
    Accept,
    /// A picker takes the order.
    Claim {
        /// Picker id.
        picker: String,
    },
    /// The picker gives the order back to the queue; picked units stay picked.
    Release,
    /// Units of a line were scanned into the tote.
    Pick {
        /// Line.
        line: u32,
        /// Units (or grams).
        qty: i64,
    },
    /// A scale label for a weighed line (counted in grams): the label's weight is checked against
    /// what the line still needs, within `tolerance_pct`.
    PickWeighed {
        /// Line.
        line: u32,
        /// Grams on the label.
        grams: i64,
        /// Allowed deviation in percent.
        tolerance_pct: u32,
    },
    /// A pick was a mistake; the units go back.
    UndoPick {
        /// Line.
        line: u32,
        /// Units (or grams).
        qty: i64,
    },
    /// Units of a line cannot be picked.
    Short {
        /// Line.
        line: u32,
        /// Missing units (at most what remains).
        qty: i64,
        /// Why.
        reason: ShortReason,
    },
    /// Every line is picked or short.
    CompletePick,
    /// Bagged.
    Pack {
        /// Number of bags.
        bags: u32,
    },
    /// Given to the rider.
    HandOver,
    /// Cancelled.
    Cancel {
        /// Who cancelled.
        by: CancelSource,
        /// Why, in words.
        reason: String,
    },
    /// Staff confirm the picked units of a cancelled order are back on the shelf.
    ConfirmReturn,
    /// The platform granted a customer's partial refund: those units leave the order (reserved
    /// ones are released, picked ones go back to the shelf). After hand-over it is only recorded.
    Refund {
        /// The platform's refund id.
        refund_id: String,
        /// What leaves, per line.
        lines: Vec<RefundLine>,
    },
}

impl OrderEvent {
    /// Whether [`transition`] reads stock figures for this event (accepting checks what is
    /// available; a short writes off what the shelf was believed to hold). The store reads them
    /// only then: a scan is the hottest write there is.
    pub fn reads_stock(&self) -> bool {
        matches!(self, OrderEvent::Accept | OrderEvent::Short { .. })
    }

    /// Whether the event is the claiming picker's work: done by someone else only through a
    /// takeover.
    pub fn is_pickers_work(&self) -> bool {
        matches!(
            self,
            OrderEvent::Release
                | OrderEvent::Pick { .. }
                | OrderEvent::PickWeighed { .. }
                | OrderEvent::UndoPick { .. }
                | OrderEvent::Short { .. }
                | OrderEvent::CompletePick
        )
    }

    /// A short name for messages and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            OrderEvent::Accept => "accept",
            OrderEvent::Claim { .. } => "claim",
            OrderEvent::Release => "release",
            OrderEvent::Pick { .. } | OrderEvent::PickWeighed { .. } => "pick",
            OrderEvent::UndoPick { .. } => "undo_pick",
            OrderEvent::Short { .. } => "short",
            OrderEvent::CompletePick => "complete_pick",
            OrderEvent::Pack { .. } => "pack",
            OrderEvent::HandOver => "hand_over",
            OrderEvent::Cancel { .. } => "cancel",
            OrderEvent::ConfirmReturn => "confirm_return",
            OrderEvent::Refund { .. } => "refund",
        }
    }
}

/// One short line in an adjustment report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustLine {
    /// Line number.
    pub line_no: u32,
    /// Item.
    pub sku: SkuCode,
    /// Units missing.
    pub short: i64,
    /// Refund for them.
    pub refund: Fen,
}

/// What the platform must be told. Delivered through the outbox, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Report {
    /// The store accepted the order (Meituan `order/confirm`, JD accept).
    Confirm,
    /// Some units are missing (Meituan `applyPartRefund`, JD `adjustOrder`). Sent before `PickComplete`.
    Adjust {
        /// The short lines.
        lines: Vec<AdjustLine>,
    },
    /// Picking finished (Meituan `preparationMealComplete`, JD pick complete).
    PickComplete,
    /// The store cancelled the order.
    Cancel {
        /// Why.
        reason: String,
    },
}

impl Report {
    /// Its `action` as written in outbox rows: `confirm`, `adjust`, `pick_complete`, `cancel`.
    pub fn action(&self) -> &'static str {
        match self {
            Report::Confirm => "confirm",
            Report::Adjust { .. } => "adjust",
            Report::PickComplete => "pick_complete",
            Report::Cancel { .. } => "cancel",
        }
    }
}

/// The outcome of an allowed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The order afterwards.
    pub order: Order,
    /// Changes to stock figures, applied in the same transaction.
    pub stock: Vec<StockEffect>,
    /// Reports for the order's platform, written to the outbox in the same transaction.
    pub reports: Vec<Report>,
}

/// Why an event was refused. Nothing changes when an event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The event makes no sense in this state.
    #[error("cannot {event} an order that is {state}")]
    NotAllowed {
        /// Current state.
        state: OrderState,
        /// The refused event.
        event: &'static str,
    },
    /// Someone else is picking it.
    #[error("order is already being picked by {by}")]
    AlreadyClaimed {
        /// The picker who has it.
        by: String,
    },
    /// Someone else has claimed the order: acting on it needs a takeover (or a manager).
    #[error(
        "this order is being picked by {by}, not {actor}: take it over (a logged transfer) or ask {by} to release it"
    )]
    NotYours {
        /// The picker who has it.
        by: String,
        /// Who tried.
        actor: String,
    },
    /// The line does not exist.
    #[error("order has no line {0}")]
    NoSuchLine(u32),
    /// Quantities in events must be positive.
    #[error("quantity must be positive, got {0}")]
    NonPositive(i64),
    /// More units than the line still needs.
    #[error("line {line} needs only {remaining} more, not {qty}")]
    OverPick {
        /// Line.
        line: u32,
        /// Requested.
        qty: i64,
        /// Still needed.
        remaining: i64,
    },
    /// Undoing more than was picked.
    #[error("line {line} has only {picked} picked; cannot undo {qty}")]
    UndoTooMuch {
        /// Line.
        line: u32,
        /// Requested.
        qty: i64,
        /// Picked so far.
        picked: i64,
    },
    /// Lines are neither picked nor short yet.
    #[error("lines {0:?} are not picked yet: pick them or mark them short")]
    LinesOpen(Vec<u32>),
    /// Every line is short: there is nothing to hand over.
    #[error("nothing was picked: cancel the order instead")]
    NothingPicked,
    /// The shelf cannot cover the order for this platform.
    #[error(
        "not enough {sku} for this platform: order needs {wanted}, {available} available; count the shelf or cancel the order"
    )]
    InsufficientStock {
        /// Item.
        sku: SkuCode,
        /// Needed by this order.
        wanted: i64,
        /// `available(platform)` before the order.
        available: i64,
    },
    /// A weighed label far heavier than what the line still needs.
    #[error(
        "line {line} needs {remaining} g more; a {grams} g label is too heavy (more than {tolerance_pct}% over): weigh a smaller piece"
    )]
    OverWeight {
        /// Line.
        line: u32,
        /// Grams on the label.
        grams: i64,
        /// Grams still needed.
        remaining: i64,
        /// Allowed deviation.
        tolerance_pct: u32,
    },
    /// A line is picked either by counting pieces or by weighing labels, not both.
    #[error("line {0} mixes counted and weighed picks: undo them and pick it one way")]
    MixedPick(u32),
    /// A quantity beyond the sane maximum.
    #[error("quantity {0} is too large (at most 1000000000); check the number")]
    TooLarge(i64),
    /// A packed order has at least one bag.
    #[error("an order is packed in at least one bag")]
    NoBags,
    /// More bags than any order needs: a slip of the keyboard.
    #[error("{0} bags for one order? at most {MAX_BAGS}; check the number")]
    TooManyBags(u32),
    /// A store cancel is reported to the platform and the customer: it needs a reason.
    #[error(
        "a store cancel needs a reason of 1 to 200 bytes (the platform and the customer see it)"
    )]
    NoReason,
}

/// The most bags one order may be packed in.
pub const MAX_BAGS: u32 = 99;
/// The longest cancel reason, in bytes (the platforms take a short text).
pub const MAX_REASON_BYTES: usize = 200;

/// Where a scanned item fits in an order being picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanMatch {
    /// Counts for this line.
    Line(u32),
    /// The order has the item, but every line of it is complete.
    Over(u32),
    /// The order does not contain the item.
    WrongItem,
}

/// Matches a scanned sku against the order's lines: the first line of that sku that still needs
/// units, else the line it would have been (over-pick), else a wrong item.
pub fn match_scan(order: &Order, sku: &SkuCode) -> ScanMatch {
    let mut full = None;
    for l in order.lines.iter().filter(|l| &l.sku == sku) {
        if l.remaining() > 0 {
            return ScanMatch::Line(l.line_no);
        }
        full.get_or_insert(l.line_no);
    }
    full.map_or(ScanMatch::WrongItem, ScanMatch::Over)
}
