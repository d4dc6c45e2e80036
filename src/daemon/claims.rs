//! Claims nobody works on: an order in picking with no scan and no request touching it for
//! `[picking] claim_idle_secs` goes back to the queue, so a screen that died (or a picker who went
//! home) does not hold it until someone notices. A dropped connection alone never releases: an
//! HQ config apply drops every screen, and serial scanners pick with no screen at all.

use super::Shared;
use crate::api::Event;
use crate::model::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Checks for idle claims every so often until shutdown.
pub(super) async fn release_idle(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let secs = shared.config.picking.claim_idle_secs;
    if secs == 0 {
        return;
    }
    let idle = Duration::from_secs(u64::from(secs));
    let every = (idle / 4).clamp(Duration::from_millis(250), Duration::from_secs(60));
    // Not at start (claims left from before a restart are found by the first round after).
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let since = Timestamp(shared.clock.now().0 - idle.as_millis() as i64);
        let Ok(idle_orders) = shared
            .store
            .read_async(move |c| crate::store::idle_claims(c, since))
            .await
        else {
            continue;
        };
        for (id, seq, picker) in idle_orders {
            match shared.store.release_idle(id, since).await {
                Ok(Some(_)) => {
                    let message = format!(
                        "order #{seq} went back to the queue: {picker} has not touched it for {} (its picked units stay picked)",
                        if secs >= 120 {
                            format!("{} minutes", secs / 60)
                        } else {
                            format!("{secs} s")
                        }
                    );
                    tracing::warn!(order = id.0, %picker, "{message}");
                    let _ = shared.events.send(Event::Alert {
                        level: "warning".into(),
                        message,
                        order_id: Some(id.0),
                    });
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(order = id.0, error = %e, "cannot release an idle claim"),
            }
        }
    }
}
