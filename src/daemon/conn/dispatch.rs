//! Routing: each request to its typed handler, each handler's reply to its `Response`. A new
//! request is a `Request` variant, its handler, and one arm here.

use super::{Conn, orders, pickup, requests, stock};
use crate::api::{ApiError, OrderReply, Request, Response, SubscribedReply, Topic};
use crate::daemon::Shared;
use crate::daemon::metrics::Metrics;
use crate::model::{CancelSource, OrderEvent, ShortReason, Timestamp};
use crate::store::{StockOpKind, StoreError};
use std::collections::HashSet;

/// What every handler works with: the daemon, who is asking, and the moment the answer's views
/// are drawn at.
pub(super) struct Ctx<'a> {
    pub(super) shared: &'a std::sync::Arc<Shared>,
    pub(super) actor: &'a str,
    pub(super) station: Option<&'a str>,
    pub(super) now: Timestamp,
}

impl Ctx<'_> {
    /// A store error as the client sees it (counted when it is the store's fault).
    pub(super) fn err(&self, e: StoreError) -> ApiError {
        store_error(e, self.shared)
    }
}

/// A request the client got wrong (not counted as a refusal).
pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError {
        code: "bad_request".into(),
        message: message.into(),
    }
}

/// A store error as the client sees it: `not_found`, `refused`, `unavailable` or `internal`
/// (counted: the store failed).
pub(super) fn store_error(e: StoreError, shared: &Shared) -> ApiError {
    let code = match &e {
        StoreError::NoSuchOrder(_) | StoreError::NoSuchSku(_) | StoreError::NoSuchRequest(_) => {
            "not_found"
        }
        StoreError::Closed => "unavailable",
        e if e.is_refusal() => "refused",
        _ => {
            Metrics::inc(&shared.metrics.store_errors);
            "internal"
        }
    };
    ApiError {
        code: code.into(),
        message: e.to_string(),
    }
}

fn order(r: OrderReply) -> Response {
    Response::Order(Box::new(r))
}

