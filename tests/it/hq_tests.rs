//! Headquarters over a real MQTT broker: events delivered exactly once in effect through broker
//! outages and a daemon killed mid-drain; orders and catalog deltas relayed by HQ; refusals.

use crate::common::{daemon_config, within};
use crate::mqtt::Hq;
use crate::net::{Broker, Proxy};
use flashpick::daemon::Daemon;
use flashpick::model::OrderEvent;
use flashpick::store::{Ingested, Store};
use rumqttc::QoS;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// The test config, its HQ link pointed at `broker`, with `extra` lines in `[hq]`.
pub fn hq_config(dir: &Path, broker: &str, extra: &str) -> flashpick::config::Config {
    let text = daemon_config(dir)
        .source
        .replace("mqtt://127.0.0.1:9", broker)
        + "reconnect_min_ms = 50\nreconnect_max_ms = 500\n"
        + extra;
    flashpick::config::Config::parse(&text, Path::new("test.toml")).expect("hq test config")
}

/// Waits until HQ sees the test store online (its link connected and subscribed).
async fn store_online(hq: &Hq) {
    hq.until(10, "the store online", |h| {
        h.last("T-0001/status").is_some_and(|s| s["online"] == true)
    })
    .await;
}

/// A broker, HQ's subscriber, and a daemon in `dir` with stock, online at HQ.
async fn online_store(dir: &Path) -> (Broker, Hq, Daemon) {
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let d = Daemon::start(hq_config(dir, &broker.url(), ""))
        .await
        .unwrap();
    big_stock(d.store()).await;
    store_online(&hq).await;
    (broker, hq, d)
}

/// `n` orders taken in and accepted: two events each for HQ.
async fn produce(store: &Store, prefix: &str, n: usize) {
    for i in 0..n {
        let ext = format!("{prefix}-{i}");
        let o = match store
            .ingest(
                "meituan",
                &ext,
                crate::common::new_order(&ext, &[("W550", 1)]),
            )
            .await
            .unwrap()
        {
            Ingested::New(o) => o,
            d => panic!("{d:?}"),
        };
        store
            .apply(o.id, OrderEvent::Accept, "test", None)
            .await
            .unwrap();
    }
}

/// A catalog with stock for thousands of orders.
async fn big_stock(store: &Store) {
    let mut rows = crate::common::small_catalog();
    rows[0].on_hand = 1_000_000;
    store.import_catalog(rows).await.unwrap();
}

/// Every event for HQ in the store: (outbox row id, event id, order id).
pub fn hq_rows(db: &Path) -> Vec<(i64, String, Option<i64>, String)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut s = c
        .prepare(
            "SELECT id, event_id, json_extract(payload, '$.order_id'), state FROM outbox
             WHERE destination = 'hq' ORDER BY id",
        )
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Checks what HQ received against the store: every event, nothing else, duplicates only as
/// the same id with the same content, and per order the first arrivals in the store's order.
pub fn check_exactly_once(hq: &Hq, rows: &[(i64, String, Option<i64>, String)]) {
    let events = hq.events.lock().unwrap().clone();
    let position: HashMap<&str, (i64, Option<i64>)> = rows
        .iter()
        .map(|(id, ev, order, _)| (ev.as_str(), (*id, *order)))
        .collect();
    let mut seen: HashMap<String, serde_json::Value> = HashMap::new();
    let mut last_per_order: HashMap<i64, i64> = HashMap::new();
    for e in &events {
        let (row, order) = *position
            .get(e.id.as_str())
            .unwrap_or_else(|| panic!("HQ got an event the store never made: {}", e.id));
        if let Some(before) = seen.get(&e.id) {
            assert_eq!(
                before, &e.data,
                "a redelivery of {} changed its content",
                e.id
            );
            continue;
        }
        seen.insert(e.id.clone(), e.data.clone());
        if let Some(order) = order {
            let last = last_per_order.entry(order).or_insert(0);
            assert!(
                row > *last,
                "order {order}: event row {row} arrived after row {last}"
            );
            *last = row;
        }
    }
    assert_eq!(seen.len(), rows.len(), "HQ is missing events");
    assert!(
        rows.iter().all(|r| r.3 == "done"),
        "outbox rows left undelivered"
    );
}

