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

mod connect;
mod inbound;
mod outbound;
mod rollback;
mod window;

pub use connect::options;

use super::applied::Ledger;
use super::host::{Host, LinkNote};
use super::wire::Topics;
use crate::model::Timestamp;
use connect::link_error;
use outbound::{json, offline};
use rollback::{commit, roll_back};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, QoS};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use window::Window;

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
        // Real time, not the store's clock: the deadline comes from the ledger on disk, stamped
        // when the config was applied, and must hold across restarts.
        if deadline.is_some_and(|d| Timestamp::now() >= d) {
            roll_back(&*host, &mut ledger);
            return;
        }
    }
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
    /// What was handed to the client and is not yet acknowledged.
    window: Window,
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
            window: Window::default(),
            up: false,
            last_sync: None,
            last_status: std::time::Instant::now(),
        }
    }

    fn busy(&self) -> usize {
        self.window.busy()
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
            Event::Outgoing(Outgoing::Publish(pkid)) => self.window.sent(pkid),
            Event::Incoming(rumqttc::Packet::PubAck(ack)) => {
                if let Some(rows) = self.window.acked(ack.pkid) {
                    self.settle_acked(rows).await;
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
}

impl<H: Host> Drop for Link<H> {
    fn drop(&mut self) {
        self.poller.abort();
    }
}
