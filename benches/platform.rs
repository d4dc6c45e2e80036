//! Stock sync to the platforms, against the simulator over loopback:
//! 1. latency from a pick scan to the simulator holding the sku's new level (p50, p99; goal
//!    p99 ≤ 500 ms with coalescing on);
//! 2. how many platform calls 1,000 stock changes over 200 skus cost, with coalescing and
//!    batches of 50.
//!
//! Run: `cargo bench --bench platform`.

#[path = "support/record.rs"]
mod record;

use flashpick::api::Request;
use flashpick::api::client::Client;
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::model::{Fen, Platform, SkuCode, Unit};
use flashpick::sim::{self, SimConfig};
use flashpick::store::{CatalogRow, Store, StoreOptions};
use std::path::Path;
use std::time::{Duration, Instant};

const SKUS: usize = 200;

fn seed(dir: &Path) {
    let store = Store::open(&dir.join("store.db"), StoreOptions::default()).unwrap();
    let rows = (0..SKUS)
        .map(|i| CatalogRow {
            line: i as u64 + 2,
            sku: SkuCode(format!("B{i:03}")),
            name: format!("商品{i}"),
            name_en: None,
            spec: None,
            unit: Unit::Piece,
            location: format!("A-{i:03}"),
            walk_seq: i as i64,
            price: Some(Fen(100)),
            safety_stock: None,
            on_hand: 100_000,
            barcodes: vec![format!("B{i:03}")],
            plu: None,
            sale_unit_g: None,
        })
        .collect();
    store.import_catalog_blocking(rows).unwrap();
    store.close();
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let scans = if bench { 200 } else { 20 };
    let changes = if bench { 1000 } else { 100 };
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = SimConfig {
            meituan_push_url: Some("http://x/meituan".into()),
            ..SimConfig::default()
        };
        let sim = sim::start(listener, config).await.unwrap();
        let text = format!(
            "[store]\nid = \"BENCH\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\n[webhooks]\nlisten = \"127.0.0.1:0\"\n\
             [platforms.meituan]\nenabled = true\nbase_url = \"{mt}\"\napp_id = \"sim-meituan\"\n\
             secret = \"sim-meituan-secret\"\nstore_code = \"BENCH\"\npush_url = \"http://x/meituan\"\n\
             stock_batch = 50\n",
            d = dir.path().display(),
            mt = sim.meituan_base()
        );
        let config = Config::parse(&text, Path::new("bench.toml")).unwrap();
        let d = Daemon::start(config).await.unwrap();
        sim.sim.set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
        let mut c = Client::connect(d.socket_path(), "bench", Some("p1")).await.unwrap();
        c.request(Request::Subscribe { topics: vec![flashpick::api::Topic::Orders] }).await.unwrap();
        // Let the start-up full sync finish first.
        sim.sim
            .wait_for("the start-up sync", 30, |st| (st.levels.len() >= SKUS).then_some(()))
            .await;

        // 1. Pick scan → level at the platform.
        let ext = sim.sim.new_order(Platform::Meituan, &[("B000".into(), 100_000)], false).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let id = loop {
            let list = c.request(Request::ListOrders { all: true }).await.unwrap();
            if let Some(o) = list["orders"].as_array().unwrap().iter().find(|o| o["external_id"] == ext.as_str()) {
                break o["id"].as_i64().unwrap();
            }
            // Wait for the next order event, not a busy loop.
            tokio::time::timeout_at(deadline, c.next_event()).await.expect("the order arrives").unwrap();
        };
        c.request(Request::ClaimOrder { order_id: id, picker: "p1".into(), take_over: false }).await.unwrap();
        let mut lat = Vec::with_capacity(scans);
        for n in 1..=scans {
            // On hand falls by one per pick; reserved by one too, so the level stays put:
            // wait for the level that counts this pick — on_hand 100000 − n, reserved 100000 − n.
            let t = Instant::now();
            let r = c.request(Request::RecordScan { order_id: id, code: "B000".into(), scanner: None }).await.unwrap();
            assert_eq!(r["result"], "ok");
            let calls_before = n;
            sim.sim
                .wait_for("the level after the pick", 10, |st| {
                    let sent = st.levels.get("meituan:B000").map_or(0, Vec::len);
                    (sent > calls_before).then_some(())
                })
                .await;
            lat.push(t.elapsed());
        }
        let (p50, p99) = (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99));

        // 2. 1,000 changes over 200 skus, as fast as the API takes them.
        let (calls0, levels0) = {
            let st = sim.sim.state.lock().unwrap();
            (st.stock_calls, st.levels.values().map(Vec::len).sum::<usize>())
        };
        let t = Instant::now();
        for n in 0..changes {
            let sku = format!("B{:03}", (n * 7919) % SKUS);
            c.request(Request::StockReceive { code: sku, qty: 1 }).await.unwrap();
        }
        let api_time = t.elapsed();
        // Every sku's final level must arrive: on hand 100000 + receipts (B000 also lost its picks).
        let mut want = vec![100_000i64; SKUS];
        want[0] = 100_000;
        for n in 0..changes {
            want[(n * 7919) % SKUS] += 1;
        }
        sim.sim
            .wait_for("every final level", 60, |st| {
                (1..SKUS)
                    .all(|i| st.levels.get(&format!("meituan:B{i:03}")).and_then(|v| v.last().copied()) == Some(want[i]))
                    .then_some(())
            })
            .await;
        let settled = t.elapsed();
        let (calls1, levels1) = {
            let st = sim.sim.state.lock().unwrap();
            (st.stock_calls, st.levels.values().map(Vec::len).sum::<usize>())
        };
        println!("stock sync to the platform simulator (Meituan, loopback HTTP, real signatures):");
        println!("  pick scan → new level held by the platform, {scans} scans: p50 {p50:>9.3?}  p99 {p99:>9.3?}  (goal p99 <= 500 ms)");
        println!(
            "  {changes} stock changes over {SKUS} skus: {} platform calls carrying {} levels (batches of 50, newest level per sku wins); \
             all final levels held {settled:.2?} after the first change (API took {api_time:.2?})",
            calls1 - calls0,
            levels1 - levels0
        );
        // Baseline: the coalescing window every level waits on purpose (stock_delay_ms).
        record::figure("stock-sync freshness p99 (baseline: the 200 ms window)", record::ms(p99), "ms", 200.0);
        d.shutdown().await;
        sim.stop().await;
    });
}
