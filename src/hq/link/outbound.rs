//! What the store sends HQ: events out of the outbox (in windows, marked done on their PUBACK),
//! the fleet status and the config status.

use super::super::applied::Ledger;
use super::super::host::{Host, LinkNote};
use super::super::wire::{EventBatch, HqEvent, StatusMsg, V};
use super::Link;
use super::window::Carried;
use crate::store::Settle;
use rumqttc::{Event, Outgoing, QoS};
use std::time::Duration;

impl<H: Host> Link<H> {
    /// Queues messages of pending events until the window is full.
    pub(super) async fn fill(&mut self) {
        // Nothing could be marked done: events would go out again after every reconnect.
        if !self.up || self.host.store().refusing_writes().is_some() {
            return;
        }
        let hq = &self.host.config().hq;
        let (window, batch) = (hq.window, hq.batch_events);
        while self.busy() < window {
            let after = self.window.cursor;
            let rows = self
                .host
                .store()
                .read_async(move |c| crate::store::pending_outbox_after(c, "hq", after, batch))
                .await;
            let rows = match rows {
                Ok(r) if !r.is_empty() => r,
                Ok(_) => return,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the outbox for HQ");
                    return;
                }
            };
            self.window.cursor = rows.last().map(|r| r.id).unwrap_or(after);
            // Only events of the contract leave: a row that does not read as one is parked
            // with the reason (HQ would refuse the whole batch for it).
            let mut events = Vec::with_capacity(rows.len());
            let mut carried: Vec<(i64, String)> = Vec::with_capacity(rows.len());
            for r in rows {
                match crate::store::payload::HqPayload::read(&r.payload) {
                    Ok(p) => {
                        carried.push((r.id, r.event_id.clone()));
                        events.push(HqEvent {
                            id: r.event_id,
                            kind: p.kind().into(),
                            data: serde_json::to_value(&p).expect("payloads serialise"),
                        });
                    }
                    Err(reason) => {
                        tracing::error!(row = r.id, kind = %r.kind, %reason, "an outbox row for HQ is parked");
                        let park = Settle::Park { reason };
                        if let Err(e) = self
                            .host
                            .store()
                            .settle_outbox(vec![(r.id, r.event_id.clone())], park)
                            .await
                        {
                            tracing::error!(error = %e, "cannot park an outbox row for HQ");
                        }
                    }
                }
            }
            if events.is_empty() {
                continue;
            }
            let batch = EventBatch {
                v: V,
                store: self.host.config().store.id.clone(),
                events,
            };
            let topic = self.topics.events.clone();
            if !self.publish_carrying(&topic, false, json(&batch), Carried::Events(carried)) {
                return;
            }
        }
    }

    pub(super) fn publish(&mut self, topic: &str, retain: bool, payload: Vec<u8>) -> bool {
        self.publish_carrying(topic, retain, payload, Carried::Other)
    }

    pub(super) fn publish_carrying(
        &mut self,
        topic: &str,
        retain: bool,
        payload: Vec<u8>,
        c: Carried,
    ) -> bool {
        match self
            .client
            .try_publish(topic, QoS::AtLeastOnce, retain, payload)
        {
            Ok(()) => {
                self.window.queued(c);
                true
            }
            Err(e) => {
                // The request channel is full: the rows stay pending and go in a later message.
                self.window.refused(c);
                tracing::debug!(error = %e, "publish deferred");
                false
            }
        }
    }

    pub(super) async fn publish_status(&mut self) {
        if !self.up {
            return;
        }
        let Some(mut detail) = self.host.status().await else {
            return;
        };
        detail.last_sync = self.last_sync;
        let msg = StatusMsg {
            v: V,
            store: self.host.config().store.id.clone(),
            online: true,
            // The store's clock, as on every event it sends.
            at: Some(self.host.store().clock().now().0),
            detail: Some(detail),
        };
        let topic = self.topics.status.clone();
        self.publish(&topic, true, json(&msg));
        self.last_status = std::time::Instant::now();
    }

    /// Drives the event loop until everything queued is acknowledged (or `limit` passes), so a
    /// restart does not swallow the last word. Messages arriving meanwhile are not acknowledged:
    /// the broker delivers them again after the restart.
    pub(super) async fn flush(&mut self, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        while self.busy() > 0 {
            match tokio::time::timeout_at(until, self.events.recv()).await {
                Ok(Some(Ok(Event::Outgoing(Outgoing::Publish(pkid))))) => self.window.sent(pkid),
                Ok(Some(Ok(Event::Incoming(rumqttc::Packet::PubAck(ack))))) => {
                    if let Some(rows) = self.window.acked(ack.pkid) {
                        self.settle_acked(rows).await;
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => return,
            }
        }
    }

    /// Tells HQ the config status (retained).
    pub(super) fn tell(&mut self, ledger: &Ledger) {
        if let Some(st) = &ledger.status {
            let topic = self.topics.config_status.clone();
            self.publish(&topic, true, json(st));
        }
    }

    /// HQ acknowledged a message carrying these rows: they are marked done, once. If that
    /// fails they stay pending and go again (HQ dedupes on their ids).
    pub(super) async fn settle_acked(&mut self, rows: Vec<(i64, String)>) {
        let n = rows.len() as u64;
        match self
            .host
            .store()
            .settle_outbox(rows.clone(), Settle::Done)
            .await
        {
            Ok(_) => {
                self.host.note(LinkNote::EventsAcked(n));
                self.last_sync = Some(self.host.store().clock().now().0);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot mark events delivered");
                self.window.unsettled(&rows);
            }
        }
    }
}

pub(super) fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("wire types serialise")
}

pub(super) fn offline(store: &str) -> Vec<u8> {
    json(&StatusMsg {
        v: V,
        store: store.to_string(),
        online: false,
        at: None,
        detail: None,
    })
}
