//! The daemon's footprint and bursts:
//! 1. cold start to READY=1 (the real binary, a store of 50,000 skus), beside the same binary
//!    starting and exiting (`--version`): goal < 200 ms;
//! 2. resident memory with 50,000 skus and 1,000 open orders, beside the same daemon on an
//!    empty store: goal < 30 MB;
//! 3. an order burst through the HQ relay — 1,000 orders of 5 lines published to a real broker
//!    (rumqttd) — until all are in the store, beside a bare rumqttc subscriber on the same broker
//!    that reads the same messages and stores them by hand.
//!
//! Run: `cargo bench --bench footprint`.

#[path = "../tests/it/net.rs"]
mod net;
#[path = "support/record.rs"]
mod record;

use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::model::{Fen, Platform, SkuCode, Timestamp, Unit};
use flashpick::store::{CatalogRow, NewLine, NewOrder, Store, StoreOptions, schema};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_flashpick");

fn catalog(n: usize) -> Vec<CatalogRow> {
    (0..n)
        .map(|i| CatalogRow {
            line: i as u64 + 2,
            sku: SkuCode::new(format!("S{i:06}")),
            name: format!("商品 {i} 号 农夫山泉 饮用天然水"),
            name_en: None,
            spec: Some("550ml".into()),
            unit: Unit::Piece,
            location: format!(
                "{}-{:02}-{}",
                (b'A' + (i / 600 % 20) as u8) as char,
                i / 3 % 200,
                i % 3 + 1
            ),
            walk_seq: i as i64,
            price: Some(Fen(200)),
            safety_stock: None,
            on_hand: 1_000_000,
            barcodes: vec![{
                let body = format!("2{i:010}");
                let d = flashpick::model::barcode::gtin::check_digit(body.as_bytes());
                format!("{body}{d}")
            }],
            plu: None,
            sale_unit_g: None,
        })
        .collect()
}

fn order(ext: &str, skus: &[usize]) -> NewOrder {
    NewOrder {
        platform: Platform::Hq,
        external_id: ext.into(),
        day_seq: None,
        placed_at: Timestamp::now(),
        promised_at: None,
        platform_deadline: None,
        pickup_code: None,
        delivery: None,
        remark: None,
        unknown_items: Vec::new(),
        lines: skus
            .iter()
            .map(|i| NewLine {
                sku: SkuCode::new(format!("S{i:06}")),
                name: None,
                qty: 2,
                unit_price: Fen(200),
                platform_item: None,
                merchant_code: None,
                unit_g: None,
            })
            .collect(),
    }
}

fn config_text(dir: &Path, hq: Option<&str>) -> String {
    let mut t = format!(
        "[store]\nid = \"FP-1\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
        d = dir.display()
    );
    if let Some(b) = hq {
        t += &format!("[hq]\nenabled = true\nbroker = \"{b}\"\n");
    }
    t
}

