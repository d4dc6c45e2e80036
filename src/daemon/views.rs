//! Turning committed store changes into what clients see, once for all subscribers.

use super::Shared;
use crate::api::{Event, LineWalk, OrderView};
use crate::model::{Order, SlaPolicy, Timestamp};
use crate::store::{self, StoreError, StoreEvent};
use rusqlite::Connection;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// Above this many skus a stock event says "many changed" instead of listing them.
const MAX_LISTED_SKUS: usize = 500;

/// The view of an order whose walk is known: pure, so a scan can reuse the walk it read before.
pub(crate) fn view_with(
    order: Order,
    walk: Vec<LineWalk>,
    print: store::print::PrintMark,
    sla: &SlaPolicy,
    now: Timestamp,
) -> OrderView {
    let scheduled_until = (order.state.is_open() && sla.scheduled(order.pick_deadline, now))
        .then(|| sla.release_at(order.pick_deadline));
    OrderView {
        sla: sla.state(order.pick_deadline, now),
        seconds_left: (order.pick_deadline.0 - now.0).div_euclid(1000),
        order,
        walk,
        scheduled_until,
        printed: print.printed,
        print_waiting: print.waiting,
    }
}

/// The client's view of an order: its clock and the shelf location of each line.
pub(crate) fn order_view(
    conn: &Connection,
    order: Order,
    sla: &SlaPolicy,
    now: Timestamp,
) -> Result<OrderView, StoreError> {
    let walk = store::walk(conn, &order)?;
    let print = store::print::print_marks(conn, &[order.id])?
        .remove(&order.id.0)
        .unwrap_or_default();
    Ok(view_with(
        order,
        walk.into_iter().map(Into::into).collect(),
        print,
        sla,
        now,
    ))
}

/// Views of many orders on one connection.
pub(crate) fn order_views(
    conn: &Connection,
    orders: Vec<Order>,
    sla: &SlaPolicy,
    now: Timestamp,
) -> Result<Vec<OrderView>, StoreError> {
    orders
        .into_iter()
        .map(|o| order_view(conn, o, sla, now))
        .collect()
}

/// Converts every committed store change into a wire event, and raises the alerts staff must see.
pub(crate) async fn fan_out(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut rx = shared.store.subscribe();
    loop {
        let change = tokio::select! {
            _ = shutdown.changed() => return,
            c = rx.recv() => c,
        };
        let events = match change {
            Ok(c) => convert(&shared, c).await,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // A print job's wake-up may be among them.
                shared.printers.wake_all();
                vec![Event::Resync {
                    reason: format!("{n} changes were coalesced"),
                }]
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        for e in events {
            // Nobody listening is fine.
            let _ = shared.events.send(e);
        }
    }
}

async fn convert(shared: &Arc<Shared>, change: StoreEvent) -> Vec<Event> {
    use crate::api::Topic;
    let wanted = match &change {
        // An order cancelled mid-pick also raises an alert.
        StoreEvent::OrderChanged { order, .. } => {
            // Notices stand for screens that subscribe later: kept whoever listens now.
            super::notices::order_changed(shared, order);
            shared.wants(Topic::Orders) || shared.wants(Topic::Alerts)
        }
        StoreEvent::StockChanged { .. } => shared.wants(Topic::Stock),
        StoreEvent::OutboxChanged => false,
        StoreEvent::PrintQueued { printers } => {
            shared.printers.wake(printers);
            false
        }
        StoreEvent::Printed { .. } => shared.wants(Topic::Orders),
        // Notices stand for screens that subscribe later: kept whoever listens now.
        StoreEvent::RequestChanged { request } => {
            super::notices::request_changed(shared, request);
            false
        }
    };
    if !wanted {
        return Vec::new();
    }
    match change {
        StoreEvent::OrderChanged { order, cause } => {
            let delivery_cancelled = cause == "rider"
                && order.state == crate::model::OrderState::Packed
                && order
                    .rider
                    .as_ref()
                    .is_some_and(|r| r.status == crate::model::rider::RiderStatus::Cancelled);
            let (sla, now) = (shared.config.sla, shared.clock.now());
            let view = shared
                .store
                .read_async(move |c| order_view(c, order, &sla, now))
                .await;
            let view = match view {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(error = %e, "cannot build an order view");
                    return vec![];
                }
            };
            let mut out = Vec::new();
            if cause == "cancel" && view.order.return_pending {
                let items: Vec<String> = view
                    .order
                    .lines
                    .iter()
                    .filter(|l| l.picked > 0)
                    .map(|l| format!("{} ×{}", l.name, l.picked))
                    .collect();
                out.push(Event::Alert {
                    level: "error".into(),
                    message: format!(
                        "order #{} was cancelled while being picked: put back {}",
                        view.order.day_seq,
                        items.join(", ")
                    ),
                    order_id: Some(view.order.id.0),
                });
            }
            if delivery_cancelled {
                out.push(Event::Alert {
                    level: "error".into(),
                    message: format!(
                        "order #{} ({}): the platform cancelled its delivery: keep the bags at the counter; the platform sends another rider — if none is assigned within minutes, call its support line",
                        view.order.day_seq,
                        view.order.platform.label()
                    ),
                    order_id: Some(view.order.id.0),
                });
            }
            if cause == "refund" {
                let back: Vec<String> = view
                    .order
                    .lines
                    .iter()
                    .filter(|l| l.put_back > 0)
                    .map(|l| format!("{} ×{}", l.name, l.put_back))
                    .collect();
                let what = if back.is_empty() {
                    "fewer units to pick: follow the pick list".to_string()
                } else {
                    format!("take out of the bag and put back {}", back.join(", "))
                };
                out.push(Event::Alert {
                    level: "warning".into(),
                    message: format!(
                        "order #{}: the customer's partial refund was granted: {what}",
                        view.order.day_seq
                    ),
                    order_id: Some(view.order.id.0),
                });
            }
            out.insert(
                0,
                Event::OrderChanged {
                    cause: cause.to_string(),
                    order: Box::new(view),
                },
            );
            out
        }
        StoreEvent::StockChanged { skus } => {
            // A bulk change (an import) is announced as "many": clients reload what they show.
            let skus = if skus.len() > MAX_LISTED_SKUS {
                Vec::new()
            } else {
                skus.into_iter().map(|s| s.0).collect()
            };
            vec![Event::StockChanged { skus }]
        }
        // The order's "printed" mark changed: its view again, for every screen.
        StoreEvent::Printed { order, .. } => {
            let (sla, now) = (shared.config.sla, shared.clock.now());
            match shared
                .store
                .read_async(move |c| load_view(c, order, &sla, now))
                .await
            {
                Ok(view) => vec![Event::OrderChanged {
                    cause: "printed".into(),
                    order: Box::new(view),
                }],
                Err(e) => {
                    tracing::warn!(error = %e, "cannot build an order view");
                    vec![]
                }
            }
        }
        StoreEvent::OutboxChanged
        | StoreEvent::RequestChanged { .. }
        | StoreEvent::PrintQueued { .. } => Vec::new(),
    }
}

/// Loads one order's view, or `NoSuchOrder`.
pub(crate) fn load_view(
    conn: &Connection,
    id: crate::model::OrderId,
    sla: &SlaPolicy,
    now: Timestamp,
) -> Result<OrderView, StoreError> {
    let order = store::load_order(conn, id)?.ok_or(StoreError::NoSuchOrder(id))?;
    order_view(conn, order, sla, now)
}
