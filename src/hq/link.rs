//! The one task that owns the MQTT connection to HQ.
//!
//! Delivery: the outbox is the queue. rumqttc keeps unacknowledged publishes in memory only and
//! its publish call returns before the broker answers, so rows are marked done here, when the
//! PUBACK of the message carrying them arrives. Publishes leave the event loop in the order they
//! were queued, each announced by `Outgoing::Publish(pkid)`; the queue of messages waiting for
//! that announcement pairs each message with its packet id. When the connection drops, the event
//! loop is thrown away (it would resend its own copies) and every unacknowledged row is read
//! from the outbox again: HQ may see a redelivery, with the same event id, never a gap.
//!
//! Incoming messages are acknowledged (manual acks) only after what they carry is committed.

use super::applied::{self, Ledger};
use super::host::{Host, LinkNote};
use super::signed::{self, Refusal};
use super::wire::{self, ConfigDoc, EventBatch, HqEvent, RelayedOrder, StatusMsg, Topics, V};
use crate::config::{Config, HqSection};
use crate::model::{Platform, Timestamp};
use crate::store::{DeltaOutcome, Ingested, Settle, StoreError};
use rumqttc::{
    AsyncClient, Event, LastWill, MqttOptions, Outgoing, Publish, QoS, TlsConfiguration, Transport,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Largest message from HQ read (a config or a big catalog delta fits; more is refused).
const MAX_INCOMING: usize = 4 << 20;

/// What a message in flight carries, to settle when its PUBACK arrives.
#[derive(Debug)]
enum Carried {
    /// Outbox rows (id, event id).
    Events(Vec<(i64, String)>),
    /// Status or config status: nothing to settle.
    Other,
}

/// Runs until shutdown. Reconnects with backoff and jitter (rumqttc has none of its own).
pub async fn run<H: Host>(host: Arc<H>, mut shutdown: watch::Receiver<bool>) {
    let hq = &host.config().hq;
    let store_id = host.config().store.id.clone();
    let state_dir = host.config().store.state_dir.clone();
    let mut ledger = Ledger::load(&state_dir).unwrap_or_else(|e| {
        tracing::error!(error = %e, "HQ config record unreadable; starting a new one");
        Ledger::default()
    });
    let mut retry = crate::backoff::Retry::new(crate::backoff::Backoff::new(
        Duration::from_millis(hq.reconnect_min_ms),
        Duration::from_millis(hq.reconnect_max_ms),
    ));
    loop {
        let deadline = ledger.rollback_deadline(hq.rollback_after_secs);
        let options = match options(host.config()) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "HQ link cannot start; fix [hq] in the config");
                host.note(LinkNote::Failed(e.clone()));
                // A config on trial that breaks the link is undone when its trial ends; any
                // other config stays, and so does the problem, until someone fixes it.
                if deadline.is_none() {
                    let _ = shutdown.changed().await;
                    return;
                }
                if wait(&mut shutdown, Duration::from_secs(86_400), deadline).await {
                    return;
                }
                roll_back(&*host, &mut ledger);
                return;
            }
        };
        let mut link = Link::new(host.clone(), options, &store_id);
        let ended = link.session(&mut shutdown, &mut ledger, deadline).await;
        host.note(LinkNote::Down);
        match ended {
            Ended::Shutdown | Ended::Reloading => return,
            Ended::Lost { was_up } => {
                if was_up {
                    retry.reset();
                }
            }
        }
        let pause = jitter(retry.next_wait());
        let deadline = ledger.rollback_deadline(hq.rollback_after_secs);
        if wait(&mut shutdown, pause, deadline).await {
            return;
        }
        if deadline.is_some_and(|d| Timestamp::now() >= d) {
            roll_back(&*host, &mut ledger);
            return;
        }
    }
}

