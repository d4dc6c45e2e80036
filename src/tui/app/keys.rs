//! Keys, by screen, and scans from a keyboard-wedge scanner.

use super::{App, Ask, Cmd, Key, Prompt, Screen, Tag};
use crate::api::{Request, ScanOutcome};
use crate::model::OrderState;
use crate::model::document::Document;

/// How long `Z` quiets the notices on this screen.
const SNOOZE: std::time::Duration = std::time::Duration::from_secs(300);

impl App {
    /// A scan from a keyboard-wedge scanner, routed by screen.
    pub(super) fn scan(&mut self, code: String, out: &mut Vec<Cmd>) {
        match &self.screen {
            Screen::Pick(p) => out.push(Cmd::Send(
                Tag::Scan,
                Request::RecordScan {
                    order_id: p.id,
                    code,
                    scanner: Some("keyboard".into()),
                },
            )),
            // The daemon judges the code with the store's rules (a label's prefix is the
            // store's): the customer's pickup code for an order they collect, else the order's
            // label, platform id or day number.
            Screen::Pack(p) => {
                let id = p.id;
                let pickup = self
                    .order(id)
                    .filter(|o| o.order.delivery == Some(crate::model::Delivery::Pickup))
                    .map(|o| o.order.platform);
                let req = match pickup {
                    Some(platform) => Request::HandOverPickup {
                        platform,
                        code,
                        order_id: Some(id),
                        unchecked: false,
                    },
                    None => Request::HandOver {
                        order_id: id,
                        code: Some(code),
                    },
                };
                out.push(Cmd::Send(Tag::Action, req));
            }
            Screen::Stock(_) | Screen::Queue | Screen::Report(_) => {
                self.screen = Screen::stock(code.clone());
                out.push(Cmd::Send(Tag::Lookup, Request::StockLookup { query: code }));
            }
        }
    }

    pub(super) fn key(&mut self, key: Key, out: &mut Vec<Cmd>) {
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
        if let Some(id) = self.deciding {
            self.decision_key(id, key, out);
            return;
        }
        if let Some(sel) = self.parked {
            self.parked_key(sel, key, out);
            return;
        }
        match key {
            Key::Char('?') => self.help = true,
            // The first decision waiting (a manager's; the daemon refuses anyone else).
            Key::Char('D') => {
                let first = self
                    .visible_notices()
                    .chain(self.notices.iter())
                    .find_map(|n| n.request.as_ref().map(|r| r.id));
                self.deciding = first;
            }
            // The rows parked for a person (a manager settles them; the daemon refuses others).
            Key::Char('O') => self.parked = Some(0),
            // Close the store at every platform (休息), with a reason; open it again (营业). A
            // manager's: the daemon refuses anyone else.
            Key::Char('C') => {
                self.prompt = Some(Prompt {
                    ask: Ask::CloseReason,
                    text: String::new(),
                });
            }
            Key::Char('V') => out.push(Cmd::Send(
                Tag::StoreOpen,
                Request::SetStoreOpen {
                    platform: None,
                    open: true,
                    until: None,
                    reason: String::new(),
                },
            )),
            // Quiet here for a while; every other screen still rings.
            Key::Char('Z') => {
                let until = self.instant + SNOOZE;
                for n in &self.notices {
                    self.snoozed.insert(n.key.clone(), until);
                }
            }
            // The day's numbers.
            Key::Char('R') => self.open_report(out),
            Key::Char('P') => self.reprint(out),
            Key::Char('q') if self.screen == Screen::Queue => out.push(Cmd::Quit),
            _ => match &self.screen {
                Screen::Queue => self.queue_key(key, out),
                Screen::Pick(_) => self.pick_key(key, out),
                Screen::Pack(_) => self.pack_key(key, out),
                Screen::Stock(_) => self.stock_key(key, out),
                Screen::Report(_) => self.report_key(key, out),
            },
        }
    }

    /// The parked rows: `d` the change is at the platform (checked on its console), `r` send it
    /// again; the daemon records who.
    fn parked_key(&mut self, sel: usize, key: Key, out: &mut Vec<Cmd>) {
        let rows: Vec<i64> = self.parked_rows().iter().map(|r| r.id).collect();
        match key {
            Key::Up => self.parked = Some(sel.saturating_sub(1)),
            Key::Down => self.parked = Some((sel + 1).min(rows.len().saturating_sub(1))),
            Key::Char(c @ ('d' | 'r')) if sel < rows.len() => out.push(Cmd::Send(
                Tag::Resolve,
                Request::ResolveParked {
                    row: rows[sel],
                    resend: c == 'r',
                },
            )),
            Key::Esc | Key::Char('O') => self.parked = None,
            _ => {}
        }
    }

