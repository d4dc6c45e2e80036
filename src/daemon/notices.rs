//! The one repeating-alert mechanism: a notice stands on every screen until the action it asks
//! for is done (it is *resolved* everywhere), and the screens repeat it until then; a screen may
//! *snooze* it for itself (that is the screen's business, not the daemon's). Decisions on
//! customers' requests use it; riders at the store, reminders and new orders will too.

use super::Shared;
use crate::api::{Event, Notice, NoticeKind};
use crate::model::request::{CustomerRequest, RequestKind, RequestState};
use crate::model::rider::RiderStatus;
use crate::model::{Order, OrderState};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How often a decision is repeated on the screens until someone decides.
pub(crate) const DECISION_REPEAT_SECS: u32 = 30;
/// A rider waiting at the counter costs the store by the minute: repeated often.
pub(crate) const RIDER_REPEAT_SECS: u32 = 15;
/// A customer chasing an order.
pub(crate) const REMINDER_REPEAT_SECS: u32 = 20;

/// Notices standing now, by key.
#[derive(Default)]
pub(crate) struct Notices(Mutex<BTreeMap<String, Notice>>);

impl Notices {
    /// Every notice standing, oldest first (for a screen that subscribes later).
    pub(crate) fn list(&self) -> Vec<Notice> {
        let mut all: Vec<Notice> = self.0.lock().expect("notices").values().cloned().collect();
        all.sort_by_key(|n| n.since);
        all
    }

    /// Raises (or replaces) a notice and tells every screen.
    pub(crate) fn raise(&self, shared: &Shared, notice: Notice) {
        self.0
            .lock()
            .expect("notices")
            .insert(notice.key.clone(), notice.clone());
        let _ = shared.events.send(Event::Notice {
            notice: Box::new(notice),
        });
    }

    /// Whether a notice stands under `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.0.lock().expect("notices").contains_key(key)
    }

    /// Resolves a notice everywhere; nothing when none stands under `key`.
    pub(crate) fn resolve(&self, shared: &Shared, key: &str, by: &str) {
        if self.0.lock().expect("notices").remove(key).is_some() {
            let _ = shared.events.send(Event::NoticeResolved {
                key: key.to_string(),
                by: by.to_string(),
            });
        }
    }
}

/// What the screens say of a request, in English for the log and the CLI (the TUI renders its
/// own words from the request).
pub(crate) fn request_message(r: &CustomerRequest) -> String {
    let what = match r.asked.kind {
        RequestKind::FullRefund => "a full refund".to_string(),
        RequestKind::Cancel => "to cancel the order".to_string(),
        RequestKind::PartRefund => {
            let items: Vec<String> = r.asked.items.iter().map(|i| i.label()).collect();
            format!("a refund of {}", items.join(", "))
        }
    };
    let reason = if r.asked.reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", r.asked.reason)
    };
    format!(
        "{} order {}: the customer asks {what}{reason}; a manager decides (D on the queue) before the platform does",
        r.asked.platform.label(),
        r.asked.external_id
    )
}

/// A request as it changed: an open one stands as a decision; decided or settled, it is resolved.
pub(crate) fn request_changed(shared: &Shared, r: &CustomerRequest) {
    let key = Notice::request_key(r.id);
    match r.state {
        RequestState::Open => shared.notices.raise(
            shared,
            Notice {
                key,
                kind: NoticeKind::Decision,
                level: "warning".into(),
                message: request_message(r),
                order_id: r.order_id,
                since: r.opened_at.0,
                due: Some(r.decide_by.0),
                repeat_secs: DECISION_REPEAT_SECS,
                escalate_at: None,
                request: Some(r.clone()),
            },
        ),
        state => {
            let by = match (state, &r.decided_by) {
                (RequestState::Agreeing | RequestState::Rejecting, Some(who)) => {
                    format!("{} by {who}", state.as_str())
                }
                _ => state.as_str().to_string(),
            };
            shared.notices.resolve(shared, &key, &by);
        }
    }
}

/// An order changed: a rider waiting at the store for an order not packed yet stands until the
/// order is packed (or the rider leaves); a chased order stands until someone opens it. Raised
/// once (a later change of the same order does not ring again), resolved by the order's state.
pub(crate) fn order_changed(shared: &Shared, o: &Order) {
    let rider_key = format!("rider:{}", o.id.0);
    let waiting = o
        .rider
        .as_ref()
        .is_some_and(|r| r.status == RiderStatus::AtStore)
        && matches!(
            o.state,
            OrderState::New | OrderState::Accepted | OrderState::Picking | OrderState::Picked
        );
    if waiting && !shared.notices.has(&rider_key) {
        let who = o
            .rider
            .as_ref()
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| "the rider".into());
        shared.notices.raise(
            shared,
            Notice {
                key: rider_key,
                kind: NoticeKind::RiderWaiting,
                level: "error".into(),
                message: format!(
                    "order #{} ({}): {who} is at the store and the order is not packed: finish it first",
                    o.day_seq,
                    o.platform.label()
                ),
                order_id: Some(o.id.0),
                since: o.rider.as_ref().map_or(0, |r| r.at.0),
                due: None,
                repeat_secs: RIDER_REPEAT_SECS,
                escalate_at: None,
                request: None,
            },
        );
    } else if !waiting {
        let by = if o.state == OrderState::Packed {
            "packed"
        } else {
            "rider left"
        };
        shared.notices.resolve(shared, &rider_key, by);
    }
    new_order(shared, o);
    let remind_key = format!("reminder:{}", o.id.0);
    let open = !matches!(o.state, OrderState::HandedOver | OrderState::Cancelled);
    match o.reminded_at {
        Some(at) if open && !shared.notices.has(&remind_key) => shared.notices.raise(
            shared,
            Notice {
                key: remind_key,
                kind: NoticeKind::Reminder,
                level: "warning".into(),
                message: format!(
                    "order #{} ({}): the customer is chasing it: open it",
                    o.day_seq,
                    o.platform.label()
                ),
                order_id: Some(o.id.0),
                since: at.0,
                due: None,
                repeat_secs: REMINDER_REPEAT_SECS,
                escalate_at: None,
                request: None,
            },
        ),
        Some(_) if open => {}
        _ => shared.notices.resolve(shared, &remind_key, "opened"),
    }
}