/// A connection error with its causes (rumqttc's own text stops at "TLS error").
fn link_error(e: &rumqttc::ConnectionError) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// Waits `pause`, or until shutdown (true), or until `deadline` passes (false).
async fn wait(
    shutdown: &mut watch::Receiver<bool>,
    pause: Duration,
    deadline: Option<Timestamp>,
) -> bool {
    let until_deadline = deadline
        .map(|d| Duration::from_millis((d.0 - Timestamp::now().0).max(0) as u64))
        .unwrap_or(pause);
    tokio::select! {
        _ = shutdown.changed() => true,
        _ = tokio::time::sleep(pause.min(until_deadline)) => *shutdown.borrow(),
    }
}

/// Full jitter over the upper half, seeded by the clock: many stores reconnecting after a broker
/// restart spread out.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0) as u64;
    crate::backoff::upper_half(d, nanos)
}

/// The config in force never reached HQ: go back to the last good one and restart with it.
fn roll_back<H: Host>(host: &H, ledger: &mut Ledger) {
    let reason = format!(
        "no connection to HQ within {} s of applying version {}",
        host.config().hq.rollback_after_secs,
        ledger.version().unwrap_or(0)
    );
    let next = applied::revert(host.config(), reason);
    *ledger = Ledger::load(&host.config().store.state_dir).unwrap_or_default();
    // A full channel means a restart is already on its way.
    host.reload(next);
}

/// Changes the ledger on a copy and keeps the change only once it is on disk, so what HQ is
/// told and what a restart finds never differ.
fn commit<H: Host>(host: &H, ledger: &mut Ledger, change: impl FnOnce(&mut Ledger)) -> bool {
    let mut next = ledger.clone();
    change(&mut next);
    match next.save(&host.config().store.state_dir) {
        Ok(()) => {
            *ledger = next;
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record the config decision");
            false
        }
    }
}

/// What to do with a message from HQ once handled.
enum After {
    /// Acknowledge it: what it carries is committed (or refused for good).
    Ack,
    /// Leave it unacknowledged and reconnect: the broker delivers it again (a store error that
    /// may pass).
    Retry,
    /// Acknowledge it, then end the session.
    End(Ended),
}

enum Ended {
    Shutdown,
    Reloading,
    Lost { was_up: bool },
}

struct Link<H: Host> {
    host: Arc<H>,
    client: AsyncClient,
    /// The event loop's events. It runs in a task of its own: `poll` is not cancel-safe, and
    /// a `select!` here would drop it half-way through a write.
    events: mpsc::UnboundedReceiver<Result<Event, rumqttc::ConnectionError>>,
    poller: tokio::task::JoinHandle<()>,
    topics: Topics,
    /// Messages queued on the client, waiting for their packet id.
    queued: VecDeque<Carried>,
    /// Messages sent, waiting for their PUBACK.
    in_flight: HashMap<u16, Carried>,
    /// The last outbox row handed to the client in this session.
    cursor: i64,
    up: bool,
    last_sync: Option<i64>,
    last_status: std::time::Instant,
}

impl<H: Host> Link<H> {
    fn new(host: Arc<H>, options: MqttOptions, store: &str) -> Link<H> {
        let window = host.config().hq.window;
        // Room for a full window of publishes plus acks and statuses, so neither waits long.
        let (client, mut eventloop) = AsyncClient::new(options, 4 * window + 64);
        // Unbounded, so the poller never waits on this task: this task may wait for room in
        // the request queue (an ack), which only the poller makes. The broker's in-flight limits
        // and our window bound what can pile up here.
        let (tx, events) = mpsc::unbounded_channel();
        let poller = tokio::spawn(async move {
            loop {
                let ev = eventloop.poll().await;
                let end = ev.is_err();
                if tx.send(ev).is_err() || end {
                    return;
                }
            }
        });
        Link {
            host,
            client,
            events,
            poller,
            topics: Topics::new(store),
            queued: VecDeque::new(),
            in_flight: HashMap::new(),
            cursor: 0,
            up: false,
            last_sync: None,
            last_status: std::time::Instant::now(),
        }
    }

