//! An open prompt: typed text, Enter to answer, Esc to leave.

use super::{App, Ask, Cmd, Key, Prompt, Screen, Tag};
use crate::api::Request;

impl App {
    pub(super) fn prompt_key(&mut self, key: Key, out: &mut Vec<Cmd>) {
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
                    // None on the shelf: the item is marked sold out everywhere; the picker is
                    // asked what the shelf really holds (Esc leaves it to a later count).
                    let sku = self.order(order).and_then(|o| {
                        o.order
                            .lines
                            .iter()
                            .find(|l| l.line_no == line)
                            .map(|l| l.sku.0.clone())
                    });
                    self.prompt = match sku {
                        Some(sku) if i == 1 => Some(Prompt {
                            ask: Ask::Count(sku),
                            text: String::new(),
                        }),
                        _ => None,
                    };
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
                let query = p.text.trim().to_string();
                if let Screen::Stock(st) = &mut self.screen {
                    st.query = query.clone();
                }
                out.push(Cmd::Send(Tag::Lookup, Request::StockLookup { query }));
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
            (Ask::PickupCode { order, platform }, _) if !p.text.trim().is_empty() => {
                let typed = p.text.trim();
                match platform
                    .map(|pl| (pl, typed.to_string()))
                    .or_else(|| pickup_platform(typed))
                {
                    Some((platform, code)) => out.push(Cmd::Send(
                        Tag::Action,
                        Request::HandOverPickup {
                            order_id: order,
                            platform,
                            code,
                            unchecked: false,
                        },
                    )),
                    None => {
                        self.toast("error", self.s().pickup_hint.to_string());
                        out.push(Cmd::Bell);
                    }
                }
            }
            (Ask::CloseReason, _) if !p.text.trim().is_empty() => out.push(Cmd::Send(
                Tag::StoreOpen,
                Request::SetStoreOpen {
                    platform: None,
                    open: false,
                    until: None,
                    reason: p.text.trim().to_string(),
                },
            )),
            (Ask::RejectReason(id), _) if !p.text.trim().is_empty() => out.push(Cmd::Send(
                Tag::Decide,
                Request::DecideRequest {
                    request_id: id,
                    agree: false,
                    reason: p.text.trim().to_string(),
                },
            )),
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

/// A typed pickup code names its platform first (day numbers of two platforms collide):
/// `美团 23`, `美23`, `m23`; `京东 …`, `京…`, `j…`.
fn pickup_platform(typed: &str) -> Option<(crate::model::Platform, String)> {
    use crate::model::Platform;
    let prefixes: [(&str, Platform); 8] = [
        ("美团", Platform::Meituan),
        ("美", Platform::Meituan),
        ("m", Platform::Meituan),
        ("M", Platform::Meituan),
        ("京东", Platform::Jddj),
        ("京", Platform::Jddj),
        ("j", Platform::Jddj),
        ("J", Platform::Jddj),
    ];
    prefixes.iter().find_map(|(p, platform)| {
        let code = typed.strip_prefix(p)?.trim().trim_start_matches('#');
        (!code.is_empty()).then(|| (*platform, code.to_string()))
    })
}
