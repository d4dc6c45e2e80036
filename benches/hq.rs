//! Draining a backlog to HQ over a slow link: 50,000 events waiting in the outbox (a store after
//! a long outage), sent to a real broker (rumqttd, in this process) through a TCP proxy adding
//! 25 ms each way (50 ms round trip), each row marked done on its PUBACK — beside raw rumqttc
//! publishing the same messages over the same proxy with no durability at all (QoS 1, the same
//! number in flight, nothing read or written). Goal: ≥ 5,000 events/s.
//!
//! Run: `cargo bench --bench hq` (FLASHPICK_BENCH_EVENTS to change the count).

#[path = "../tests/it/net.rs"]
mod net;
#[path = "support/record.rs"]
mod record;

use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::hq::wire::{EventBatch, HqEvent, Topics};
use flashpick::model::EventId;
use flashpick::store::{Store, StoreOptions};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use std::path::Path;
use std::time::{Duration, Instant};

const STORE: &str = "BENCH-1";
const WINDOW: usize = 16;
const BATCH: usize = 200;

/// A realistic event payload (an order transition), `n` making it unique.
fn payload(n: usize, id: &str) -> serde_json::Value {
    serde_json::json!({
        "v": 1, "type": "order_transition", "event_id": id, "order_id": n / 4,
        "platform": "meituan", "external_id": format!("27000{n:08}"), "day_seq": n % 500,
        "from": "accepted", "to": "picking", "event": {"claim": {"picker": "p1"}},
        "actor": "p1", "at": 1_800_000_000_000i64 + n as i64,
    })
}

/// The backlog, written straight into the outbox (the daemon does not care who wrote it).
fn seed(dir: &Path, events: usize) -> Vec<HqEvent> {
    let store = Store::open(&dir.join("store.db"), StoreOptions::default()).unwrap();
    store.close();
    let mut c = rusqlite::Connection::open(dir.join("store.db")).unwrap();
    let tx = c.transaction().unwrap();
    let mut out = Vec::with_capacity(events);
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO outbox (event_id, destination, kind, payload, next_attempt_at, created_at)
                 VALUES (?1, 'hq', 'order_transition', ?2, 0, 0)",
            )
            .unwrap();
        for n in 0..events {
            let id = EventId::new().0;
            let p = payload(n, &id);
            ins.execute(rusqlite::params![id, p.to_string()]).unwrap();
            out.push(HqEvent {
                id,
                kind: "order_transition".into(),
                data: p,
            });
        }
    }
    tx.commit().unwrap();
    out
}

fn pending(db: &Path) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT count(*) FROM outbox WHERE destination = 'hq' AND state = 'pending'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

async fn ours(dir: &Path, proxy: &net::Proxy) -> Duration {
    let text = format!(
        "[store]\nid = \"{STORE}\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
         [hq]\nenabled = true\nbroker = \"{}\"\nwindow = {WINDOW}\nbatch_events = {BATCH}\n",
        proxy.url(),
        d = dir.display()
    );
    let config = Config::parse(&text, Path::new("bench.toml")).unwrap();
    let db = dir.join("store.db");
    let t = Instant::now();
    let d = Daemon::start(config).await.unwrap();
    // Polled: the marks are made by the daemon's writer; 10 ms is small beside the result.
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while pending(&db) > 0 {
        tick.tick().await;
    }
    let took = t.elapsed();
    d.shutdown().await;
    took
}

/// The same messages with rumqttc alone: no outbox read, no marks, nothing durable.
async fn raw(events: &[HqEvent], proxy: &net::Proxy) -> Duration {
    let messages: Vec<Vec<u8>> = events
        .chunks(BATCH)
        .map(|c| {
            serde_json::to_vec(&EventBatch {
                v: 1,
                store: STORE.into(),
                events: c.to_vec(),
            })
            .unwrap()
        })
        .collect();
    let topic = Topics::new(STORE).events;
    let mut o = MqttOptions::new("raw-bench", "127.0.0.1", proxy.port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_inflight(WINDOW as u16);
    o.set_max_packet_size(8 << 20, 8 << 20);
    let (client, mut el) = AsyncClient::new(o, messages.len() + 8);
    let t = Instant::now();
    for m in messages.iter() {
        client
            .publish(&topic, QoS::AtLeastOnce, false, m.clone())
            .await
            .unwrap();
    }
    let mut acked = 0;
    while acked < messages.len() {
        if let Event::Incoming(Packet::PubAck(_)) = el.poll().await.unwrap() {
            acked += 1;
        }
    }
    let took = t.elapsed();
    client.disconnect().await.unwrap();
    while let Ok(ev) = el.poll().await {
        if matches!(ev, Event::Outgoing(Outgoing::Disconnect)) {
            break;
        }
    }
    took
}

fn main() {
    let events: usize = std::env::var("FLASHPICK_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            50_000
        } else {
            2_000
        });
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path(), events);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (ours, raw) = rt.block_on(async {
        let broker = net::Broker::start();
        let proxy = net::Proxy::start(broker.port, Duration::from_millis(25)).await;
        let raw = raw(&seeded, &proxy).await;
        let ours = ours(dir.path(), &proxy).await;
        (ours, raw)
    });
    let rate = |d: Duration| events as f64 / d.as_secs_f64();
    println!(
        "HQ backlog drain, {events} events, {BATCH} per message, {WINDOW} messages in flight, 50 ms round trip"
    );
    println!(
        "  flashpick (outbox → broker → PUBACK → rows done)  {:>8.2?}  {:>8.0} events/s  (goal >= 5000)",
        ours,
        rate(ours)
    );
    println!(
        "  raw rumqttc, same messages, nothing durable        {:>8.2?}  {:>8.0} events/s",
        raw,
        rate(raw)
    );
    println!(
        "  ratio of times: {:.2}x",
        ours.as_secs_f64() / raw.as_secs_f64()
    );
    record::figure(
        "HQ backlog drain over 50 ms RTT",
        rate(ours),
        "events/s",
        rate(raw),
    );
}
