//! HQ's side of the MQTT tests: a subscriber that collects every event and message.
#![allow(dead_code)]

use flashpick::hq::wire::{EventBatch, HqEvent};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Messages seen: (topic, payload).
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// HQ's side: every event received on `flashpick/v1/+/events`, in arrival order.
pub struct Hq {
    pub client: AsyncClient,
    pub events: Arc<Mutex<Vec<HqEvent>>>,
    /// Other messages: (topic, payload).
    pub other: Seen,
    /// Messages the store published that break the AsyncAPI contract (checked as they arrive).
    pub breaches: Arc<Mutex<Vec<String>>>,
    changed: Arc<tokio::sync::Notify>,
}

/// Every test that listens as HQ checks every message the store published against the
/// contract: a breach fails the test that saw it (unless it is failing already).
impl Drop for Hq {
    fn drop(&mut self) {
        let breaches = self.breaches.lock().unwrap();
        if !std::thread::panicking() {
            assert!(
                breaches.is_empty(),
                "the store published {} message(s) the AsyncAPI contract refuses: {:#?}",
                breaches.len(),
                &breaches[..breaches.len().min(5)]
            );
        }
    }
}

impl Hq {
    /// Connects (a persistent session, so a broker restart loses nothing queued for HQ) and
    /// subscribes to every store's events and statuses.
    pub async fn connect(broker_port: u16) -> Hq {
        let id = format!("hq-test-{}", crate::net::free_port());
        let mut o = MqttOptions::new(id, "127.0.0.1", broker_port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_session(false);
        o.set_max_packet_size(16 << 20, 16 << 20);
        let (client, mut el) = AsyncClient::new(o, 64);
        let events = Arc::new(Mutex::new(Vec::new()));
        let other = Arc::new(Mutex::new(Vec::new()));
        let breaches = Arc::new(Mutex::new(Vec::new()));
        let changed = Arc::new(tokio::sync::Notify::new());
        let (ready_tx, mut ready) = mpsc::channel(1);
        {
            let (client, events, other, changed, breaches) = (
                client.clone(),
                events.clone(),
                other.clone(),
                changed.clone(),
                breaches.clone(),
            );
            tokio::spawn(async move {
                loop {
                    match el.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            let _ = client
                                .subscribe_many([
                                    rumqttc::SubscribeFilter::new(
                                        "flashpick/v1/+/events".into(),
                                        QoS::AtLeastOnce,
                                    ),
                                    rumqttc::SubscribeFilter::new(
                                        "flashpick/v1/+/status".into(),
                                        QoS::AtLeastOnce,
                                    ),
                                    rumqttc::SubscribeFilter::new(
                                        "flashpick/v1/+/config/status".into(),
                                        QoS::AtLeastOnce,
                                    ),
                                ])
                                .await;
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            let _ = ready_tx.try_send(());
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            if let Some(Err(breach)) =
                                crate::contract::check_published(&p.topic, &p.payload)
                            {
                                breaches.lock().unwrap().push(breach);
                            }
                            if p.topic.ends_with("/events") {
                                let batch: EventBatch = serde_json::from_slice(&p.payload)
                                    .expect("events are EventBatch JSON");
                                events.lock().unwrap().extend(batch.events);
                            } else {
                                other
                                    .lock()
                                    .unwrap()
                                    .push((p.topic.clone(), p.payload.to_vec()));
                            }
                            changed.notify_waiters();
                        }
                        Ok(_) => {}
                        // The broker restarting: rumqttc reconnects on the next poll.
                        Err(_) => tokio::task::yield_now().await,
                    }
                }
            });
        }
        crate::common::within(10, "HQ's subscription", ready.recv()).await;
        Hq {
            client,
            events,
            other,
            breaches,
            changed,
        }
    }

    /// Waits until `pred` holds over what arrived, with a deadline.
    pub async fn until(&self, secs: u64, what: &str, pred: impl Fn(&Hq) -> bool) {
        crate::common::within(secs, what, async {
            loop {
                let notified = self.changed.notified();
                if pred(self) {
                    return;
                }
                // Also wake now and then: a predicate may depend on the outside world.
                let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
            }
        })
        .await
    }

    /// Distinct event ids received.
    pub fn distinct(&self) -> std::collections::HashSet<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.id.clone())
            .collect()
    }

    /// The last message on a topic ending with `suffix`, as JSON.
    pub fn last(&self, suffix: &str) -> Option<serde_json::Value> {
        self.other
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(t, _)| t.ends_with(suffix))
            .and_then(|(_, p)| serde_json::from_slice(p).ok())
    }
}
