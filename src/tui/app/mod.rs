//! The TUI's state and its one `update` function: messages in (keys, ticks, what the daemon
//! said), commands out (requests, the bell, quit). No I/O here, so the whole app can be driven
//! headless in tests.
//!
//! Each screen keeps its own state in [`Screen`] (screen.rs); keys (keys.rs), prompts
//! (prompt.rs) and what the daemon says (replies.rs) are handled apart.

mod keys;
mod prompt;
mod replies;
mod report;
mod screen;

pub use screen::{Ask, Packing, Picking, Prompt, ReportScreen, Screen, StockScreen};

use super::i18n::{Lang, Strings};
use super::wedge::{Detector, Wedge};
use crate::api::{
    ApiError, Event, Notice, OrderView, Request, Response, ScanOutcome, ScanReply, Status,
};
use crate::model::{OrderState, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A key, independent of the terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Up arrow.
    Up,
    /// Down arrow.
    Down,
    /// Backspace.
    Backspace,
    /// Ctrl-C.
    Interrupt,
}

/// What a request was for, so its reply can be understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Subscribe.
    Subscribe,
    /// The order list.
    Orders,
    /// Status.
    Status,
    /// Claiming this order.
    Claim(i64),
    /// Completing the pick of this order.
    Complete(i64),
    /// Any other order action.
    Action,
    /// A scan.
    Scan,
    /// A stock search.
    Lookup,
    /// A receipt, count or adjustment.
    StockOp,
    /// A decision on a customer's request.
    Decide,
    /// A parked row resolved by hand.
    Resolve,
    /// The store opened or closed at the platforms.
    StoreOpen,
    /// The day's numbers.
    Report,
    /// A document printed again.
    Reprint,
    /// A batch claimed.
    ClaimBatch,
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key.
    Key(Key, Instant),
    /// Time passes (countdowns, flashing, held keys).
    Tick(Instant, Timestamp),
    /// Connected to the daemon of this store.
    Connected(String),
    /// The connection was lost.
    Disconnected,
    /// The answer to a request, read as the kind that request gets.
    Reply(Tag, Result<Response, ApiError>),
    /// A pushed event.
    Event(Box<Event>),
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Send this request.
    Send(Tag, Request),
    /// Ring the terminal bell.
    Bell,
    /// Leave.
    Quit,
}

/// A message on the screen for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    /// `info`, `warning` or `error`.
    pub level: String,
    /// Text.
    pub text: String,
    /// Until.
    pub until: Instant,
}

/// The whole state.
#[derive(Debug)]
pub struct App {
    /// Language.
    pub lang: Lang,
    /// Who picks at this terminal.
    pub picker: String,
    /// The store, once connected.
    pub store: Option<String>,
    /// Connected now.
    pub connected: bool,
    /// Was connected before (so losing it is news).
    pub was_connected: bool,
    /// Open orders, by pick deadline.
    pub orders: Vec<OrderView>,
    /// The latest status.
    pub status: Option<Status>,
    /// The screen.
    pub screen: Screen,
    /// Selected row on the queue.
    pub queue_sel: usize,
    /// An open prompt.
    pub prompt: Option<Prompt>,
    /// Cancelled orders whose goods must go back (the alert that cannot be missed).
    pub put_back: VecDeque<i64>,
    /// Help shown.
    pub help: bool,
    /// A transient message.
    pub toast: Option<Toast>,
    /// A standing line where toasts go when there is none (the demo's scanner path).
    pub hint: Option<String>,
    /// New orders nobody has claimed yet: the queue flashes.
    pub unclaimed_new: bool,
    /// Flash phase.
    pub flash_on: bool,
    /// Notices standing (decisions, …), oldest first, until the daemon resolves them.
    pub notices: Vec<Notice>,
    /// Notices this screen snoozed, until when.
    pub snoozed: HashMap<String, Instant>,
    /// When the report screen last asked for the day's numbers.
    pub report_asked: Option<Instant>,
    /// When each notice last rang here.
    rung: HashMap<String, Instant>,
    /// The customer's request whose decision dialog is open.
    pub deciding: Option<i64>,
    /// The parked-rows list is open, with this row selected (`O`).
    pub parked: Option<usize>,
    /// Wall clock of the last tick.
    pub now: Timestamp,
    /// Monotonic clock of the last tick.
    pub instant: Instant,
    wedge: Detector,
}

