//! What HQ sends the store: relayed orders, catalog deltas and signed configs, each acknowledged
//! only once what it carries is committed (or refused for good, with a `rejected` event).

use super::super::applied::{self, Ledger};
use super::super::host::{Host, LinkNote};
use super::super::signed::{self, Refusal};
use super::super::wire::{self, ConfigDoc, RelayedOrder, V};
use super::rollback::commit;
use super::{After, Ended, Link};
use crate::model::{Platform, Timestamp};
use crate::store::{DeltaOutcome, Ingested, StoreError};
use rumqttc::Publish;
use std::time::Duration;

/// Largest message from HQ read (a config or a big catalog delta fits; more is refused).
pub(super) const MAX_INCOMING: usize = 4 << 20;

impl<H: Host> Link<H> {
    /// Acknowledges a message. Waits for room in the request queue rather than dropping the
    /// ack: a broker holds back further messages while too many are unacknowledged (mosquitto:
    /// 20), so a lost ack would stall HQ's orders until the next reconnect.
    pub(super) async fn ack(&self, p: &Publish) {
        let sent = tokio::time::timeout(Duration::from_secs(5), self.client.ack(p)).await;
        if !matches!(sent, Ok(Ok(()))) {
            // The event loop is gone or stuck: the broker redelivers after the reconnect, and
            // the message is handled again harmlessly (deduplicated).
            tracing::warn!(
                "cannot acknowledge a message from HQ; it comes again after a reconnect"
            );
        }
    }

    pub(super) async fn on_message(&mut self, p: &Publish, ledger: &mut Ledger) -> After {
        let topic = p.topic.as_str();
        let short = topic.rsplit('/').next().unwrap_or(topic).to_string();
        if p.payload.len() > MAX_INCOMING {
            let reason = format!(
                "{} bytes is more than the {MAX_INCOMING} accepted",
                p.payload.len()
            );
            let id = message_id(&p.payload);
            return self.reject(&short, Some(id), reason).await;
        }
        if topic == self.topics.orders {
            self.on_order(p).await
        } else if topic == self.topics.catalog {
            self.on_catalog(p).await
        } else if topic == self.topics.config {
            self.on_config(p, ledger).await
        } else {
            After::Ack
        }
    }

    pub(super) async fn on_order(&mut self, p: &Publish) -> After {
        let msg: RelayedOrder = match serde_json::from_slice(&p.payload) {
            Ok(m) => m,
            Err(e) => {
                let id = message_id(&p.payload);
                return self
                    .reject("orders", Some(id), format!("not a relayed order: {e}"))
                    .await;
            }
        };
        if msg.v != V {
            let reason = format!(
                "payload version {} is not supported (this store reads 1)",
                msg.v
            );
            return self.reject("orders", Some(msg.id), reason).await;
        }
        if msg.order.platform != Platform::Hq {
            let reason = format!(
                "relayed orders carry platform \"hq\", not \"{}\"",
                msg.order.platform.as_str()
            );
            return self.reject("orders", Some(msg.id), reason).await;
        }
        let external = msg.order.external_id.clone();
        match self
            .host
            .store()
            .ingest("hq", &msg.id, msg.order.into())
            .await
        {
            Ok(Ingested::New(o)) => {
                tracing::info!(order = o.id.0, external = %o.external_id, "order relayed by HQ");
                After::Ack
            }
            Ok(Ingested::Changed { id, what }) => {
                let message = format!(
                    "HQ sent order {external} again with other content ({what}); the store keeps the first — check with HQ"
                );
                self.host.alert(message.clone(), id);
                self.reject("orders", Some(msg.id), message).await
            }
            Ok(_) => After::Ack,
            Err(e) if e.is_refusal() || matches!(e, StoreError::BadOrder(_)) => {
                self.reject("orders", Some(msg.id), e.to_string()).await
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot store a relayed order; it comes again after a reconnect");
                After::Retry
            }
        }
    }

    pub(super) async fn on_catalog(&mut self, p: &Publish) -> After {
        let delta: wire::CatalogMsg = match serde_json::from_slice(&p.payload) {
            Ok(d) => d,
            Err(e) => {
                let id = message_id(&p.payload);
                return self
                    .reject("catalog", Some(id), format!("not a catalog delta: {e}"))
                    .await;
            }
        };
        if delta.v != V {
            let reason = format!(
                "payload version {} is not supported (this store reads 1)",
                delta.v
            );
            return self.reject("catalog", None, reason).await;
        }
        match self.host.store().catalog_delta(delta.into()).await {
            Ok(DeltaOutcome::Applied(v)) => {
                tracing::info!(version = v, "catalog delta applied");
                After::Ack
            }
            Ok(DeltaOutcome::Duplicate(_)) => After::Ack,
            Ok(DeltaOutcome::Refused { reason, .. }) => self.reject("catalog", None, reason).await,
            Err(e @ StoreError::BadOrder(_)) => self.reject("catalog", None, e.to_string()).await,
            Err(e) => {
                tracing::error!(error = %e, "cannot apply a catalog delta; it comes again after a reconnect");
                After::Retry
            }
        }
    }

