//! Scan latency: from the last byte written to a scanner's pseudo-terminal until the pick is
//! committed and its `scan_result` event has reached a subscribed client — beside a bare rusqlite
//! transaction doing the same writes, in the same run. Goal: ratio of medians ≤ 1.5×, p99 < 5 ms.
//!
//! Run: `cargo bench --bench scan` (FLASHPICK_BENCH_SCANS to change the count, default 1000).

use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::model::{Fen, OrderEvent, Platform, SkuCode, Timestamp, Unit};
use flashpick::store::{CatalogRow, Ingested, NewLine, NewOrder, Store, StoreOptions, schema};
use rusqlite::{Connection, TransactionBehavior, params};
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const CODE: &str = "6901234567892";

fn seed(dir: &Path, qty: i64) -> i64 {
    let store = Store::open(&dir.join("store.db"), StoreOptions::default()).unwrap();
    let row = CatalogRow {
        line: 2,
        sku: SkuCode::new("W550"),
        name: "农夫山泉 550ml".into(),
        name_en: None,
        spec: None,
        unit: Unit::Piece,
        location: "A-01".into(),
        walk_seq: 1,
        price: Some(Fen(200)),
        safety_stock: None,
        on_hand: 10_000_000,
        barcodes: vec![CODE.into()],
        plu: None,
    };
    store.import_catalog_blocking(vec![row]).unwrap();
    let new = NewOrder {
        platform: Platform::Meituan,
        external_id: "MT-BENCH".into(),
        day_seq: Some(1),
        placed_at: Timestamp::now(),
        promised_at: None,
        platform_deadline: None,
        pickup_code: None,
        remark: None,
        unknown_items: Vec::new(),
        lines: vec![NewLine {
            sku: SkuCode::new("W550"),
            name: None,
            qty,
            unit_price: Fen(200),
            platform_item: None,
        }],
    };
    let Ingested::New(o) = store.ingest_blocking("bench", "m1", new).unwrap() else {
        panic!("duplicate")
    };
    store
        .apply_blocking(o.id, OrderEvent::Accept, "p1")
        .unwrap();
    store
        .apply_blocking(
            o.id,
            OrderEvent::Claim {
                picker: "p1".into(),
            },
            "p1",
        )
        .unwrap();
    store.close();
    o.id.0
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The same rows one scan writes (order, line, stock, ledger, history, pick_scan, a stock level
/// per selling platform), by hand, in one immediate transaction with the store's pragmas.
fn raw_scan(conn: &mut Connection, order: i64, n: i64) {
    let now = Timestamp::now().0;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    let ev = format!("raw-{n}");
    tx.prepare_cached("UPDATE \"order\" SET updated_at = ?2, version = version + 1 WHERE id = ?1")
        .unwrap()
        .execute(params![order, now])
        .unwrap();
    tx.prepare_cached(
        "UPDATE order_line SET picked = picked + 1 WHERE order_id = ?1 AND line_no = 1",
    )
    .unwrap()
    .execute(params![order])
    .unwrap();
    tx.prepare_cached(
        "UPDATE stock SET on_hand = on_hand - 1, reserved = reserved - 1 WHERE sku = 'W550'",
    )
    .unwrap()
    .execute([])
    .unwrap();
    tx.prepare_cached("INSERT INTO stock_move (sku, delta, kind, actor, order_id, event_id, at) VALUES ('W550', -1, 'pick', 'p1', ?1, ?2, ?3)")
        .unwrap()
        .execute(params![order, ev, now])
        .unwrap();
    tx.prepare_cached("INSERT INTO order_transition (order_id, event_id, from_state, to_state, event, actor, at) VALUES (?1, ?2, 'picking', 'picking', '{}', 'p1', ?3)")
        .unwrap()
        .execute(params![order, ev, now])
        .unwrap();
    tx.prepare_cached("INSERT INTO pick_scan (order_id, line_no, code, result, qty, actor, scanner, at) VALUES (?1, 1, ?2, 'ok', 1, 'p1', 'gun', ?3)")
        .unwrap()
        .execute(params![order, CODE, now])
        .unwrap();
    for p in ["meituan", "jddj"] {
        tx.prepare_cached(
            "INSERT INTO outbox (event_id, destination, kind, coalesce_key, payload, next_attempt_at, created_at)
             VALUES (?1, ?2, 'stock_level', ?3, '{}', ?4, ?4)
             ON CONFLICT (coalesce_key) WHERE state = 'pending' AND coalesce_key IS NOT NULL
             DO UPDATE SET event_id = excluded.event_id, payload = excluded.payload",
        )
        .unwrap()
        .execute(params![format!("{ev}-{p}"), p, format!("stock:{p}:W550"), now])
        .unwrap();
    }
    tx.commit().unwrap();
}

fn main() {
    let scans: usize = std::env::var("FLASHPICK_BENCH_SCANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            1000
        } else {
            50
        });
    let dir = tempfile::tempdir().unwrap();
    let (store_dir, raw_dir) = (dir.path().join("store"), dir.path().join("raw"));
    std::fs::create_dir_all(&store_dir).unwrap();
    std::fs::create_dir_all(&raw_dir).unwrap();
    let order = seed(&store_dir, 1_000_000);
    let raw_order = seed(&raw_dir, 1_000_000);

    let (mut master, slave) = TTYPort::pair().unwrap();
    let device = slave.name().unwrap();
    drop(slave);
    let text = format!(
        "[store]\nid = \"BENCH\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n\
         [http]\nlisten = \"127.0.0.1:0\"\n[platforms.meituan]\nenabled = true\napp_id = \"mt-app\"\nsecret = \"mt-secret\"\nstore_code = \"S1\"\nmode = \"poll\"\nbase_url = \"http://127.0.0.1:9/api/v1\"\n\
         [platforms.jddj]\nenabled = true\napp_id = \"jd-app\"\nsecret = \"jd-secret\"\ntoken = \"jd-token\"\nstore_code = \"S1\"\nmode = \"poll\"\nbase_url = \"http://127.0.0.1:9/djapi\"\n[picking]\nrepeat_window_ms = 0\n\
         [[scanners]]\nname = \"gun\"\npath = \"{device}\"\npicker = \"p1\"\n",
        d = store_dir.display()
    );
    let config = Config::parse(&text, Path::new("bench.toml")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ours = rt.block_on(async {
        let d = Daemon::start(config).await.unwrap();
        let mut c = Client::connect(d.socket_path(), "bench", None)
            .await
            .unwrap();
        c.request(Request::Subscribe {
            topics: vec![Topic::Scans],
        })
        .await
        .unwrap();
        // Wait until the reader has the port open.
        loop {
            let s = c.request(Request::Status).await.unwrap();
            if s["scanners"][0]["connected"] == true {
                break;
            }
            tokio::task::yield_now().await;
        }
        let mut samples = Vec::with_capacity(scans);
        let line = format!("{CODE}\r");
        for _ in 0..scans {
            master.write_all(line.as_bytes()).unwrap();
            master.flush().unwrap();
            let t = Instant::now();
            loop {
                if let Event::ScanResult { reply } = c.next_event().await.unwrap() {
                    assert_eq!(
                        reply.result,
                        flashpick::api::ScanOutcome::Ok,
                        "{}",
                        reply.message
                    );
                    break;
                }
            }
            samples.push(t.elapsed());
        }
        d.shutdown().await;
        samples
    });
    let _ = order;
    let mut raw = Connection::open(raw_dir.join("store.db")).unwrap();
    schema::configure(&raw).unwrap();
    let mut base: Vec<Duration> = (0..scans as i64)
        .map(|n| {
            let t = Instant::now();
            raw_scan(&mut raw, raw_order, n);
            t.elapsed()
        })
        .collect();
    let (p50, p99) = (percentile(&mut ours, 0.5), percentile(&mut ours, 0.99));
    let (b50, b99) = (percentile(&mut base, 0.5), percentile(&mut base, 0.99));
    println!(
        "scan latency, {scans} scans: last byte on the pty → pick committed → scan_result event at a subscriber"
    );
    println!(
        "  flashpick end to end            p50 {p50:>9.3?}  p99 {p99:>9.3?}  (goal p99 < 5 ms)"
    );
    println!("  bare rusqlite, same writes      p50 {b50:>9.3?}  p99 {b99:>9.3?}");
    println!(
        "  ratio of medians: {:.2}x (goal <= 1.5x)",
        p50.as_secs_f64() / b50.as_secs_f64()
    );
}