/// Starts the binary, returns (time to READY, RSS in kB after READY and a list of orders).
fn start_and_measure(dir: &Path) -> (Duration, u64) {
    let cfg = dir.join("store.toml");
    std::fs::write(&cfg, config_text(dir, None)).unwrap();
    let notify_path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&notify_path);
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let t = Instant::now();
    let mut child = std::process::Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("NOTIFY_SOCKET", &notify_path)
        .env("RUST_LOG", "error")
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let ready = loop {
        let n = notify.recv(&mut buf).expect("READY in time");
        if buf[..n].starts_with(b"READY=1") {
            break t.elapsed();
        }
    };
    // A client lists every open order, as a screen would at start.
    let out = std::process::Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "orders", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().unwrap();
    (ready, rss)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn footprint(runs: usize) {
    let big = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&big.path().join("store.db"), StoreOptions::default()).unwrap();
        store.import_catalog_blocking(catalog(50_000)).unwrap();
        for i in 0..1000 {
            let skus: Vec<usize> = (0..5).map(|k| (i * 37 + k * 7919) % 50_000).collect();
            store
                .ingest_blocking("bench", &format!("m{i}"), order(&format!("O{i}"), &skus))
                .unwrap();
        }
        store.close();
        Store::open(&empty.path().join("store.db"), StoreOptions::default())
            .unwrap()
            .close();
    }
    let mut starts = Vec::new();
    let mut rss_big = 0;
    for _ in 0..runs {
        let (t, rss) = start_and_measure(big.path());
        starts.push(t);
        rss_big = rss_big.max(rss);
    }
    let (_, rss_empty) = start_and_measure(empty.path());
    let mut bare: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let out = std::process::Command::new(BIN)
                .arg("--version")
                .output()
                .unwrap();
            assert!(out.status.success());
            t.elapsed()
        })
        .collect();
    let (start, bare) = (median(&mut starts), median(&mut bare));
    println!("daemon footprint, store of 50,000 skus and 1,000 open orders:");
    println!(
        "  cold start to READY=1, median of {runs}: {start:>9.2?} (goal < 200 ms); the binary starting and exiting: {bare:>9.2?}"
    );
    println!(
        "  resident memory after READY and a full order list: {:.1} MB (goal < 30 MB); on an empty store: {:.1} MB",
        rss_big as f64 / 1024.0,
        rss_empty as f64 / 1024.0
    );
    record::figure(
        "cold start to READY",
        record::ms(start),
        "ms",
        record::ms(bare),
    );
    record::figure(
        "daemon RSS, 50,000 skus + 1,000 open orders",
        rss_big as f64 / 1024.0,
        "MB",
        rss_empty as f64 / 1024.0,
    );
}

/// One order's rows, by hand, in one transaction: the inbox, the order, its lines, its first
/// transition and the event for HQ.
fn raw_store(c: &mut rusqlite::Connection, n: usize, lines: &[(String, i64)]) {
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute(
        "INSERT INTO inbox (source, message_id, received_at) VALUES ('raw', ?1, 0)",
        [format!("raw-{n}")],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO \"order\" (platform, external_id, day_seq, state, placed_at, pick_deadline, created_at, updated_at)
         VALUES ('hq', ?1, 0, 'new', 0, 0, 0, 0)",
        [format!("RAW-{n}")],
    )
    .unwrap();
    let id = tx.last_insert_rowid();
    for (i, (sku, qty)) in lines.iter().enumerate() {
        tx.execute(
            "INSERT INTO order_line (order_id, line_no, sku, name, qty, unit_price_fen) VALUES (?1, ?2, ?3, 'x', ?4, 200)",
            rusqlite::params![id, i as i64 + 1, sku, qty],
        )
        .unwrap();
    }
    tx.execute(
        "INSERT INTO order_transition (order_id, event_id, from_state, to_state, event, actor, at)
         VALUES (?1, ?2, NULL, 'new', '{}', 'hq', 0)",
        rusqlite::params![id, format!("raw-ev-{n}")],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO outbox (event_id, destination, kind, payload, next_attempt_at, created_at) VALUES (?1, 'hq', 'order_transition', '{}', 0, 0)",
        [format!("raw-ev-{n}")],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// The baseline crosses the same broker: a bare rumqttc subscriber takes the same messages,
/// reads each as JSON and stores it by hand. Time from the first publish to the last commit.
async fn raw_relay(
    db: &Path,
    port: u16,
    publisher: &rumqttc::AsyncClient,
    msgs: &[String],
) -> Duration {
    let mut c = rusqlite::Connection::open(db).unwrap();
    schema::configure(&c).unwrap();
    let mut o = rumqttc::MqttOptions::new("raw-store", "127.0.0.1", port);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (sub, mut el) = rumqttc::AsyncClient::new(o, msgs.len() + 10);
    sub.subscribe("raw/FP-1/orders", rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    // Subscribed before the first message goes.
    loop {
        if let rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)) = el.poll().await.unwrap() {
            break;
        }
    }
    let n = msgs.len();
    let store = tokio::task::spawn_blocking(move || {
        let mut stored = 0;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            while stored < n {
                if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) =
                    el.poll().await.unwrap()
                {
                    let v: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
                    let lines: Vec<(String, i64)> = v["order"]["lines"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|l| {
                            (
                                l["sku"].as_str().unwrap().to_string(),
                                l["qty"].as_i64().unwrap(),
                            )
                        })
                        .collect();
                    raw_store(&mut c, stored, &lines);
                    stored += 1;
                }
            }
        });
    });
    let t = Instant::now();
    for m in msgs {
        publisher
            .publish(
                "raw/FP-1/orders",
                rumqttc::QoS::AtLeastOnce,
                false,
                m.clone(),
            )
            .await
            .unwrap();
    }
    store.await.unwrap();
    t.elapsed()
}

