//! Auto-pause, carried out: every second the store's load (open orders not yet packed, booked
//! ones left out; those amber or red), the whole store's and each platform's own, is weighed
//! against `[capacity]`, and each enabled platform is closed or opened as `model::capacity` decides, marked automatic; every screen is told why.
//! A platform a person closed is left alone.

use super::Shared;
use crate::api::Event;
use crate::model::Platform;
use crate::model::capacity::{Load, Loads, Paused, Step};
use crate::model::{OrderState, SlaState};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Weighs the load and opens or closes, until shutdown.
pub(super) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let cap = &shared.config.capacity;
    if !cap.enabled {
        return;
    }
    let sla = shared.config.sla;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let now = shared.clock.now();
        let read = shared
            .store
            .read_async(move |c| {
                let orders = crate::store::list_orders(c, false, 5_000)?;
                let states = crate::store::open::open_states(c)?;
                Ok((orders, states))
            })
            .await;
        let (orders, states) = match read {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot weigh the load");
                continue;
            }
        };
        let load_of = |platform| load(&orders, sla, now, platform);
        let store_load = load_of(None);
        for ch in shared.channels.iter() {
            let p = ch.platform;
            let paused = match states.iter().find(|s| s.platform == p) {
                Some(s) if !s.want_open && s.automatic => Paused::Automatic(s.set_at),
                Some(s) if !s.want_open => Paused::Manual,
                // A person opened it (over a pause, at the peak): the load waits.
                Some(s) if !s.automatic && s.set_by != "timer" => Paused::OpenedByHand(s.set_at),
                _ => Paused::No,
            };
            let loads = Loads {
                store: store_load,
                own: load_of(Some(p)),
            };
            let (open, why) = match cap.step(p, loads, paused, now) {
                Step::Stay => continue,
                Step::Close(why) => (false, why),
                Step::Open(why) => (true, why),
            };
            let reason = if open {
                format!("the load fell: {why}")
            } else {
                format!("too busy: {why}")
            };
            match shared
                .store
                .set_open(p, open, &reason, "capacity", true, None)
                .await
            {
                Ok(_) => {
                    let message = format!(
                        "{}: the store {} by itself ({reason})",
                        p.label(),
                        if open { "opens again" } else { "pauses" }
                    );
                    tracing::warn!(platform = %p, open, "{message}");
                    let _ = shared.events.send(Event::Alert {
                        level: if open { "info" } else { "warning" }.into(),
                        message,
                        order_id: None,
                    });
                }
                Err(e) => tracing::warn!(platform = %p, error = %e, "cannot pause or open"),
            }
        }
    }
}

/// The load now: orders open (not yet packed, booked ones left out), and those amber or red;
/// one platform's, or the whole store's.
pub(crate) fn load(
    orders: &[crate::model::Order],
    sla: crate::model::SlaPolicy,
    now: crate::model::Timestamp,
    platform: Option<Platform>,
) -> Load {
    let live: Vec<_> = orders
        .iter()
        .filter(|o| {
            matches!(
                o.state,
                OrderState::New | OrderState::Accepted | OrderState::Picking | OrderState::Picked
            ) && !sla.scheduled(o.pick_deadline, now)
                && platform.is_none_or(|p| o.platform == p)
        })
        .collect();
    Load {
        open: live.len() as u32,
        at_risk: live
            .iter()
            .filter(|o| sla.state(o.pick_deadline, now) != SlaState::OnTime)
            .count() as u32,
    }
}