    fn busy(&self) -> usize {
        self.queued.len() + self.in_flight.len()
    }

    async fn session(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        ledger: &mut Ledger,
        deadline: Option<Timestamp>,
    ) -> Ended {
        let mut changes = self.host.store().subscribe();
        // Scanner and platform-channel changes arrive as alerts without an order: the fleet view
        // hears of them within a few seconds (batched, so a flapping port is one update).
        let mut changed = self.host.subscribe_changes();
        let mut dirty = false;
        let mut soon = tokio::time::interval(Duration::from_secs(5));
        let every = Duration::from_secs(self.host.config().hq.status_every_secs);
        let mut status_tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        // At least one fair try at connecting before a config is judged.
        let rollback_in = deadline
            .map(|d| {
                Duration::from_millis((d.0 - Timestamp::now().0).max(0) as u64)
                    .max(Duration::from_secs(5))
            })
            .unwrap_or(Duration::from_secs(86_400 * 365));
        let rollback = tokio::time::sleep(rollback_in);
        tokio::pin!(rollback);
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    if self.up {
                        // A clean goodbye; the will is not sent, so say offline ourselves.
                        let _ = self.client.try_publish(&self.topics.status, QoS::AtLeastOnce, true, offline(&self.host.config().store.id));
                        let _ = self.client.try_disconnect();
                        let _ = tokio::time::timeout(Duration::from_millis(500), async {
                            while let Some(Ok(ev)) = self.events.recv().await {
                                if matches!(ev, Event::Outgoing(Outgoing::Disconnect)) { break; }
                            }
                        }).await;
                    }
                    return Ended::Shutdown;
                }
                ev = self.events.recv() => match ev {
                    Some(Ok(ev)) => {
                        if let Some(end) = self.on_event(ev, ledger).await {
                            return end;
                        }
                    }
                    None => return Ended::Lost { was_up: self.up },
                    Some(Err(e)) => {
                        let reason = link_error(&e);
                        if self.up {
                            tracing::warn!(error = %reason, "lost the HQ broker; reconnecting");
                        } else if reason.contains("certificate") {
                            // Retrying will not fix this one: say it where it is seen.
                            tracing::error!(error = %reason, "the HQ broker's certificate is refused; check hq.ca_file and the broker's certificate names");
                        } else if let Some(fix) = crate::hq::refusal_fix(&e) {
                            // A refused login is retried too (the password may be fixed at
                            // HQ), but it is an error to see, once per interval.
                            static REFUSED: crate::throttle::Throttle =
                                crate::throttle::Throttle::new(Duration::from_secs(60));
                            if let Some(held) = REFUSED.check() {
                                tracing::error!(error = %reason, more_since_last_line = held, "{fix}");
                            }
                        } else {
                            tracing::debug!(error = %reason, "cannot reach the HQ broker");
                        }
                        self.host.note(LinkNote::Failed(reason));
                        return Ended::Lost { was_up: self.up };
                    }
                },
                // Any commit may have queued events (and a lagging receiver may have missed one).
                _ = changes.recv() => self.fill().await,
                _ = status_tick.tick() => self.publish_status().await,
                _ = H::changed(&mut changed) => dirty = true,
                _ = soon.tick(), if dirty => {
                    dirty = false;
                    self.publish_status().await;
                }
                _ = &mut rollback, if !self.up && deadline.is_some() => {
                    roll_back(&*self.host, ledger);
                    return Ended::Reloading;
                }
            }
        }
    }

    async fn on_event(&mut self, ev: Event, ledger: &mut Ledger) -> Option<Ended> {
        match ev {
            Event::Incoming(rumqttc::Packet::ConnAck(_)) => {
                self.up = true;
                self.host.note(LinkNote::Up);
                tracing::info!(broker = %self.host.config().hq.broker, "connected to HQ");
                for t in [
                    &self.topics.orders,
                    &self.topics.config,
                    &self.topics.catalog,
                ] {
                    let _ = self.client.try_subscribe(t.as_str(), QoS::AtLeastOnce);
                }
                if ledger.current.as_ref().is_some_and(|c| !c.confirmed)
                    && commit(&*self.host, ledger, |l| {
                        l.confirm();
                    })
                {
                    tracing::info!(version = ?ledger.version(), "config from HQ confirmed");
                }
                if let Some(s) = &ledger.status {
                    self.publish(&self.topics.config_status.clone(), true, json(s));
                }
                self.publish_status().await;
                self.fill().await;
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                if let Some(c) = self.queued.pop_front() {
                    self.in_flight.insert(pkid, c);
                }
            }
            Event::Incoming(rumqttc::Packet::PubAck(ack)) => {
                if let Some(Carried::Events(rows)) = self.in_flight.remove(&ack.pkid) {
                    let n = rows.len() as u64;
                    let first = rows.first().map(|r| r.0);
                    if let Err(e) = self.host.store().settle_outbox(rows, Settle::Done).await {
                        // The rows stay pending and go again (HQ dedupes on their ids).
                        tracing::error!(error = %e, "cannot mark events delivered");
                        if let Some(first) = first {
                            self.cursor = self.cursor.min(first - 1);
                        }
                    } else {
                        self.host.note(LinkNote::EventsAcked(n));
                        self.last_sync = Some(Timestamp::now().0);
                    }
                }
                self.fill().await;
                // The backlog is gone: HQ's fleet view should say so without waiting a minute.
                if self.busy() == 0 && self.last_status.elapsed() > Duration::from_secs(5) {
                    self.publish_status().await;
                }
            }
            Event::Incoming(rumqttc::Packet::Publish(p)) => match self.on_message(&p, ledger).await
            {
                After::Ack => self.ack(&p).await,
                After::Retry => return Some(Ended::Lost { was_up: true }),
                After::End(end) => {
                    self.ack(&p).await;
                    return Some(end);
                }
            },
            _ => {}
        }
        None
    }

    /// Acknowledges a message. Waits for room in the request queue rather than dropping the
    /// ack: a broker holds back further messages while too many are unacknowledged (mosquitto:
    /// 20), so a lost ack would stall HQ's orders until the next reconnect.
    async fn ack(&self, p: &Publish) {
        let sent = tokio::time::timeout(Duration::from_secs(5), self.client.ack(p)).await;
        if !matches!(sent, Ok(Ok(()))) {
            // The event loop is gone or stuck: the broker redelivers after the reconnect, and
            // the message is handled again harmlessly (deduplicated).
            tracing::warn!(
                "cannot acknowledge a message from HQ; it comes again after a reconnect"
            );
        }
    }

    /// Queues messages of pending events until the window is full.
    async fn fill(&mut self) {
        // Nothing could be marked done: events would go out again after every reconnect.
        if !self.up || self.host.store().refusing_writes().is_some() {
            return;
        }
        let hq = &self.host.config().hq;
        let (window, batch) = (hq.window, hq.batch_events);
        while self.busy() < window {
            let after = self.cursor;
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
            self.cursor = rows.last().map(|r| r.id).unwrap_or(after);
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

    fn publish(&mut self, topic: &str, retain: bool, payload: Vec<u8>) -> bool {
        self.publish_carrying(topic, retain, payload, Carried::Other)
    }

    fn publish_carrying(
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
                self.queued.push_back(c);
                true
            }
            Err(e) => {
                // The request channel is full: the rows stay pending and go in a later message.
                if let Carried::Events(rows) = c {
                    self.cursor = rows.first().map(|r| r.0 - 1).unwrap_or(self.cursor);
                }
                tracing::debug!(error = %e, "publish deferred");
                false
            }
        }
    }

    async fn publish_status(&mut self) {
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
            at: Some(Timestamp::now().0),
            detail: Some(detail),
        };
        let topic = self.topics.status.clone();
        self.publish(&topic, true, json(&msg));
        self.last_status = std::time::Instant::now();
    }

    async fn on_message(&mut self, p: &Publish, ledger: &mut Ledger) -> After {
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

    async fn on_order(&mut self, p: &Publish) -> After {
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

    async fn on_catalog(&mut self, p: &Publish) -> After {
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
    async fn reject(&mut self, topic: &str, id: Option<String>, reason: String) -> After {
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

    async fn on_config(&mut self, p: &Publish, ledger: &mut Ledger) -> After {
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

    /// Drives the event loop until everything queued is acknowledged (or `limit` passes), so a
    /// restart does not swallow the last word. Messages arriving meanwhile are not acknowledged:
    /// the broker delivers them again after the restart.
    async fn flush(&mut self, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        while self.busy() > 0 {
            match tokio::time::timeout_at(until, self.events.recv()).await {
                Ok(Some(Ok(Event::Outgoing(Outgoing::Publish(pkid))))) => {
                    if let Some(c) = self.queued.pop_front() {
                        self.in_flight.insert(pkid, c);
                    }
                }
                Ok(Some(Ok(Event::Incoming(rumqttc::Packet::PubAck(ack))))) => {
                    if let Some(Carried::Events(rows)) = self.in_flight.remove(&ack.pkid) {
                        let _ = self.host.store().settle_outbox(rows, Settle::Done).await;
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => return,
            }
        }
    }

    /// Tells HQ the config status (retained).
    fn tell(&mut self, ledger: &Ledger) {
        if let Some(st) = &ledger.status {
            let topic = self.topics.config_status.clone();
            self.publish(&topic, true, json(st));
        }
    }
}

impl<H: Host> Drop for Link<H> {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("wire types serialise")
}

fn offline(store: &str) -> Vec<u8> {
    json(&StatusMsg {
        v: V,
        store: store.to_string(),
        online: false,
        at: None,
        detail: None,
    })
}

/// An id for a message that has none of its own (to dedupe its refusal).
fn message_id(payload: &[u8]) -> String {
    use ct_codecs::{Encoder, Hex};
    use md5::Digest;
    Hex::encode_to_string(md5::Md5::digest(payload)).expect("hex of a digest fits")
}

/// The client's options from `[hq]`.
pub fn options(config: &Config) -> Result<MqttOptions, String> {
    let hq: &HqSection = &config.hq;
    let addr = hq.broker_addr()?;
    let mut o = MqttOptions::new(config.store.id.clone(), addr.host.clone(), addr.port);
    o.set_keep_alive(Duration::from_secs(hq.keep_alive_secs));
    // A persistent session: orders HQ relays while the store is away wait at the broker.
    o.set_clean_session(false);
    o.set_manual_acks(true);
    o.set_inflight((hq.window as u16).saturating_mul(2).max(8));
    // Above what is accepted, so an oversized message is refused with a reason, not dropped
    // with the connection (again and again, as the broker redelivers it).
    o.set_max_packet_size(4 * MAX_INCOMING, 8 << 20);
    o.set_last_will(LastWill::new(
        Topics::new(&config.store.id).status,
        offline(&config.store.id),
        QoS::AtLeastOnce,
        true,
    ));
    if let (Some(u), p) = (&hq.username, &hq.password) {
        o.set_credentials(
            u.clone(),
            p.as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default(),
        );
    }
    if addr.tls {
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(tls(hq)?),
        )));
    }
    Ok(o)
}

fn tls(hq: &HqSection) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    crate::tls::ensure_provider();
    let mut roots = rustls::RootCertStore::empty();
    match &hq.ca_file {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("hq.ca_file {}: {e}", path.display()))?
            {
                let cert = cert.map_err(|e| format!("hq.ca_file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("hq.ca_file {}: {e}", path.display()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err("no CA certificates to check the broker with: set hq.ca_file".into());
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    match (&hq.client_cert, &hq.client_key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("hq.client_cert {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("hq.client_key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}
