//! What the daemon says about itself: the status (read fresh from the database), sent to
//! subscribers every few seconds, and systemd's watchdog ping while the store answers.

use super::{STATUS_EVERY, Shared, notify};
use crate::api::{Event, Status};
use crate::store::{self, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The daemon's status, read fresh from the database.
pub(crate) async fn status(shared: &Shared) -> Result<Status, StoreError> {
    let names: Vec<String> = shared
        .config
        .printers
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let (counts, outbox, open, queues, batches) = shared
        .store
        .read_async(move |c| {
            Ok((
                store::order_counts(c)?,
                store::outbox_depth(c)?,
                store::open::open_states(c)?,
                names
                    .iter()
                    .map(|n| store::print::print_queue(c, n))
                    .collect::<Result<Vec<_>, _>>()?,
                store::batches_in_picking(c)?,
            ))
        })
        .await?;
    let now = shared.clock.now();
    let printers = shared
        .printers
        .list()
        .into_iter()
        .zip(queues)
        .map(|((p, h), q)| crate::api::PrinterStatus {
            name: p.name.clone(),
            address: p.address.clone(),
            online: h.online,
            state: h.state.map(|s| s.as_str().to_string()),
            waiting: q.waiting,
            oldest_secs: q.oldest.map(|t| (now.0 - t.0).max(0) / 1000),
            printed: h.printed,
            failures: h.failures,
            last_error: h.last_error,
        })
        .collect();
    let open_orders = counts
        .iter()
        .filter(|(s, _)| s.is_open())
        .map(|(_, n)| n)
        .sum();
    Ok(Status {
        version: env!("CARGO_PKG_VERSION").into(),
        protocol: crate::api::PROTOCOL,
        store_id: shared.config.store.id.clone(),
        store_name: shared.config.store.name.clone(),
        started_at: shared.started_at,
        uptime_secs: (now.0 - shared.started_at.0) / 1000,
        open_orders,
        orders_by_state: counts
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n))
            .collect(),
        outbox: outbox.into_iter().map(Into::into).collect(),
        scanners: shared
            .scanners
            .list
            .iter()
            .map(|(st, station)| crate::api::ScannerStatus {
                name: st.name.clone(),
                path: st.path.clone(),
                connected: st.connected(),
                frames: st.frames(),
                errors: st.errors(),
                last_error: st.last_error(),
                picker: shared.scanners.picker_of(&st.name),
                station: station.clone(),
            })
            .collect(),
        channels: shared
            .channels
            .iter()
            .map(|c| crate::api::ChannelStatus {
                name: c.platform.as_str().into(),
                online: c.state.online(),
                calls: c.state.calls(),
                failures: c.state.failures(),
                last_error: c.state.last_error(),
            })
            .chain(shared.config.hq.enabled.then(|| crate::api::ChannelStatus {
                name: "hq".into(),
                online: shared.hq_link.online(),
                calls: shared.hq_link.calls(),
                failures: shared.hq_link.failures(),
                last_error: shared.hq_link.last_error(),
            }))
            .collect(),
        config_version: shared.config.hq_version.map(|v| v as u64),
        clients: shared
            .metrics
            .clients
            .load(std::sync::atomic::Ordering::Relaxed),
        alarms: shared.alarms.list(),
        open,
        printers,
        batch_max: shared.config.picking.batch_max,
        batches: batches
            .into_iter()
            .map(|b| crate::api::BatchStatus {
                batch: b.batch,
                picker: b.picker,
                orders: b.orders,
            })
            .collect(),
    })
}

pub(super) async fn status_ticker(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(STATUS_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        if shared.events.receiver_count() == 0 {
            continue;
        }
        if let Ok(s) = status(&shared).await {
            let _ = shared.events.send(Event::Status {
                status: Box::new(s),
            });
        }
    }
}

/// Pings systemd's watchdog only while the store still answers, so a wedged daemon is restarted.
pub(super) async fn watchdog(
    shared: Arc<Shared>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        // Through the writer: a reader answering says nothing about a wedged or dead writer.
        let alive = matches!(
            tokio::time::timeout(every, shared.store.ping()).await,
            Ok(Ok(()))
        );
        if !alive {
            tracing::error!("store does not answer; withholding the watchdog ping");
        } else if !shared.alarms.is_empty() {
            // An alarm (the database lost or damaged) stands until someone acts: systemd sees
            // the daemon as failed instead of healthy.
            tracing::error!("an alarm stands; withholding the watchdog ping");
        } else {
            notify::notify("WATCHDOG=1");
        }
    }
}