impl Conn {
    /// Answers one request.
    pub(super) async fn dispatch(&mut self, req: Request) -> Result<Response, ApiError> {
        let shared = self.shared.clone();
        let actor = self.actor.clone();
        let station = self.station.clone();
        let cx = Ctx {
            shared: &shared,
            actor: &actor,
            station: station.as_deref(),
            now: shared.clock.now(),
        };
        let cx = &cx;
        match req {
            Request::ListOrders { all } => orders::list(cx, all).await.map(Response::Orders),
            Request::GetOrder { order_id } => orders::get(cx, order_id).await.map(order),
            Request::AcceptOrder { order_id } => orders::apply(cx, order_id, OrderEvent::Accept)
                .await
                .map(order),
            Request::ClaimOrder {
                order_id,
                picker,
                take_over,
            } => orders::claim(cx, order_id, picker, take_over)
                .await
                .map(order),
            Request::ReleaseOrder { order_id } => orders::apply(cx, order_id, OrderEvent::Release)
                .await
                .map(order),
            Request::UndoPick {
                order_id,
                line_no,
                qty,
            } => {
                let ev = OrderEvent::UndoPick { line: line_no, qty };
                orders::apply(cx, order_id, ev).await.map(order)
            }
            Request::MarkShort {
                order_id,
                line_no,
                qty,
                reason,
            } => {
                let reason: ShortReason = reason.parse().map_err(bad_request)?;
                let ev = OrderEvent::Short {
                    line: line_no,
                    qty,
                    reason,
                };
                orders::apply(cx, order_id, ev).await.map(order)
            }
            Request::CompletePick { order_id } => {
                orders::apply(cx, order_id, OrderEvent::CompletePick)
                    .await
                    .map(order)
            }
            Request::Pack { order_id, bags } => {
                orders::apply(cx, order_id, OrderEvent::Pack { bags })
                    .await
                    .map(order)
            }
            Request::HandOver { order_id, code } => {
                orders::hand_over(cx, order_id, code).await.map(order)
            }
            Request::CancelOrder { order_id, reason } => {
                let ev = OrderEvent::Cancel {
                    by: CancelSource::Store,
                    reason,
                };
                orders::apply(cx, order_id, ev).await.map(order)
            }
            Request::ConfirmReturn { order_id } => {
                orders::apply(cx, order_id, OrderEvent::ConfirmReturn)
                    .await
                    .map(order)
            }
            Request::RecordScan {
                order_id,
                code,
                scanner,
            } => orders::scan(cx, order_id, code, scanner)
                .await
                .map(|r| Response::Scan(Box::new(r))),
            Request::StockLookup { query } => stock::lookup(cx, query).await.map(Response::Lookup),
            Request::StockReceive { code, qty } => {
                stock::change(cx, code, StockOpKind::Receive(qty), None)
                    .await
                    .map(Response::Stock)
            }
            Request::StockCount {
                code,
                counted,
                reason,
            } => stock::change(cx, code, StockOpKind::Count(counted), reason)
                .await
                .map(Response::Stock),
            Request::StockAdjust {
                code,
                delta,
                reason,
            } => stock::change(cx, code, StockOpKind::Adjust(delta), Some(reason))
                .await
                .map(Response::Stock),
            Request::StockResync => stock::resync(cx).await.map(Response::Queued),
            Request::StockClearSoldOut { code } => {
                stock::clear_sold_out(cx, code).await.map(Response::Stock)
            }
            Request::CatalogStage { rows } => {
                self.staging.stage(&shared, rows).map(Response::Staged)
            }
            Request::CatalogCommit => self.staging.commit(&shared).await.map(Response::Imported),
            Request::Status => crate::daemon::status(&shared)
                .await
                .map(|s| Response::Status(Box::new(s)))
                .map_err(|e| cx.err(e)),
            Request::Subscribe { topics } => Ok(Response::Subscribed(self.subscribe(topics))),
            Request::HandOverPickup {
                order_id,
                platform,
                code,
                unchecked,
            } => pickup::hand_over(cx, order_id, platform, code, unchecked)
                .await
                .map(order),
            Request::ListRequests => requests::list(cx).await.map(Response::Requests),
            Request::DecideRequest {
                request_id,
                agree,
                reason,
            } => requests::decide(cx, request_id, agree, reason)
                .await
                .map(Response::Decided),
            Request::ResolveParked { row, resend } => requests::resolve_parked(cx, row, resend)
                .await
                .map(Response::Resolved),
            Request::SetStoreOpen {
                platform,
                open,
                until,
                reason,
            } => super::open::set(cx, platform, open, until, reason)
                .await
                .map(Response::OpenStates),
            Request::StoreOpenState => super::open::states(cx).await.map(Response::OpenStates),
            Request::ClaimBatch { picker } => super::orders::claim_batch(cx, picker)
                .await
                .map(Response::Orders),
            Request::ReleaseBatch { order_id } => super::orders::release_batch(cx, order_id)
                .await
                .map(Response::Orders),
            Request::DayReport { day } => super::report::day(cx, day)
                .await
                .map(|r| Response::Report(Box::new(r))),
            Request::Reprint {
                order_id,
                document,
                printer,
            } => super::orders::reprint(cx, order_id, document, printer)
                .await
                .map(Response::Printing),
        }
    }

    /// Replaces this connection's topics (all of them when none are named) and starts
    /// listening.
    fn subscribe(&mut self, topics: Vec<Topic>) -> SubscribedReply {
        self.set_topics(if topics.is_empty() {
            Topic::ALL.into_iter().collect()
        } else {
            topics.into_iter().collect::<HashSet<_>>()
        });
        if self.events.is_none() {
            self.events = Some(self.shared.events.subscribe());
        }
        let mut list: Vec<Topic> = self.topics.iter().copied().collect();
        list.sort_by_key(|t| Topic::ALL.iter().position(|x| x == t));
        SubscribedReply { subscribed: list }
    }
}