impl App {
    /// A fresh app.
    pub fn new(lang: Lang, picker: &str, now: Timestamp, instant: Instant) -> App {
        App {
            lang,
            picker: picker.to_string(),
            store: None,
            connected: false,
            was_connected: false,
            orders: Vec::new(),
            status: None,
            screen: Screen::Queue,
            queue_sel: 0,
            prompt: None,
            put_back: VecDeque::new(),
            help: false,
            toast: None,
            hint: None,
            unclaimed_new: false,
            flash_on: false,
            notices: Vec::new(),
            snoozed: HashMap::new(),
            report_asked: None,
            rung: HashMap::new(),
            deciding: None,
            parked: None,
            now,
            instant,
            wedge: Detector::default(),
        }
    }

    /// This language's strings.
    pub fn s(&self) -> &'static Strings {
        self.lang.strings()
    }

    /// The order with this id, if open.
    pub fn order(&self, id: i64) -> Option<&OrderView> {
        self.orders.iter().find(|o| o.order.id.0 == id)
    }

    /// The rows the platforms refused for good (or that nobody can tell about), newest first per
    /// destination, as the last status listed them.
    pub fn parked_rows(&self) -> Vec<&crate::api::ParkedRow> {
        self.status
            .iter()
            .flat_map(|s| s.outbox.iter())
            .flat_map(|d| d.parked_rows.iter())
            .collect()
    }

    /// When `update` wants a tick even if nothing happens (held keys).
    pub fn deadline(&self) -> Option<Instant> {
        self.wedge.deadline()
    }

    /// Handles one message.
    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        let mut out = Vec::new();
        match msg {
            Msg::Tick(at, now) => {
                self.instant = at;
                self.now = now;
                self.flash_on = !self.flash_on;
                if self.toast.as_ref().is_some_and(|t| t.until <= at) {
                    self.toast = None;
                }
                self.repeat_notices(at, &mut out);
                self.refresh_report(at, &mut out);
                if let Wedge::Keys(keys) = self.wedge.expire(at) {
                    for c in keys {
                        self.key(Key::Char(c), &mut out);
                    }
                }
            }
            Msg::Connected(store) => {
                self.store = Some(store);
                self.connected = true;
                self.was_connected = true;
                out.push(Cmd::Send(
                    Tag::Subscribe,
                    Request::Subscribe { topics: vec![] },
                ));
                out.push(Cmd::Send(Tag::Orders, Request::ListOrders { all: false }));
                out.push(Cmd::Send(Tag::Status, Request::Status));
            }
            Msg::Disconnected => self.connected = false,
            Msg::Reply(tag, result) => self.reply(tag, result, &mut out),
            Msg::Event(e) => self.event(*e, &mut out),
            Msg::Key(key, at) => {
                self.instant = at;
                match key {
                    Key::Char(c) => match self.wedge.char(c, at) {
                        Wedge::Keys(keys) => {
                            for k in keys {
                                self.key(Key::Char(k), &mut out);
                            }
                        }
                        Wedge::Hold | Wedge::Scan(_) => {}
                    },
                    Key::Enter => match self.wedge.enter(at) {
                        Wedge::Scan(code) => self.scan(code, &mut out),
                        Wedge::Keys(keys) => {
                            for k in keys {
                                self.key(Key::Char(k), &mut out);
                            }
                            self.key(Key::Enter, &mut out);
                        }
                        Wedge::Hold => self.key(Key::Enter, &mut out),
                    },
                    other => {
                        if let Wedge::Keys(keys) = self.wedge.enter(at) {
                            for k in keys {
                                self.key(Key::Char(k), &mut out);
                            }
                        }
                        self.key(other, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Notices not snoozed on this screen, oldest first.
    pub fn visible_notices(&self) -> impl Iterator<Item = &Notice> {
        self.notices.iter().filter(|n| {
            self.snoozed
                .get(&n.key)
                .is_none_or(|until| *until <= self.instant)
        })
    }

    /// Whether a notice has escalated (its deadline near): red, and repeated every few seconds.
    pub fn escalated(&self, n: &Notice) -> bool {
        n.escalate_at.is_some_and(|at| self.now.0 >= at)
    }

    /// Rings again for every visible notice whose repeat time has come.
    fn repeat_notices(&mut self, at: Instant, out: &mut Vec<Cmd>) {
        let due: Vec<String> = self
            .visible_notices()
            .filter(|n| {
                let every = if self.escalated(n) {
                    n.repeat_secs.min(crate::api::ESCALATED_REPEAT_SECS)
                } else {
                    n.repeat_secs
                };
                self.rung.get(&n.key).is_none_or(|last| {
                    at.duration_since(*last) >= Duration::from_secs(u64::from(every))
                })
            })
            .map(|n| n.key.clone())
            .collect();
        if !due.is_empty() {
            out.push(Cmd::Bell);
        }
        for k in due {
            self.rung.insert(k, at);
        }
    }

    /// A notice raised or changed: shown and rung at once (unless snoozed here).
    fn notice(&mut self, n: Notice, out: &mut Vec<Cmd>) {
        self.notices.retain(|x| x.key != n.key);
        let visible = self
            .snoozed
            .get(&n.key)
            .is_none_or(|until| *until <= self.instant);
        if visible {
            // A new order rang already as it arrived; everything else rings now.
            if n.kind != crate::api::NoticeKind::NewOrder {
                out.push(Cmd::Bell);
            }
            self.rung.insert(n.key.clone(), self.instant);
        }
        self.notices.push(n);
        self.notices.sort_by_key(|n| n.since);
    }

    /// A notice resolved somewhere: gone from this screen too.
    fn notice_resolved(&mut self, key: &str) {
        if let Some(id) = self.deciding
            && crate::api::Notice::request_key(id) == key
        {
            self.deciding = None;
        }
        self.notices.retain(|n| n.key != key);
        self.snoozed.remove(key);
        self.rung.remove(key);
    }

    fn toast(&mut self, level: &str, text: String) {
        self.toast = Some(Toast {
            level: level.into(),
            text,
            until: self.instant + Duration::from_secs(6),
        });
    }

    fn upsert(&mut self, o: OrderView) {
        let keep = o.order.state.is_open() || o.order.return_pending;
        let id = o.order.id.0;
        match self.orders.iter_mut().find(|x| x.order.id.0 == id) {
            Some(x) if keep => *x = o,
            Some(_) => self.orders.retain(|x| x.order.id.0 != id),
            None if keep => self.orders.push(o),
            None => {}
        }
        self.sort();
        self.unclaimed_new = self.orders.iter().any(|o| {
            matches!(o.order.state, OrderState::New | OrderState::Accepted)
                && o.order.picker.is_none()
        });
    }

    /// Chased orders first; then by pick deadline; packed orders after them, in the order their
    /// riders reached the store (the rider at the counter first); booked orders not yet released
    /// last, in their own list.
    fn sort(&mut self) {
        self.orders.sort_by_key(|o| {
            let chased = o.order.reminded_at.is_some() && o.order.state.is_open();
            let packed = o.order.state == OrderState::Packed;
            let when = if packed {
                o.order
                    .rider
                    .as_ref()
                    .and_then(|r| r.arrived_at)
                    .unwrap_or(Timestamp(i64::MAX))
            } else {
                o.order.pick_deadline
            };
            let booked = o.scheduled_until.is_some_and(|t| t > self.now);
            (booked, !chased, packed, when, o.order.id)
        });
        self.queue_sel = self.queue_sel.min(self.orders.len().saturating_sub(1));
    }

    /// A scan's result: its order updated, the result shown on the pick screen.
    fn show_scan(&mut self, r: ScanReply, out: &mut Vec<Cmd>) {
        if r.result != ScanOutcome::Ok && r.result != ScanOutcome::Badge {
            out.push(Cmd::Bell);
        }
        if let Some(o) = r.order.clone() {
            self.upsert(o);
        }
        // In a batch the screen follows the order the scan went to, and moves on to the next
        // order of the batch when that one completed by itself.
        let next = self.batch_next(r.order.as_ref().map(|o| &o.order));
        if let Screen::Pick(p) = &mut self.screen {
            if let Some(id) = next {
                p.id = id;
            }
            p.last_scan = Some(Box::new(r));
        }
    }

    /// The order of the batch in hand the pick screen should show after a scan into `scanned`.
    fn batch_next(&self, scanned: Option<&crate::model::Order>) -> Option<i64> {
        let scanned = scanned?;
        let batch = scanned.batch.as_ref()?.batch;
        let Screen::Pick(p) = &self.screen else {
            return None;
        };
        let shown = self.order(p.id)?;
        if shown.order.batch.as_ref().map(|b| b.batch) != Some(batch) {
            return None;
        }
        if scanned.state == OrderState::Picking {
            return Some(scanned.id.0);
        }
        self.orders
            .iter()
            .find(|o| {
                o.order.state == OrderState::Picking
                    && o.order.batch.as_ref().is_some_and(|b| b.batch == batch)
            })
            .map(|o| o.order.id.0)
    }

    fn open_pick(&mut self, id: i64) {
        self.screen = Screen::pick(id);
    }

    /// Searches the stock again for what the stock screen shows (after a change).
    fn refresh_stock(&self, out: &mut Vec<Cmd>) {
        if let Screen::Stock(st) = &self.screen {
            out.push(Cmd::Send(
                Tag::Lookup,
                Request::StockLookup {
                    query: st.query.clone(),
                },
            ));
        }
    }
}
