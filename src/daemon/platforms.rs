//! Wiring of the delivery platforms: a channel per enabled platform, its delivery worker, its
//! poller (poll mode), and the push receiver.

use super::{DaemonError, Shared};
use crate::api::Event;
use crate::config::{Config, IntakeMode};
use crate::model::Platform;
use crate::sync::channel::Channel;
use crate::sync::intake::Alerts;
use crate::sync::{poll, webhook, worker};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// A channel for every enabled platform.
pub(super) fn channels(config: &Config) -> Result<Vec<Arc<Channel>>, DaemonError> {
    config
        .selling_platforms()
        .into_iter()
        .filter_map(|p| config.platform(p).map(|s| (p, s)))
        .map(|(p, s)| {
            Channel::new(p, s)
                .map(Arc::new)
                .map_err(DaemonError::Platform)
        })
        .collect()
}

/// Binds the push receiver when `[webhooks] listen` is set.
pub(super) async fn bind_webhooks(config: &Config) -> Result<Option<TcpListener>, DaemonError> {
    match config.webhooks.listen {
        None => Ok(None),
        Some(addr) => TcpListener::bind(addr)
            .await
            .map(Some)
            .map_err(|cause| DaemonError::Webhooks { addr, cause }),
    }
}

/// Alerts from the platform side, to every screen.
pub(super) fn alerts(shared: &Arc<Shared>) -> Alerts {
    let events = shared.events.clone();
    Arc::new(move |level: &str, message: String, order_id: Option<i64>| {
        let _ = events.send(Event::Alert {
            level: level.into(),
            message,
            order_id,
        });
    })
}

/// Starts the workers, pollers and the receiver; returns the receiver's address.
pub(super) async fn spawn(
    shared: &Arc<Shared>,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Sender<bool>,
    webhooks: Option<TcpListener>,
) -> Result<Option<SocketAddr>, DaemonError> {
    let alerts = alerts(shared);
    for channel in &shared.channels {
        tasks.spawn(worker::run(
            channel.clone(),
            shared.store.clone(),
            alerts.clone(),
            shutdown.subscribe(),
        ));
        let every = match channel.config.mode {
            IntakeMode::Poll => channel.config.poll_interval_secs,
            IntakeMode::Push => channel.config.reconcile_secs,
        };
        if every > 0 {
            tasks.spawn(poll::run(
                channel.clone(),
                Duration::from_secs(every),
                shared.store.clone(),
                alerts.clone(),
                shutdown.subscribe(),
            ));
        }
    }
    if !shared.channels.is_empty() {
        // Whatever the platforms showed before, they learn every level again at start-up.
        shared.store.full_stock_sync().await?;
    }
    let Some(listener) = webhooks else {
        return Ok(None);
    };
    let addr = listener.local_addr().map_err(|cause| DaemonError::Http {
        addr: shared
            .config
            .webhooks
            .listen
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
        cause,
    })?;
    let find = |p: Platform| shared.channels.iter().find(|c| c.platform == p).cloned();
    let receivers = Arc::new(webhook::Receivers {
        store: shared.store.clone(),
        alerts,
        meituan: find(Platform::Meituan),
        jddj: find(Platform::Jddj),
        accepted: Default::default(),
        refused: Default::default(),
    });
    let app = webhook::router(receivers);
    let (max_conns, _) = super::door::budgets();
    tasks.spawn(super::door::serve(
        listener,
        app,
        max_conns,
        shared.clone(),
        shutdown.subscribe(),
    ));
    tracing::info!(%addr, max_conns, "receiving platform pushes");
    Ok(Some(addr))
}
