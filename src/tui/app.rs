//! The TUI's state and its one `update` function: messages in (keys, ticks, what the daemon
//! said), commands out (requests, the bell, quit). No I/O here, so the whole app can be driven
//! headless in tests.

use super::i18n::{Lang, Strings};
use super::wedge::{Detector, Wedge};
use crate::api::SkuInfo;
use crate::api::{ApiError, Event, OrderView, Request, Response, ScanOutcome, ScanReply, Status};
use crate::model::{OrderState, Timestamp};
use std::collections::VecDeque;
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

/// The screen shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Open orders.
    Queue,
    /// Picking this order.
    Pick(i64),
    /// Packing this order.
    Pack(i64),
    /// Stock lookup and changes.
    Stock,
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
}

/// An open prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What it is for.
    pub ask: Ask,
    /// Typed so far.
    pub text: String,
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
    /// Selected line on the pick screen.
    pub line_sel: usize,
    /// Bags on the pack screen.
    pub bags: u32,
    /// The last scan's result on the pick screen.
    pub last_scan: Option<ScanReply>,
    /// Stock search results.
    pub items: Vec<SkuInfo>,
    /// Selected stock item.
    pub item_sel: usize,
    /// The last search.
    pub query: String,
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
            line_sel: 0,
            bags: 1,
            last_scan: None,
            items: Vec::new(),
            item_sel: 0,
            query: String::new(),
            prompt: None,
            put_back: VecDeque::new(),
            help: false,
            toast: None,
            hint: None,
            unclaimed_new: false,
            flash_on: false,
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

    fn toast(&mut self, level: &str, text: String) {
        self.toast = Some(Toast {
            level: level.into(),
            text,
            until: self.instant + Duration::from_secs(6),
        });
    }

    fn reply(&mut self, tag: Tag, result: Result<Response, ApiError>, out: &mut Vec<Cmd>) {
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                self.toast("error", e.message);
                out.push(Cmd::Bell);
                return;
            }
        };
        match (tag, r) {
            (Tag::Orders, Response::Orders(list)) => {
                self.orders = list.orders;
                self.sort();
                self.put_back = self
                    .orders
                    .iter()
                    .filter(|o| o.order.state == OrderState::Cancelled && o.order.return_pending)
                    .map(|o| o.order.id.0)
                    .collect();
            }
            (Tag::Status, Response::Status(s)) => self.status = Some(*s),
            (Tag::Claim(id), Response::Order(o)) => {
                self.upsert(o.order);
                self.open_pick(id);
            }
            (Tag::Complete(id), Response::Order(o)) => {
                self.upsert(o.order);
                self.screen = Screen::Pack(id);
                self.bags = 1;
            }
            (Tag::Scan, Response::Scan(r)) => self.show_scan(*r, out),
            (Tag::Lookup, Response::Lookup(l)) => {
                self.items = l.items;
                self.item_sel = 0;
            }
            (Tag::StockOp, Response::Stock(s)) => {
                self.toast(
                    "info",
                    format!("{}: {} {}", s.sku.0, s.on_hand, self.s().pieces),
                );
                out.push(Cmd::Send(
                    Tag::Lookup,
                    Request::StockLookup {
                        query: self.query.clone(),
                    },
                ));
            }
            (Tag::Action, Response::Order(o)) => {
                self.upsert(o.order);
                if let Screen::Pack(id) = self.screen
                    && self.order(id).is_none()
                {
                    self.screen = Screen::Queue;
                }
            }
            (Tag::Subscribe, Response::Subscribed(_)) => {}
            // A reply that does not answer what was asked: the daemon and this screen do not
            // speak the same protocol. Said, not shown as an empty screen.
            (tag, r) => {
                self.toast(
                    "error",
                    format!(
                        "protocol: a {:?} reply to {tag:?}; update flashpick on this PC",
                        r.kind()
                    ),
                );
                out.push(Cmd::Bell);
            }
        }
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

    fn sort(&mut self) {
        self.orders
            .sort_by_key(|o| (o.order.pick_deadline, o.order.id));
        self.queue_sel = self.queue_sel.min(self.orders.len().saturating_sub(1));
    }

    fn event(&mut self, e: Event, out: &mut Vec<Cmd>) {
        match e {
            Event::OrderChanged { cause, order } => {
                let id = order.order.id.0;
                if cause == "ingest" {
                    out.push(Cmd::Bell);
                    self.unclaimed_new = true;
                }
                if cause == "cancel" && order.order.return_pending && !self.put_back.contains(&id) {
                    self.put_back.push_back(id);
                    out.push(Cmd::Bell);
                }
                if !order.order.return_pending {
                    self.put_back.retain(|x| *x != id);
                }
                self.upsert(*order);
                let gone = match self.screen {
                    Screen::Pick(x) | Screen::Pack(x) => {
                        x == id
                            && self
                                .order(id)
                                .is_none_or(|o| o.order.state == OrderState::Cancelled)
                    }
                    _ => false,
                };
                if gone {
                    self.screen = Screen::Queue;
                }
            }
            Event::ScanResult { reply } => {
                let mine = match (&self.screen, &reply.order) {
                    (Screen::Pick(id), Some(o)) => o.order.id.0 == *id,
                    _ => false,
                };
                if mine || reply.picker.as_deref() == Some(self.picker.as_str()) {
                    self.show_scan(*reply, out);
                }
            }
            Event::Alert { level, message, .. } => {
                if level != "info" {
                    out.push(Cmd::Bell);
                }
                self.toast(&level, message);
            }
            Event::Status { status } => self.status = Some(*status),
            Event::StockChanged { .. } => {
                if self.screen == Screen::Stock && !self.query.is_empty() {
                    out.push(Cmd::Send(
                        Tag::Lookup,
                        Request::StockLookup {
                            query: self.query.clone(),
                        },
                    ));
                }
            }
            Event::Resync { .. } => {
                out.push(Cmd::Send(Tag::Orders, Request::ListOrders { all: false }))
            }
        }
    }

    fn show_scan(&mut self, r: ScanReply, out: &mut Vec<Cmd>) {
        if r.result != ScanOutcome::Ok && r.result != ScanOutcome::Badge {
            out.push(Cmd::Bell);
        }
        if let Some(o) = r.order.clone() {
            self.upsert(o);
        }
        self.last_scan = Some(r);
    }

    fn open_pick(&mut self, id: i64) {
        self.screen = Screen::Pick(id);
        self.line_sel = 0;
        self.last_scan = None;
    }

    /// A scan from a keyboard-wedge scanner, routed by screen.
    fn scan(&mut self, code: String, out: &mut Vec<Cmd>) {
        match self.screen.clone() {
            Screen::Pick(id) => out.push(Cmd::Send(
                Tag::Scan,
                Request::RecordScan {
                    order_id: id,
                    code,
                    scanner: Some("keyboard".into()),
                },
            )),
            Screen::Pack(id) => {
                // The rider's pickup code, day number or the order id: hand over.
                let matches = self.order(id).is_some_and(|o| {
                    o.order.pickup_code.as_deref() == Some(code.as_str())
                        || o.order.external_id == code
                        || code.trim_start_matches('#') == o.order.day_seq.to_string()
                });
                if matches {
                    out.push(Cmd::Send(Tag::Action, Request::HandOver { order_id: id }));
                } else {
                    self.toast("error", format!("✘ {code}"));
                    out.push(Cmd::Bell);
                }
            }
            Screen::Stock | Screen::Queue => {
                self.screen = Screen::Stock;
                self.query = code.clone();
                out.push(Cmd::Send(Tag::Lookup, Request::StockLookup { query: code }));
            }
        }
    }

    fn key(&mut self, key: Key, out: &mut Vec<Cmd>) {
        if key == Key::Interrupt {
            out.push(Cmd::Quit);
            return;
        }
        if self.prompt.is_some() {
            self.prompt_key(key, out);
            return;
        }
        if self.help {
            self.help = false;
            return;
        }
        if let Some(&id) = self.put_back.front() {
            match key {
                Key::Enter => out.push(Cmd::Send(
                    Tag::Action,
                    Request::ConfirmReturn { order_id: id },
                )),
                Key::Esc => {
                    self.put_back.pop_front();
                }
                _ => {}
            }
            return;
        }
        match key {
            Key::Char('?') => self.help = true,
            Key::Char('q') if self.screen == Screen::Queue => out.push(Cmd::Quit),
            _ => match self.screen.clone() {
                Screen::Queue => self.queue_key(key, out),
                Screen::Pick(id) => self.pick_key(id, key, out),
                Screen::Pack(id) => self.pack_key(id, key, out),
                Screen::Stock => self.stock_key(key, out),
            },
        }
    }

    fn queue_key(&mut self, key: Key, out: &mut Vec<Cmd>) {
        let selected = self.orders.get(self.queue_sel).map(|o| {
            (
                o.order.id.0,
                o.order.state,
                o.order.picker.clone(),
                o.order.return_pending,
            )
        });
        match key {
            Key::Up => self.queue_sel = self.queue_sel.saturating_sub(1),
            Key::Down => {
                self.queue_sel = (self.queue_sel + 1).min(self.orders.len().saturating_sub(1))
            }
            Key::Char('s') => self.screen = Screen::Stock,
            // Another picker's order (their screen died, they went home): taken over on
            // purpose, and the transfer is in the order's history.
            Key::Char('t') => {
                if let Some((id, OrderState::Picking, Some(p), _)) = &selected
                    && *p != self.picker
                {
                    out.push(Cmd::Send(
                        Tag::Claim(*id),
                        Request::ClaimOrder {
                            order_id: *id,
                            picker: self.picker.clone(),
                            take_over: true,
                        },
                    ));
                }
            }
            Key::Char('a') => {
                if let Some((id, OrderState::New, ..)) = selected {
                    out.push(Cmd::Send(
                        Tag::Action,
                        Request::AcceptOrder { order_id: id },
                    ));
                }
            }
            Key::Char('p') => {
                if let Some((id, OrderState::Picked | OrderState::Packed, ..)) = selected {
                    self.screen = Screen::Pack(id);
                    self.bags = 1;
                }
            }
            Key::Enter | Key::Char('c') => match selected {
                Some((id, OrderState::Accepted, ..)) => {
                    out.push(Cmd::Send(
                        Tag::Claim(id),
                        Request::ClaimOrder {
                            order_id: id,
                            picker: self.picker.clone(),
                            take_over: false,
                        },
                    ));
                }
                Some((id, OrderState::Picking, Some(p), _)) if p == self.picker => {
                    self.open_pick(id)
                }
                Some((id, OrderState::Picked | OrderState::Packed, ..)) => {
                    self.screen = Screen::Pack(id);
                    self.bags = 1;
                }
                Some((id, OrderState::Cancelled, _, true)) if !self.put_back.contains(&id) => {
                    self.put_back.push_back(id);
                }
                Some((_, OrderState::New, ..)) => {
                    if let Some((id, ..)) = selected {
                        out.push(Cmd::Send(
                            Tag::Action,
                            Request::AcceptOrder { order_id: id },
                        ));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn pick_key(&mut self, id: i64, key: Key, out: &mut Vec<Cmd>) {
        let Some(order) = self.order(id).cloned() else {
            self.screen = Screen::Queue;
            return;
        };
        let lines = order.walk.len();
        let line = order.walk.get(self.line_sel).map(|w| w.line_no);
        match key {
            Key::Esc => self.screen = Screen::Queue,
            Key::Up => self.line_sel = self.line_sel.saturating_sub(1),
            Key::Down => self.line_sel = (self.line_sel + 1).min(lines.saturating_sub(1)),
            Key::Char('x') => {
                if let Some(l) = line {
                    let remaining = order
                        .order
                        .lines
                        .iter()
                        .find(|x| x.line_no == l)
                        .map_or(0, |x| x.remaining());
                    if remaining > 0 {
                        self.prompt = Some(Prompt {
                            ask: Ask::ShortQty { order: id, line: l },
                            text: remaining.to_string(),
                        });
                    }
                }
            }
            Key::Char('u') => {
                let undo = self
                    .last_scan
                    .as_ref()
                    .filter(|s| s.result == ScanOutcome::Ok)
                    .and_then(|s| s.line_no);
                if let Some(l) = undo.or(line) {
                    let picked = order
                        .order
                        .lines
                        .iter()
                        .find(|x| x.line_no == l)
                        .map_or(0, |x| {
                            if x.weighed_g.is_some() {
                                x.picked
                            } else {
                                x.picked.min(1)
                            }
                        });
                    if picked > 0 {
                        out.push(Cmd::Send(
                            Tag::Action,
                            Request::UndoPick {
                                order_id: id,
                                line_no: l,
                                qty: picked,
                            },
                        ));
                        self.last_scan = None;
                    }
                }
            }
            Key::Char('r') => {
                out.push(Cmd::Send(
                    Tag::Action,
                    Request::ReleaseOrder { order_id: id },
                ));
                self.screen = Screen::Queue;
            }
            Key::Enter => out.push(Cmd::Send(
                Tag::Complete(id),
                Request::CompletePick { order_id: id },
            )),
            _ => {}
        }
    }

    fn pack_key(&mut self, id: i64, key: Key, out: &mut Vec<Cmd>) {
        let state = self.order(id).map(|o| o.order.state);
        match key {
            Key::Esc => self.screen = Screen::Queue,
            Key::Char('+') => self.bags = (self.bags + 1).min(99),
            Key::Char('-') => self.bags = self.bags.saturating_sub(1).max(1),
            Key::Enter if state == Some(OrderState::Picked) => {
                out.push(Cmd::Send(
                    Tag::Action,
                    Request::Pack {
                        order_id: id,
                        bags: self.bags,
                    },
                ));
            }
            Key::Enter | Key::Char('h') if state == Some(OrderState::Packed) => {
                out.push(Cmd::Send(Tag::Action, Request::HandOver { order_id: id }));
            }
            _ => {}
        }
    }

    fn stock_key(&mut self, key: Key, out: &mut Vec<Cmd>) {
        let sku = self.items.get(self.item_sel).map(|i| i.sku.0.clone());
        let ask = |a: Ask| {
            Some(Prompt {
                ask: a,
                text: String::new(),
            })
        };
        match key {
            Key::Esc => self.screen = Screen::Queue,
            Key::Up => self.item_sel = self.item_sel.saturating_sub(1),
            Key::Down => {
                self.item_sel = (self.item_sel + 1).min(self.items.len().saturating_sub(1))
            }
            Key::Char('/') => self.prompt = ask(Ask::Search),
            Key::Char('r') => self.prompt = sku.and_then(|s| ask(Ask::Receive(s))),
            Key::Char('n') => self.prompt = sku.and_then(|s| ask(Ask::Count(s))),
            Key::Char('j') => self.prompt = sku.and_then(|s| ask(Ask::AdjustQty(s))),
            _ => {}
        }
        let _ = out;
    }

    fn prompt_key(&mut self, key: Key, out: &mut Vec<Cmd>) {
        let Some(p) = self.prompt.as_mut() else {
            return;
        };
        match key {
            Key::Esc => {
                self.prompt = None;
                return;
            }
            Key::Backspace => {
                p.text.pop();
                return;
            }
            Key::Char(c) => {
                // The short reason is one key, no Enter.
                if let Ask::ShortReason { order, line, qty } = p.ask
                    && let Some(i) = c.to_digit(10).filter(|d| (1..=4).contains(d))
                {
                    let reason = ["out_of_stock", "damaged", "expired", "other"][i as usize - 1];
                    out.push(Cmd::Send(
                        Tag::Action,
                        Request::MarkShort {
                            order_id: order,
                            line_no: line,
                            qty,
                            reason: reason.into(),
                        },
                    ));
                    self.prompt = None;
                    return;
                }
                p.text.push(c);
                return;
            }
            Key::Enter => {}
            _ => return,
        }
        let Some(p) = self.prompt.take() else { return };
        let n = p.text.trim().parse::<i64>();
        match (p.ask, n) {
            (Ask::ShortQty { order, line }, Ok(qty)) if qty > 0 => {
                self.prompt = Some(Prompt {
                    ask: Ask::ShortReason { order, line, qty },
                    text: String::new(),
                });
            }
            (Ask::Search, _) => {
                self.query = p.text.trim().to_string();
                out.push(Cmd::Send(
                    Tag::Lookup,
                    Request::StockLookup {
                        query: self.query.clone(),
                    },
                ));
            }
            (Ask::Receive(code), Ok(qty)) => {
                out.push(Cmd::Send(Tag::StockOp, Request::StockReceive { code, qty }))
            }
            (Ask::Count(code), Ok(counted)) => out.push(Cmd::Send(
                Tag::StockOp,
                Request::StockCount {
                    code,
                    counted,
                    reason: None,
                },
            )),
            (Ask::AdjustQty(code), Ok(delta)) => {
                self.prompt = Some(Prompt {
                    ask: Ask::AdjustReason(code, delta),
                    text: String::new(),
                });
            }
            (Ask::AdjustReason(code, delta), _) if !p.text.trim().is_empty() => {
                out.push(Cmd::Send(
                    Tag::StockOp,
                    Request::StockAdjust {
                        code,
                        delta,
                        reason: p.text.trim().to_string(),
                    },
                ));
            }
            (ask, _) => {
                // Not a number (or empty): ask again.
                self.prompt = Some(Prompt {
                    ask,
                    text: String::new(),
                });
                out.push(Cmd::Bell);
            }
        }
    }
}
