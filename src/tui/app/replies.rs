//! What the daemon says: answers to requests and pushed events.

use super::{App, Cmd, Screen, Tag};
use crate::api::{ApiError, Event, Request, Response};
use crate::model::OrderState;

impl App {
    pub(super) fn reply(
        &mut self,
        tag: Tag,
        result: Result<Response, ApiError>,
        out: &mut Vec<Cmd>,
    ) {
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
            (Tag::ClaimBatch, Response::Orders(list)) => {
                let first = list.orders.first().map(|o| o.order.id.0);
                for o in list.orders {
                    self.upsert(o);
                }
                if let Some(id) = first {
                    self.open_pick(id);
                }
            }
            (Tag::Reprint, Response::Printing(r)) => {
                let text = self
                    .s()
                    .reprinted
                    .replace("{n}", &r.jobs.to_string())
                    .replace("{printers}", &r.printers.join(", "));
                self.toast("info", text);
            }
            (Tag::Claim(id), Response::Order(o)) => {
                self.upsert(o.order);
                self.open_pick(id);
            }
            (Tag::Complete(id), Response::Order(o)) => {
                self.upsert(o.order);
                self.screen = Screen::pack(id);
            }
            (Tag::Scan, Response::Scan(r)) => self.show_scan(*r, out),
            (Tag::Lookup, Response::Lookup(l)) => {
                if let Screen::Stock(st) = &mut self.screen {
                    st.items = l.items;
                    st.item_sel = 0;
                }
            }
            (Tag::StockOp, Response::Stock(s)) => {
                self.toast(
                    "info",
                    format!("{}: {} {}", s.sku.0, s.on_hand, self.s().pieces),
                );
                // The figures shown are old now: ask again (an empty search too, as it was).
                if let Screen::Stock(st) = &self.screen {
                    let query = st.query.clone();
                    out.push(Cmd::Send(Tag::Lookup, Request::StockLookup { query }));
                }
            }
            (Tag::Action, Response::Order(o)) => {
                self.upsert(o.order);
                if let Some(id) = self.screen.packing()
                    && self.order(id).is_none()
                {
                    self.screen = Screen::Queue;
                }
            }
            (Tag::Subscribe, Response::Subscribed(_)) => {}
            (Tag::Report, Response::Report(r)) => {
                if let Screen::Report(st) = &mut self.screen {
                    st.reply = Some(r);
                }
            }
            (Tag::StoreOpen, Response::OpenStates(s)) => {
                let text = s
                    .platforms
                    .iter()
                    .map(|p| {
                        self.lang
                            .store_state(p)
                            .unwrap_or_else(|| self.lang.platform(p.platform).to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(" · ");
                self.toast("info", text);
                out.push(Cmd::Send(Tag::Status, Request::Status));
            }
            (Tag::Resolve, Response::Resolved(r)) => {
                let text = self.lang.resolved(r.row, r.state == "done");
                self.toast("info", text);
                out.push(Cmd::Send(Tag::Status, Request::Status));
            }
            (Tag::Decide, Response::Decided(d)) => {
                self.deciding = None;
                let text = format!(
                    "{} → {}",
                    self.lang.request_kind(&d.request),
                    d.request.state.as_str()
                );
                self.toast("info", text);
            }
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

    pub(super) fn event(&mut self, e: Event, out: &mut Vec<Cmd>) {
        match e {
            Event::OrderChanged { cause, order } => {
                let id = order.order.id.0;
                if cause == "ingest" || cause == "released" {
                    out.push(Cmd::Bell);
                    self.unclaimed_new = true;
                }
                let takes_back = cause == "cancel" || cause == "refund";
                if takes_back && order.order.return_pending && !self.put_back.contains(&id) {
                    self.put_back.push_back(id);
                    out.push(Cmd::Bell);
                }
                if !order.order.return_pending {
                    self.put_back.retain(|x| *x != id);
                }
                self.upsert(*order);
                let gone = self.screen.order_id() == Some(id)
                    && self
                        .order(id)
                        .is_none_or(|o| o.order.state == OrderState::Cancelled);
                if gone {
                    self.screen = Screen::Queue;
                }
            }
            Event::ScanResult { reply } => {
                let mine = match (self.screen.picking(), &reply.order) {
                    (Some(id), Some(o)) => o.order.id.0 == id,
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
            Event::Notice { notice } => self.notice(*notice, out),
            Event::NoticeResolved { key, .. } => self.notice_resolved(&key),
            Event::Status { status } => self.status = Some(*status),
            Event::StockChanged { .. } => self.refresh_stock(out),
            Event::Resync { .. } => {
                out.push(Cmd::Send(Tag::Orders, Request::ListOrders { all: false }))
            }
        }
    }
}