/// A new order rings on every screen until someone acts on it: where the store accepts by
/// hand, until accepted (escalating as the acceptance deadline nears); then, or at once where
/// the platform's orders are accepted by themselves, until someone claims it. A booked order
/// rings when it joins the queue, not before.
fn new_order(shared: &Shared, o: &Order) {
    let alerts = shared.config.alerts;
    let (accept_key, claim_key) = (format!("new:{}", o.id.0), format!("claim:{}", o.id.0));
    let booked = shared
        .config
        .sla
        .scheduled(o.pick_deadline, shared.clock.now());
    let waiting_accept = o.state == OrderState::New && !booked;
    let waiting_claim = o.state == OrderState::Accepted && o.picker.is_none() && !booked;
    if waiting_accept && !shared.notices.has(&accept_key) {
        let deadline = o.placed_at.0 + i64::from(alerts.accept_within_secs) * 1000;
        shared.notices.raise(
            shared,
            Notice {
                key: accept_key.clone(),
                kind: NoticeKind::NewOrder,
                level: "warning".into(),
                message: format!(
                    "order #{} ({}) waits to be accepted: a on the queue",
                    o.day_seq,
                    o.platform.label()
                ),
                order_id: Some(o.id.0),
                since: o.placed_at.0,
                due: Some(deadline),
                repeat_secs: alerts.alert_repeat_secs,
                escalate_at: Some(deadline - i64::from(alerts.escalate_within_secs) * 1000),
                request: None,
            },
        );
    } else if !waiting_accept {
        shared
            .notices
            .resolve(shared, &accept_key, o.state.as_str());
    }
    if waiting_claim && !shared.notices.has(&claim_key) {
        shared.notices.raise(
            shared,
            Notice {
                key: claim_key,
                kind: NoticeKind::NewOrder,
                level: "warning".into(),
                message: format!(
                    "order #{} ({}) waits for a picker: Enter on the queue claims it",
                    o.day_seq,
                    o.platform.label()
                ),
                order_id: Some(o.id.0),
                since: o.placed_at.0,
                due: Some(o.pick_deadline.0),
                repeat_secs: alerts.alert_repeat_secs,
                escalate_at: None,
                request: None,
            },
        );
    } else if !waiting_claim {
        let by = o.picker.as_deref().unwrap_or(o.state.as_str());
        shared.notices.resolve(shared, &claim_key, by);
    }
}

/// At start: every request still open stands again (the daemon may have restarted meanwhile).
pub(crate) async fn restore(shared: &Shared) {
    match shared
        .store
        .read_async(crate::store::requests::live_requests)
        .await
    {
        Ok(list) => {
            for r in list.iter().filter(|r| r.state == RequestState::Open) {
                request_changed(shared, r);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read the customers' requests"),
    }
    match shared
        .store
        .read_async(|c| crate::store::list_orders(c, true, 5_000))
        .await
    {
        Ok(orders) => orders.iter().for_each(|o| order_changed(shared, o)),
        Err(e) => tracing::error!(error = %e, "cannot read the open orders"),
    }
}

/// Customers' requests nobody decided within `decide_within_secs`: closed as the platform's
/// (it decides by itself after its own limit), so the decision stops ringing, and a manager is
/// told once to see the outcome on the platform. Checked every second of real time by the
/// store's clock.
pub(super) async fn expire_requests(
    shared: std::sync::Arc<Shared>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        // Read first: a write every second would be a write for nothing nearly always.
        let now = shared.clock.now();
        let due = shared
            .store
            .read_async(move |c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM customer_request WHERE state = 'open' AND decide_by <= ?1",
                    [now.0],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .await;
        if !matches!(due, Ok(n) if n > 0) {
            continue;
        }
        let closed = match shared.store.expire_requests().await {
            Ok(closed) => closed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot close the requests past their time");
                continue;
            }
        };
        for r in closed {
            let message = format!(
                "{} order {}: nobody decided the customer's request ({}) in time, so the platform decides it by itself: see the order on the {} app",
                r.asked.platform.label(),
                r.asked.external_id,
                r.asked.kind.as_str().replace('_', " "),
                r.asked.platform.label()
            );
            tracing::warn!(request = r.id, order = %r.asked.external_id, "{message}");
            let _ = shared.events.send(Event::Alert {
                level: "warning".into(),
                message,
                order_id: r.order_id,
            });
        }
    }
}