/// Waits until every event for HQ is marked delivered (the last PUBACKs may still be on their
/// way when HQ has everything). Polls: the marks are in another process's database.
async fn drained(db: &Path) {
    within(10, "the outbox drained", async {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while hq_rows(db).iter().any(|r| r.3 != "done") {
            tick.tick().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broker_outage_loses_nothing_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start();
    let proxy = Proxy::start(broker.port, Duration::ZERO).await;
    let hq = Hq::connect(broker.port).await;
    let d = Daemon::start(hq_config(dir.path(), &proxy.url(), ""))
        .await
        .unwrap();
    big_stock(d.store()).await;
    hq.until(10, "the first events", |h| !h.distinct().is_empty())
        .await;
    // Half while connected, half while the broker is unreachable.
    produce(d.store(), "A", 1250).await;
    if broker.restartable() {
        broker.stop();
    } else {
        proxy.down();
    }
    produce(d.store(), "B", 1250).await;
    let pending = hq_rows(&dir.path().join("store.db"))
        .iter()
        .filter(|r| r.3 == "pending")
        .count();
    assert!(pending > 1000, "the outage held events back ({pending})");
    if broker.restartable() {
        broker.start_again();
    } else {
        proxy.up();
    }
    let total = hq_rows(&dir.path().join("store.db")).len();
    assert!(total >= 5000, "{total} events");
    hq.until(60, "every event at HQ", |h| h.distinct().len() >= total)
        .await;
    // Until the last PUBACK was processed, rows may still be pending.
    drained(&dir.path().join("store.db")).await;
    check_exactly_once(&hq, &hq_rows(&dir.path().join("store.db")));
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relayed_orders_enter_once_and_bad_ones_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, hq, d) = online_store(dir.path()).await;
    let topic = "flashpick/v1/T-0001/orders";
    let order = serde_json::json!({
        "v": 1, "id": "hq-msg-1",
        "order": {
            "platform": "hq", "external_id": "OMS-77", "placed_at": flashpick::model::Timestamp::now().0,
            "lines": [{"sku": "W550", "qty": 2, "unit_price": 200}],
            "remark": "总部转单"
        }
    });
    for _ in 0..2 {
        hq.client
            .publish(topic, QoS::AtLeastOnce, false, order.to_string())
            .await
            .unwrap();
    }
    hq.client
        .publish(topic, QoS::AtLeastOnce, false, "{not json")
        .await
        .unwrap();
    let mut v9 = order.clone();
    v9["v"] = 9.into();
    v9["id"] = "hq-msg-2".into();
    hq.client
        .publish(topic, QoS::AtLeastOnce, false, v9.to_string())
        .await
        .unwrap();
    let rejected = |h: &Hq| {
        h.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.kind == "rejected")
            .map(|e| e.data.clone())
            .collect::<Vec<_>>()
    };
    hq.until(15, "two refusals", |h| rejected(h).len() >= 2)
        .await;
    let r = rejected(&hq);
    assert!(
        r.iter().any(|x| x["reason"]
            .as_str()
            .unwrap()
            .contains("not a relayed order")),
        "{r:?}"
    );
    assert!(
        r.iter().any(|x| x["message_id"] == "hq-msg-2"
            && x["reason"].as_str().unwrap().contains("version 9")),
        "{r:?}"
    );
    // The good order is in, once, as an HQ order.
    let orders = d
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*), min(platform) FROM \"order\" WHERE external_id = 'OMS-77'",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!(orders, (1, "hq".to_string()));
    let (_, metrics) = crate::common::http_get(d.http_addr(), "/metrics").await;
    assert!(
        metrics.contains("flashpick_hq_rejected_total{topic=\"orders_or_catalog\"} 2"),
        "{metrics}"
    );
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalog_deltas_apply_in_order_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, hq, d) = online_store(dir.path()).await;
    let topic = "flashpick/v1/T-0001/catalog";
    let v1 = serde_json::json!({"v": 1, "version": 1, "changes": [
        {"op": "item", "sku": "TEA1", "name": "东方树叶 茉莉花茶 500ml", "location": "A-09",
         "walk_seq": 9, "price_fen": 500, "barcodes": ["6921168558049"]}
    ]});
    let v3 = serde_json::json!({"v": 1, "version": 3, "changes": [
        {"op": "price", "sku": "TEA1", "price_fen": 1}
    ]});
    let v2 = serde_json::json!({"v": 1, "version": 2, "changes": [
        {"op": "price", "sku": "TEA1", "price_fen": 450},
        {"op": "move", "sku": "W550", "location": "B-01", "walk_seq": 20}
    ]});
    for m in [&v1, &v1, &v3, &v2] {
        hq.client
            .publish(topic, QoS::AtLeastOnce, false, m.to_string())
            .await
            .unwrap();
    }
    let kinds = |h: &Hq, k: &str| {
        h.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.kind == k)
            .map(|e| e.data.clone())
            .collect::<Vec<_>>()
    };
    hq.until(15, "deltas 1 and 2 applied, 3 refused", |h| {
        kinds(h, "catalog_applied").len() >= 2 && !kinds(h, "rejected").is_empty()
    })
    .await;
    let applied: Vec<i64> = kinds(&hq, "catalog_applied")
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert_eq!(applied, vec![1, 2]);
    let refused = kinds(&hq, "rejected");
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("send 2 first"),
        "{refused:?}"
    );
    let (price, location) = d
        .store()
        .read(|c| {
            Ok((
                c.query_row("SELECT price_fen FROM sku WHERE sku = 'TEA1'", [], |r| {
                    r.get::<_, i64>(0)
                })?,
                c.query_row("SELECT location FROM sku WHERE sku = 'W550'", [], |r| {
                    r.get::<_, String>(0)
                })?,
            ))
        })
        .unwrap();
    assert_eq!((price, location.as_str()), (450, "B-01"));
    // Scanning the new item finds it.
    let sku: String = d
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT sku FROM barcode WHERE code = '6921168558049'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(sku, "TEA1");
    d.shutdown().await;
}

