//! Booked orders (预订单): an order whose pick deadline is far ahead waits in the scheduled list
//! (its stock reserved on accept, as any order's) and joins the live queue `[sla]
//! release_before_secs` before its deadline. The screens draw the two lists from each order's
//! `scheduled_until`; this task tells them the moment an order joins the queue, as a new order
//! is told, by the store's clock (checked every second of real time, so a clock moved by hand is
//! followed at once).

use super::Shared;
use super::views::order_view;
use crate::api::Event;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Announces each booked order as it joins the live queue, until shutdown.
pub(super) async fn release(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let sla = shared.config.sla;
    // Orders already live at start were told before (or are simply in the list).
    let mut checked = shared.clock.now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let now = shared.clock.now();
        if now <= checked {
            continue;
        }
        let since = checked;
        let due = shared
            .store
            .read_async(move |c| {
                // Released in (since, now]: their deadlines lie in (since, now] + the lead.
                let lead = sla.release_before_secs * 1000;
                let ids: Vec<i64> = c
                    .prepare_cached(
                        "SELECT id FROM \"order\" WHERE pick_deadline > ?1 AND pick_deadline <= ?2
                         AND state IN ('new', 'accepted', 'picking', 'picked', 'packed')",
                    )?
                    .query_map([since.0 + lead, now.0 + lead], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let mut views = Vec::new();
                for id in ids {
                    if let Some(o) = crate::store::load_order(c, crate::model::OrderId(id))? {
                        views.push(order_view(c, o, &sla, now)?);
                    }
                }
                Ok(views)
            })
            .await;
        match due {
            Ok(views) => {
                checked = now;
                for v in views {
                    tracing::info!(order = v.order.id.0, "a booked order joins the queue");
                    super::notices::order_changed(&shared, &v.order);
                    let _ = shared.events.send(Event::OrderChanged {
                        cause: "released".into(),
                        order: Box::new(v),
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the booked orders"),
        }
    }
}

/// A timed close (休息 until a time) reopens the store at that platform by itself, by the
/// store's clock, checked every second.
pub(super) async fn reopen(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let now = shared.clock.now();
        let due = match shared
            .store
            .read_async(move |c| crate::store::open::due_reopens(c, now))
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the timed closes");
                continue;
            }
        };
        for p in due {
            match shared
                .store
                .set_open(p, true, "the timed close ended", "timer", false, None)
                .await
            {
                Ok(_) => {
                    tracing::info!(platform = %p, "a timed close ended: the store opens again");
                    let _ = shared.events.send(Event::Alert {
                        level: "info".into(),
                        message: format!(
                            "{}: the timed close ended, the store opens again",
                            p.label()
                        ),
                        order_id: None,
                    });
                }
                Err(e) => {
                    tracing::warn!(platform = %p, error = %e, "cannot reopen after a timed close")
                }
            }
        }
    }
}
