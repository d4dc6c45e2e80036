//! The screens and the state each keeps while it is shown; prompts.

use crate::api::{ReportReply, ScanReply, SkuInfo};

/// The screen shown, with the state it keeps while it is shown (the queue's selection is the
/// App's: it is kept while another screen is open).
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Open orders.
    Queue,
    /// Picking an order.
    Pick(Picking),
    /// Packing an order.
    Pack(Packing),
    /// Stock lookup and changes.
    Stock(StockScreen),
    /// The day's numbers.
    Report(ReportScreen),
}

impl Screen {
    /// The pick screen of order `id`, at its first line.
    pub fn pick(id: i64) -> Screen {
        Screen::Pick(Picking {
            id,
            line_sel: 0,
            last_scan: None,
        })
    }

    /// The pack screen of order `id`, one bag.
    pub fn pack(id: i64) -> Screen {
        Screen::Pack(Packing { id, bags: 1 })
    }

    /// The stock screen, showing what `query` found once the answer comes.
    pub fn stock(query: String) -> Screen {
        Screen::Stock(StockScreen {
            query,
            items: Vec::new(),
            item_sel: 0,
        })
    }

    /// The day's numbers, once the answer comes.
    pub fn report() -> Screen {
        Screen::Report(ReportScreen { reply: None })
    }

    /// The order being picked, if this is a pick screen.
    pub fn picking(&self) -> Option<i64> {
        match self {
            Screen::Pick(p) => Some(p.id),
            _ => None,
        }
    }

    /// The order being packed, if this is a pack screen.
    pub fn packing(&self) -> Option<i64> {
        match self {
            Screen::Pack(p) => Some(p.id),
            _ => None,
        }
    }

    /// The last scan shown on the pick screen.
    pub fn last_scan(&self) -> Option<&ScanReply> {
        match self {
            Screen::Pick(p) => p.last_scan.as_deref(),
            _ => None,
        }
    }

    /// The order this screen is about (pick or pack).
    pub fn order_id(&self) -> Option<i64> {
        self.picking().or(self.packing())
    }
}

/// The pick screen's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Picking {
    /// The order.
    pub id: i64,
    /// The selected line (in walk order).
    pub line_sel: usize,
    /// The last scan's result, shown large.
    pub last_scan: Option<Box<ScanReply>>,
}

/// The pack screen's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    /// The order.
    pub id: i64,
    /// Bags, as counted by the packer.
    pub bags: u32,
}

/// The stock screen's state.
#[derive(Debug, Clone, PartialEq)]
pub struct StockScreen {
    /// The last search.
    pub query: String,
    /// What it found.
    pub items: Vec<SkuInfo>,
    /// The selected item.
    pub item_sel: usize,
}

/// The report screen's state.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportScreen {
    /// The daemon's last answer.
    pub reply: Option<Box<ReportReply>>,
}

/// What a prompt's answer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Units short on a line.
    ShortQty {
        /// Order.
        order: i64,
        /// Line.
        line: u32,
    },
    /// The reason for a short (1–4).
    ShortReason {
        /// Order.
        order: i64,
        /// Line.
        line: u32,
        /// Units.
        qty: i64,
    },
    /// Stock search text.
    Search,
    /// Units received.
    Receive(String),
    /// Units counted.
    Count(String),
    /// Change for an adjustment.
    AdjustQty(String),
    /// Reason of an adjustment.
    AdjustReason(String, i64),
    /// The reason to reject a customer's request (by its id).
    RejectReason(i64),
    /// Why the store closes at every platform (a manager's).
    CloseReason,
    /// The code of a customer collecting an order: for an open order (its platform known), or
    /// typed at the queue with its platform (`美团 23`, `m23`).
    PickupCode {
        /// The order, when one is open.
        order: Option<i64>,
        /// Its platform, when known.
        platform: Option<crate::model::Platform>,
    },
}

/// An open prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What it is for.
    pub ask: Ask,
    /// Typed so far.
    pub text: String,
}
