//! Scan latency: from the last byte written to a scanner's pseudo-terminal until the pick is
//! committed and its `scan_result` event has reached a subscribed client — beside a bare rusqlite
//! transaction doing the same writes, in the same run. Goal: ratio of medians ≤ 1.5×, p99 < 5 ms.
//!
//! Run: `cargo bench --bench scan` (FLASHPICK_BENCH_SCANS to change the count, default 1000).

use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::daemon::Daemon;
use flashpick::model::Timestamp;
use flashpick::store::schema;
use rusqlite::{Connection, TransactionBehavior, params};
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::time::{Duration, Instant};

#[path = "support/record.rs"]
mod record;
mod support;

use support::{CODE, percentile, seed};

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
    let config = support::config(&store_dir, &device);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ours = rt.block_on(async {
        let d = Daemon::start(config).await.unwrap();
        let mut c = Client::connect(d.socket_path(), "bench", Some("p1"))
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
    let (request, writer) = breakdown(dir.path(), &rt, scans);
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
    println!(
        "  where the time goes (p50): the writer alone {:>9.3?}, a RecordScan request over the socket {:>9.3?}",
        writer, request
    );
    record::figure("scan latency p50", record::ms(p50), "ms", record::ms(b50));
    record::figure("scan latency p99", record::ms(p99), "ms", record::ms(b99));
}

/// The median of the same scan at two inner points of the path: a `RecordScan` request over the
/// socket (no pty, no reader thread) and the store's writer alone (no daemon at all).
fn breakdown(
    dir: &std::path::Path,
    rt: &tokio::runtime::Runtime,
    scans: usize,
) -> (Duration, Duration) {
    let (sock_dir, writer_dir) = (dir.join("sock"), dir.join("writer"));
    std::fs::create_dir_all(&sock_dir).unwrap();
    std::fs::create_dir_all(&writer_dir).unwrap();
    let sock_order = seed(&sock_dir, 1_000_000);
    let writer_order = seed(&writer_dir, 1_000_000);
    let config = support::config(&sock_dir, "/nonexistent/scanner");
    let out = rt.block_on(async {
        let d = Daemon::start(config).await.unwrap();
        let mut c = Client::connect(d.socket_path(), "bench", Some("p1"))
            .await
            .unwrap();
        let mut req = Vec::with_capacity(scans);
        for _ in 0..scans {
            let t = Instant::now();
            let r = c
                .request(Request::RecordScan {
                    order_id: sock_order,
                    code: CODE.into(),
                    scanner: None,
                })
                .await
                .unwrap();
            req.push(t.elapsed());
            assert_eq!(r["result"], "ok", "{r}");
        }
        d.shutdown().await;
        let store = flashpick::store::Store::open(
            &writer_dir.join("store.db"),
            flashpick::store::StoreOptions::default(),
        )
        .unwrap();
        let rules = flashpick::model::barcode::DecodeRules::default();
        let mut w = Vec::with_capacity(scans);
        for _ in 0..scans {
            let t = Instant::now();
            let done = store
                .scan(flashpick::store::ScanRequest {
                    order: flashpick::model::OrderId(writer_order),
                    code: CODE.into(),
                    decoded: flashpick::model::barcode::decode(CODE, &rules),
                    scanner: None,
                    actor: "p1".into(),
                    tolerance_pct: 5,
                    slot: None,
                })
                .await
                .unwrap();
            w.push(t.elapsed());
            assert_eq!(
                done.outcome,
                flashpick::model::ScanOutcome::Ok,
                "{}",
                done.message
            );
        }
        (store, percentile(&mut req, 0.5), percentile(&mut w, 0.5))
    });
    let (store, request, writer) = out;
    store.close();
    (request, writer)
}
