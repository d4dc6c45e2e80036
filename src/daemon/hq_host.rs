//! The daemon as the HQ link's host: the narrow handle `hq::Host`, over what every task shares.

use super::Shared;
use super::metrics::Metrics;
use crate::api::Event;
use crate::config::Config;
use crate::hq::wire::{ChannelInfo, OutboxInfo, ScannerInfo, StatusDetail};
use crate::hq::{Host, LinkNote};
use crate::model::OrderId;
use crate::store::Store;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast;

impl Host for Shared {
    type Changes = broadcast::Receiver<Event>;

    fn config(&self) -> &Config {
        &self.config
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn note(&self, note: LinkNote) {
        let m = &self.metrics;
        match note {
            LinkNote::Up => {
                self.hq_link.record_link(Ok(()));
                Metrics::inc(&m.hq_connects);
                m.hq_connected.store(1, Ordering::Relaxed);
            }
            LinkNote::Down => {
                m.hq_connected.store(0, Ordering::Relaxed);
                self.hq_link.set_offline();
            }
            LinkNote::Failed(reason) => self.hq_link.record_link(Err(reason)),
            LinkNote::EventsAcked(n) => Metrics::inc_by(&m.hq_events_acked, n),
            LinkNote::Rejected => Metrics::inc(&m.hq_rejected),
            LinkNote::ConfigRejected => Metrics::inc(&m.hq_config_rejected),
        }
    }

    fn alert(&self, message: String, order: OrderId) {
        let _ = self.events.send(Event::Alert {
            level: "error".into(),
            message,
            order_id: Some(order.0),
        });
    }

    async fn status(&self) -> Option<StatusDetail> {
        let status = super::status(self).await.ok()?;
        let now = self.clock.now().0;
        Some(StatusDetail {
            version: status.version,
            config_version: self.config.hq_version,
            schema_version: crate::store::schema::MIGRATIONS.len() as i64,
            open_orders: status.open_orders,
            outbox: status
                .outbox
                .into_iter()
                .map(|o| OutboxInfo {
                    destination: o.destination,
                    pending: o.pending,
                    parked: o.parked,
                    oldest_age_secs: o.oldest_pending_at.map(|t| (now - t.0) / 1000),
                })
                .collect(),
            scanners: status
                .scanners
                .into_iter()
                .map(|s| ScannerInfo {
                    name: s.name,
                    connected: s.connected,
                    frames: s.frames,
                    errors: s.errors,
                })
                .collect(),
            channels: status
                .channels
                .into_iter()
                .map(|c| ChannelInfo {
                    name: c.name,
                    online: c.online,
                    last_error: c.last_error,
                })
                .collect(),
            last_sync: None,
        })
    }

    fn subscribe_changes(&self) -> Self::Changes {
        self.events.subscribe()
    }

    /// Scanner and platform-channel changes arrive as alerts without an order; a lagging
    /// receiver may have missed one, so that counts as a change too.
    async fn changed(changes: &mut Self::Changes) {
        loop {
            match changes.recv().await {
                Ok(Event::Alert { order_id: None, .. })
                | Err(broadcast::error::RecvError::Lagged(_)) => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    }

    fn reload(&self, config: Config) {
        // A full channel means a restart is already on its way.
        let _ = self.reload.try_send(config);
    }
}