    /// The decision dialog: agree at once, reject with a reason, or leave it for later.
    fn decision_key(&mut self, id: i64, key: Key, out: &mut Vec<Cmd>) {
        match key {
            Key::Char('Y' | 'y') => out.push(Cmd::Send(
                Tag::Decide,
                Request::DecideRequest {
                    request_id: id,
                    agree: true,
                    reason: String::new(),
                },
            )),
            Key::Char('N' | 'n') => {
                self.prompt = Some(Prompt {
                    ask: Ask::RejectReason(id),
                    text: String::new(),
                });
            }
            Key::Esc => self.deciding = None,
            _ => {}
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
            // The stock screen opens on the items marked sold out.
            Key::Char('s') => {
                self.screen = Screen::stock(String::new());
                out.push(Cmd::Send(
                    Tag::Lookup,
                    Request::StockLookup {
                        query: String::new(),
                    },
                ));
            }
            // A customer at the counter: their code, with its platform (美团 23).
            Key::Char('g') => {
                self.prompt = Some(Prompt {
                    ask: Ask::PickupCode {
                        order: None,
                        platform: None,
                    },
                    text: String::new(),
                })
            }
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
                    self.screen = Screen::pack(id);
                }
            }
            Key::Enter | Key::Char('c') => match selected {
                // The store picks in batches: the most urgent waiting orders that fit, whichever
                // is selected.
                Some((_, OrderState::Accepted, ..))
                    if self.status.as_ref().is_some_and(|s| s.batch_max > 1) =>
                {
                    out.push(Cmd::Send(
                        Tag::ClaimBatch,
                        Request::ClaimBatch {
                            picker: self.picker.clone(),
                        },
                    ));
                }
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
                    self.screen = Screen::pack(id);
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

    fn pick_key(&mut self, key: Key, out: &mut Vec<Cmd>) {
        let Screen::Pick(pick) = &self.screen else {
            return;
        };
        let id = pick.id;
        let Some(order) = self.order(id).cloned() else {
            self.screen = Screen::Queue;
            return;
        };
        let Screen::Pick(pick) = &mut self.screen else {
            return;
        };
        let lines = order.walk.len();
        let line = order.walk.get(pick.line_sel).map(|w| w.line_no);
        match key {
            Key::Esc => self.screen = Screen::Queue,
            Key::Up => pick.line_sel = pick.line_sel.saturating_sub(1),
            Key::Down => pick.line_sel = (pick.line_sel + 1).min(lines.saturating_sub(1)),
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
                let undo = pick
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
                        pick.last_scan = None;
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

    fn pack_key(&mut self, key: Key, out: &mut Vec<Cmd>) {
        let Some(id) = self.screen.packing() else {
            return;
        };
        let state = self.order(id).map(|o| o.order.state);
        let pickup = self.order(id).and_then(|o| {
            (o.order.delivery == Some(crate::model::Delivery::Pickup)).then_some(o.order.platform)
        });
        let Screen::Pack(pack) = &mut self.screen else {
            return;
        };
        match key {
            Key::Esc => self.screen = Screen::Queue,
            Key::Char('+') => pack.bags = (pack.bags + 1).min(99),
            Key::Char('-') => pack.bags = pack.bags.saturating_sub(1).max(1),
            Key::Enter if state == Some(OrderState::Picked) => {
                out.push(Cmd::Send(
                    Tag::Action,
                    Request::Pack {
                        order_id: id,
                        bags: pack.bags,
                    },
                ));
            }
            // The customer collects it: their code first.
            Key::Enter | Key::Char('h') if state == Some(OrderState::Packed) => match pickup {
                Some(platform) => {
                    self.prompt = Some(Prompt {
                        ask: Ask::PickupCode {
                            order: Some(id),
                            platform: Some(platform),
                        },
                        text: String::new(),
                    });
                }
                None => out.push(Cmd::Send(
                    Tag::Action,
                    Request::HandOver {
                        order_id: id,
                        code: None,
                    },
                )),
            },
            _ => {}
        }
    }

    fn stock_key(&mut self, key: Key, out: &mut Vec<Cmd>) {
        let Screen::Stock(stock) = &mut self.screen else {
            return;
        };
        let sku = stock.items.get(stock.item_sel).map(|i| i.sku.0.clone());
        let ask = |a: Ask| {
            Some(Prompt {
                ask: a,
                text: String::new(),
            })
        };
        match key {
            Key::Esc => self.screen = Screen::Queue,
            Key::Up => stock.item_sel = stock.item_sel.saturating_sub(1),
            Key::Down => {
                stock.item_sel = (stock.item_sel + 1).min(stock.items.len().saturating_sub(1))
            }
            Key::Char('/') => self.prompt = ask(Ask::Search),
            Key::Char('r') => self.prompt = sku.and_then(|s| ask(Ask::Receive(s))),
            Key::Char('n') => self.prompt = sku.and_then(|s| ask(Ask::Count(s))),
            Key::Char('j') => self.prompt = sku.and_then(|s| ask(Ask::AdjustQty(s))),
            Key::Char('o') => {
                if let Some(code) = sku {
                    out.push(Cmd::Send(Tag::StockOp, Request::StockClearSoldOut { code }));
                }
            }
            _ => {}
        }
    }

    /// Prints the document of the order in hand again: on the pick screen its pick list; on
    /// the pack screen and the queue its labels once packed, else its slip.
    fn reprint(&mut self, out: &mut Vec<Cmd>) {
        let (id, picking) = match &self.screen {
            Screen::Pack(p) => (Some(p.id), false),
            Screen::Queue => (self.orders.get(self.queue_sel).map(|o| o.order.id.0), false),
            other => (other.picking(), true),
        };
        let Some(id) = id else {
            return;
        };
        let packed = self
            .order(id)
            .is_some_and(|o| o.order.bags.is_some() && o.order.state != OrderState::Cancelled);
        let document = match (picking, packed) {
            (true, _) => Document::PickList,
            (false, true) => Document::Label,
            (false, false) => Document::Slip,
        };
        out.push(Cmd::Send(
            Tag::Reprint,
            Request::Reprint {
                order_id: id,
                document,
                printer: None,
            },
        ));
    }
}