    /// Refuses a message from HQ for good: a counter, a log line, and a `rejected` event to HQ
    /// (deduplicated on the message's id). If even that cannot be written, try again later.
    pub(super) async fn reject(
        &mut self,
        topic: &str,
        id: Option<String>,
        reason: String,
    ) -> After {
        self.host.note(LinkNote::Rejected);
        static REFUSED: crate::throttle::Throttle =
            crate::throttle::Throttle::new(std::time::Duration::from_secs(10));
        if let Some(held) = REFUSED.check() {
            tracing::warn!(topic, id = ?id, %reason, more_since_last_line = held, "message from HQ refused");
        }
        let about = id
            .as_ref()
            .map(|i| (format!("hq-{topic}-rejected"), i.clone()));
        let rejection = crate::store::Rejection {
            topic: topic.into(),
            message_id: id.clone(),
            reason,
        };
        let about = about.as_ref().map(|(s, i)| (s.as_str(), i.as_str()));
        match self.host.store().hq_note(about, rejection).await {
            Ok(_) => After::Ack,
            Err(e) => {
                tracing::error!(error = %e, "cannot queue the refusal for HQ");
                After::Retry
            }
        }
    }

    pub(super) async fn on_config(&mut self, p: &Publish, ledger: &mut Ledger) -> After {
        if p.payload.is_empty() {
            return After::Ack; // the retained config was cleared
        }
        let store = self.host.config().store.id.clone();
        let now = Timestamp::now();
        let doc: Result<ConfigDoc, _> = serde_json::from_slice(&p.payload);
        let offered = doc.as_ref().ok().and_then(signed::offered_version);
        let text = doc.as_ref().map(|d| d.config.clone()).unwrap_or_default();
        let newest = ledger.newest_tried.max(ledger.version().unwrap_or(0));
        let outcome = doc
            .map_err(|e| Refusal::Malformed(e.to_string()))
            .and_then(|d| signed::verify(&d, &store, &self.host.config().hq.trusted_keys, newest))
            .and_then(|offer| {
                let remote = applied::Applied {
                    version: offer.version,
                    toml: offer.toml,
                    applied_at: now.0,
                    confirmed: false,
                };
                let base = applied::local_config(self.host.config());
                applied::with_remote(&base, &remote)
                    .map(|c| (remote, c))
                    .map_err(Refusal::Invalid)
            });
        match outcome {
            // The retained copy of what is in force, or of the offer last answered, coming back
            // on a reconnect: already answered.
            Err(Refusal::OldVersion { offered, .. })
                if ledger
                    .current
                    .as_ref()
                    .is_some_and(|c| c.version == offered && c.toml == text)
                    || ledger.status.as_ref().is_some_and(|s| {
                        s.offered_version == Some(offered)
                            && s.result != wire::ConfigResult::Applied
                    }) =>
            {
                After::Ack
            }
            Err(refusal) => {
                self.host.note(LinkNote::ConfigRejected);
                tracing::warn!(reason = %refusal, offered = ?offered, "config from HQ refused");
                let tried = matches!(refusal, Refusal::Invalid(_));
                if !commit(&*self.host, ledger, |l| {
                    l.reject(&store, offered, tried, refusal.to_string(), now)
                }) {
                    return After::Retry;
                }
                self.tell(ledger);
                After::Ack
            }
            Ok((remote, config)) => {
                tracing::info!(version = remote.version, "applying the config from HQ");
                if !commit(&*self.host, ledger, |l| {
                    l.apply(&store, remote.version, remote.toml, now)
                }) {
                    return After::Retry;
                }
                self.tell(ledger);
                // Tell HQ before going down for the restart.
                self.flush(Duration::from_secs(2)).await;
                self.host.reload(config);
                After::End(Ended::Reloading)
            }
        }
    }
}

/// An id for a message that has none of its own (to dedupe its refusal).
fn message_id(payload: &[u8]) -> String {
    use ct_codecs::{Encoder, Hex};
    use md5::Digest;
    Hex::encode_to_string(md5::Md5::digest(payload)).expect("hex of a digest fits")
}