fn burst(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let raw_dir = tempfile::tempdir().unwrap();
    for d in [dir.path(), raw_dir.path()] {
        let store = Store::open(&d.join("store.db"), StoreOptions::default()).unwrap();
        store.import_catalog_blocking(catalog(1000)).unwrap();
        store.close();
    }
    let orders: Vec<NewOrder> = (0..n)
        .map(|i| {
            order(
                &format!("OMS-{i}"),
                &[
                    i % 1000,
                    (i + 1) % 1000,
                    (i + 2) % 1000,
                    (i + 3) % 1000,
                    (i + 4) % 1000,
                ],
            )
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let msgs: Vec<String> = orders
        .iter()
        .enumerate()
        .map(|(i, o)| serde_json::json!({"v": 1, "id": format!("b{i}"), "order": o}).to_string())
        .collect();
    let raw_db = raw_dir.path().join("store.db");
    let (ours, base) = rt.block_on(async {
        let broker = net::Broker::start();
        let config = Config::parse(
            &config_text(dir.path(), Some(&broker.url())),
            Path::new("b.toml"),
        )
        .unwrap();
        let d = Daemon::start(config).await.unwrap();
        let mut o = rumqttc::MqttOptions::new("hq-bench", "127.0.0.1", broker.port);
        o.set_max_packet_size(1 << 20, 1 << 20);
        o.set_inflight(100);
        let (client, mut el) = rumqttc::AsyncClient::new(o, n + 10);
        // The store is online (and subscribed: its SUBSCRIBE goes out before its status).
        let (online_tx, mut online) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            while let Ok(ev) = el.poll().await {
                if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) = ev
                    && serde_json::from_slice::<serde_json::Value>(&p.payload)
                        .is_ok_and(|v| v["online"] == true)
                {
                    let _ = online_tx.try_send(());
                }
            }
        });
        client
            .subscribe("flashpick/v1/FP-1/status", rumqttc::QoS::AtLeastOnce)
            .await
            .unwrap();
        online.recv().await;
        let db = dir.path().join("store.db");
        let count = |db: &Path| -> i64 {
            rusqlite::Connection::open(db)
                .unwrap()
                .query_row("SELECT count(*) FROM \"order\"", [], |r| r.get(0))
                .unwrap()
        };
        let warm = serde_json::json!({"v": 1, "id": "warm", "order": order("WARM", &[0])});
        client
            .publish(
                "flashpick/v1/FP-1/orders",
                rumqttc::QoS::AtLeastOnce,
                false,
                warm.to_string(),
            )
            .await
            .unwrap();
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        while count(&db) < 1 {
            tick.tick().await;
        }
        let t = Instant::now();
        for msg in &msgs {
            client
                .publish(
                    "flashpick/v1/FP-1/orders",
                    rumqttc::QoS::AtLeastOnce,
                    false,
                    msg.clone(),
                )
                .await
                .unwrap();
        }
        while count(&db) < n as i64 + 1 {
            tick.tick().await;
        }
        let took = t.elapsed();
        d.shutdown().await;
        let base = raw_relay(&raw_db, broker.port, &client, &msgs).await;
        (took, base)
    });
    println!(
        "order burst through the HQ relay: {n} orders of 5 lines, published to the broker until all are stored:"
    );
    println!(
        "  flashpick {ours:>9.2?} ({:.0} orders/s); a bare rumqttc subscriber storing the same messages by hand {base:>9.2?}; ratio {:.2}x",
        n as f64 / ours.as_secs_f64(),
        ours.as_secs_f64() / base.as_secs_f64()
    );
    record::figure(
        "order burst via HQ relay, 1,000 x 5 lines",
        record::ms(ours),
        "ms",
        record::ms(base),
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    footprint(if bench { 10 } else { 2 });
    burst(if bench { 1000 } else { 50 });
}