/// The real binary, killed with SIGKILL in the middle of draining a backlog over a slow link,
/// then started again: HQ still gets every event, in order per order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn daemon_killed_mid_drain_resends_only_what_was_not_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let proxy = Proxy::start(broker.port, Duration::from_millis(25)).await;
    let hq = Hq::connect(broker.port).await;
    // The backlog: made while no daemon ran.
    {
        let cfg = hq_config(dir.path(), &proxy.url(), "");
        let d = Daemon::start(cfg).await.unwrap();
        proxy.down();
        big_stock(d.store()).await;
        produce(d.store(), "K", 2500).await;
        d.shutdown().await;
        proxy.up();
    }
    let cfg_path = dir.path().join("store.toml");
    // A small window and batch over 50 ms round trips: the drain takes seconds.
    std::fs::write(
        &cfg_path,
        hq_config(dir.path(), &proxy.url(), "window = 2\nbatch_events = 50\n")
            .source
            .as_str(),
    )
    .unwrap();
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_flashpick"))
            .args(["--config", cfg_path.to_str().unwrap(), "serve"])
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = start();
    hq.until(30, "part of the backlog at HQ", |h| {
        h.distinct().len() >= 1000
    })
    .await;
    assert!(
        hq.last("T-0001/status")
            .is_some_and(|s| s["online"] == true),
        "online while draining"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The broker speaks for the dead: the last will.
    hq.until(10, "the last will at HQ", |h| {
        h.last("T-0001/status")
            .is_some_and(|s| s["online"] == false)
    })
    .await;
    let rows = hq_rows(&dir.path().join("store.db"));
    let done = rows.iter().filter(|r| r.3 == "done").count();
    assert!(
        done < rows.len(),
        "the kill came before the end of the drain"
    );
    let mut child = start();
    let total = rows.len();
    hq.until(60, "the whole backlog at HQ", |h| {
        h.distinct().len() >= total
    })
    .await;
    drained(&dir.path().join("store.db")).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().unwrap();
    check_exactly_once(&hq, &hq_rows(&dir.path().join("store.db")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hq_sees_a_scanner_unplugged_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let link = dir.path().join("gun-1");
    let gun = crate::scanner_tests::plug(&link);
    let scanner = format!(
        "[[scanners]]\nname = \"gun-1\"\npath = \"{}\"\n",
        link.display()
    );
    let d = Daemon::start(hq_config(dir.path(), &broker.url(), &scanner))
        .await
        .unwrap();
    let gun_state = |h: &Hq| {
        h.last("T-0001/status")
            .and_then(|s| s["detail"]["scanners"][0]["connected"].as_bool())
    };
    hq.until(15, "the scanner connected at HQ", |h| {
        gun_state(h) == Some(true)
    })
    .await;
    crate::scanner_tests::unplug(&link, gun);
    hq.until(15, "the scanner disconnected at HQ", |h| {
        gun_state(h) == Some(false)
    })
    .await;
    let s = hq.last("T-0001/status").unwrap();
    assert_eq!(
        s["detail"]["schema_version"],
        flashpick::store::schema::latest(),
        "{s}"
    );
    assert!(s["detail"]["version"].is_string(), "{s}");
    d.shutdown().await;
    // A clean stop says offline itself (the will is for when the store vanishes).
    hq.until(10, "offline at HQ", |h| {
        h.last("T-0001/status")
            .is_some_and(|s| s["online"] == false)
    })
    .await;
}

/// Regression: acks for HQ's messages were dropped when the client's request queue was full,
/// and the link could deadlock waiting for room while the event loop waited for the link; a
/// broker holding back messages until earlier ones are acked (mosquitto: 20) then stalled the
/// relay for good. A burst of 1,000 relayed orders must all arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hq_relay_burst_is_not_stalled_by_acks() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, hq, d) = online_store(dir.path()).await;
    let n = 1000;
    for i in 0..n {
        let msg = serde_json::json!({
            "v": 1, "id": format!("burst-{i}"),
            "order": {
                "platform": "hq", "external_id": format!("BURST-{i}"), "placed_at": flashpick::model::Timestamp::now().0,
                "lines": [{"sku": "W550", "qty": 1}, {"sku": "MILK1L", "qty": 1}, {"sku": "BREAD", "qty": 1}]
            }
        });
        hq.client
            .publish(
                "flashpick/v1/T-0001/orders",
                QoS::AtLeastOnce,
                false,
                msg.to_string(),
            )
            .await
            .unwrap();
    }
    let count = || -> i64 {
        d.store()
            .read(|c| Ok(c.query_row("SELECT count(*) FROM \"order\"", [], |r| r.get(0))?))
            .unwrap()
    };
    within(30, "every relayed order stored", async {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while count() < n {
            tick.tick().await;
        }
    })
    .await;
    d.shutdown().await;
}
