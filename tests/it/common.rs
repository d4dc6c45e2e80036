//! Fixtures shared by the integration tests.
#![allow(dead_code)]

use flashpick::model::{
    Fen, Order, OrderId, OrderLine, OrderState, Platform, SkuCode, Timestamp, Unit,
};
use flashpick::store::{CatalogRow, NewLine, NewOrder, Store, StoreOptions};
use std::path::Path;

/// A catalog row with the given stock.
pub fn row(line: u64, sku: &str, name: &str, barcode: &str, on_hand: i64) -> CatalogRow {
    CatalogRow {
        line,
        sku: SkuCode::new(sku),
        name: name.into(),
        name_en: None,
        spec: None,
        unit: Unit::Piece,
        location: format!("A-{line:02}"),
        walk_seq: line as i64,
        price: Some(Fen(350)),
        safety_stock: None,
        on_hand,
        barcodes: vec![barcode.into()],
        plu: None,
        sale_unit_g: None,
    }
}

/// The small shop every store test starts from: water, milk, bread.
pub fn small_catalog() -> Vec<CatalogRow> {
    vec![
        row(2, "W550", "农夫山泉 550ml", "6901234567892", 20),
        row(3, "MILK1L", "光明鲜牛奶 1L", "4006381333931", 5),
        row(4, "BREAD", "桃李面包", "96385074", 2),
    ]
}

/// Options with both platforms selling, no safety stock, HQ events on.
pub fn options() -> StoreOptions {
    StoreOptions {
        hq_events: true,
        ..StoreOptions::default()
    }
}

/// A store in `dir` with the small catalog imported.
pub fn seeded_store(dir: &Path) -> Store {
    let store = Store::open(&dir.join("store.db"), options()).expect("open store");
    store
        .import_catalog_blocking(small_catalog())
        .expect("import");
    store
}

/// A Meituan order for the given (sku, qty) lines.
pub fn new_order(external_id: &str, lines: &[(&str, i64)]) -> NewOrder {
    NewOrder {
        platform: Platform::Meituan,
        external_id: external_id.into(),
        day_seq: None,
        placed_at: Timestamp::now(),
        promised_at: Some(Timestamp::now().plus_secs(1800)),
        platform_deadline: None,
        pickup_code: None,
        delivery: None,
        remark: None,
        unknown_items: Vec::new(),
        lines: lines
            .iter()
            .map(|(sku, qty)| NewLine {
                sku: SkuCode::new(*sku),
                name: None,
                qty: *qty,
                unit_price: Fen(350),
                platform_item: None,
                merchant_code: None,
                unit_g: None,
            })
            .collect(),
    }
}

/// A pure in-memory order for model tests.
pub fn model_order(state: OrderState, lines: &[(&str, i64, i64, i64)]) -> Order {
    Order {
        id: OrderId(1),
        platform: Platform::Meituan,
        external_id: "MT1".into(),
        day_seq: 23,
        state,
        picker: (state == OrderState::Picking).then(|| "p1".to_string()),
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, (sku, qty, picked, short))| OrderLine {
                line_no: i as u32 + 1,
                sku: SkuCode::new(*sku),
                name: sku.to_string(),
                qty: *qty,
                picked: *picked,
                short: *short,
                short_reason: None,
                unit_price: Fen(100),
                weighed_g: None,
                put_back: 0,
            })
            .collect(),
        return_pending: false,
        bags: None,
        cancel_reason: None,
        placed_at: Timestamp(0),
        pick_deadline: Timestamp(600_000),
        pickup_code: None,
        delivery: None,
        remark: None,
        unknown_items: Vec::new(),
        rider: None,
        reminded_at: None,
        batch: None,
    }
}

/// Waits for `cond` with a deadline, polling an event source rather than sleeping blindly.
pub async fn within<T>(secs: u64, what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {secs}s waiting for {what}"))
}

/// A config for a daemon living entirely in `dir`, metrics on a free loopback port.
pub fn daemon_config(dir: &Path) -> flashpick::config::Config {
    let text = format!(
        r#"
[store]
id = "T-0001"
name = "测试店"
state_dir = "{dir}"
[api]
socket = "{dir}/fp.sock"
[http]
listen = "127.0.0.1:0"
[barcodes]
order_prefixes = ["ORD"]
[platforms.meituan]
enabled = true
app_id = "mt-app"
secret = "mt-secret"
store_code = "S1"
mode = "poll"
base_url = "http://127.0.0.1:9/api/v1"
[platforms.jddj]
enabled = true
app_id = "jd-app"
secret = "jd-secret"
token = "jd-token"
store_code = "S1"
mode = "poll"
base_url = "http://127.0.0.1:9/djapi"
[hq]
enabled = true
broker = "mqtt://127.0.0.1:9"
"#,
        dir = dir.display()
    );
    flashpick::config::Config::parse(&text, Path::new("test.toml")).expect("test config")
}

/// Imports the small catalog and takes in Meituan orders, before a daemon opens the same file.
/// Runs on its own thread, so async tests may call it (the store's blocking calls refuse to run
/// on a runtime thread).
pub fn seed_db(dir: &Path, orders: &[(&str, &[(&str, i64)])]) -> Vec<OrderId> {
    std::thread::scope(|s| {
        s.spawn(|| seed_db_blocking(dir, orders))
            .join()
            .expect("seed")
    })
}

fn seed_db_blocking(dir: &Path, orders: &[(&str, &[(&str, i64)])]) -> Vec<OrderId> {
    let store = seeded_store(dir);
    let ids = orders
        .iter()
        .map(|(ext, lines)| {
            match store
                .ingest_blocking("meituan", ext, new_order(ext, lines))
                .expect("ingest")
            {
                flashpick::store::Ingested::New(o) => o.id,
                d => panic!("{d:?}"),
            }
        })
        .collect();
    store.close();
    ids
}

/// GET over plain HTTP/1.0 on loopback: (status line, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// Posts to one of the simulator's control endpoints (`/sim/refund`, `/sim/rider`, …); the push
/// it makes has been answered by the store when this returns.
pub async fn sim_post(sim: &flashpick::sim::SimHandle, path: &str, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}{path}", sim.addr))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{path}: {}",
        r.text().await.unwrap()
    );
}

/// An order's state as the socket answers it.
pub async fn order_state(c: &mut flashpick::api::client::Client, id: i64) -> String {
    let o = c
        .request(flashpick::api::Request::GetOrder { order_id: id })
        .await
        .unwrap();
    o["order"]["state"].as_str().unwrap().to_string()
}

/// Waits (on the client's events, with a deadline) until the order is in state `want`.
pub async fn wait_state(c: &mut flashpick::api::client::Client, id: i64, want: &str) {
    within(10, &format!("order {id} {want}"), async {
        while order_state(c, id).await != want {
            c.next_event().await.unwrap();
        }
    })
    .await;
}

/// `p1` claims the order, scans one W550, completes and packs it in one bag.
pub async fn pick_one_w550_and_pack(c: &mut flashpick::api::client::Client, id: i64) {
    use flashpick::api::Request;
    c.request(Request::ClaimOrder {
        order_id: id,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    c.request(Request::RecordScan {
        order_id: id,
        code: "6901234567892".into(),
        scanner: None,
    })
    .await
    .unwrap();
    c.request(Request::CompletePick { order_id: id })
        .await
        .unwrap();
    c.request(Request::Pack {
        order_id: id,
        bags: 1,
    })
    .await
    .unwrap();
}
