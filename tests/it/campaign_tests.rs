//! The crash campaign: a scripted shift — orders from the simulator (Meituan and JD, polled) and
//! from HQ (relayed over a real broker), a picker scanning through a pseudo-terminal, stock
//! sync, events to HQ — while the real daemon binary is killed with SIGKILL at random moments.
//! Then: every scan acknowledged to a subscriber is in the store, the ledger invariants hold,
//! the outbox drains, the simulator saw every effect once and HQ every event once (in order per
//! order), and every order can still be finished.
//!
//! `FLASHPICK_CAMPAIGN_KILLS` sets the number of kills (CI: 50; the long mode: 1000).

use crate::hq_tests::{check_exactly_once, hq_rows};
use crate::mqtt::Hq;
use crate::net::Broker;
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, ScanOutcome, Topic};
use flashpick::model::Platform;
use flashpick::sim::{self, SimConfig, SimHandle};
use rumqttc::QoS;
use serialport::TTYPort;
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_flashpick");
/// The water every order asks for, and its barcode.
const SKU: &str = "DR001";
const CODE: &str = "6921168509256";

fn config(dir: &Path, sim: &SimHandle, broker: &str, gun: &Path) -> String {
    format!(
        r#"[store]
id = "CC-1"
state_dir = "{d}"
[api]
socket = "{d}/fp.sock"
[http]
listen = "127.0.0.1:0"
[platforms.meituan]
enabled = true
base_url = "{mt}"
app_id = "sim-meituan"
secret = "sim-meituan-secret"
store_code = "CC-1"
mode = "poll"
poll_interval_secs = 1
max_retry_secs = 1
stock_delay_ms = 50
[platforms.jddj]
enabled = true
base_url = "{jd}"
app_id = "sim-jd"
secret = "sim-jd-secret"
token = "sim-jd-token"
store_code = "CC-1"
mode = "poll"
poll_interval_secs = 1
max_retry_secs = 1
stock_delay_ms = 50
[hq]
enabled = true
broker = "{broker}"
reconnect_min_ms = 50
reconnect_max_ms = 500
[picking]
repeat_window_ms = 0
[[scanners]]
name = "gun-1"
path = "{gun}"
picker = "p1"
"#,
        d = dir.display(),
        mt = sim.meituan_base(),
        jd = sim.jd_base(),
        gun = gun.display(),
    )
}

/// A tiny reproducible random source (xorshift), seeded per run and printed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

struct Shift {
    dir: PathBuf,
    cfg: PathBuf,
    sim: SimHandle,
    hq: Hq,
    gun: TTYPort,
    notify: UnixDatagram,
    notify_path: PathBuf,
    /// OK scans acknowledged to our subscriber, per order.
    acked: HashMap<i64, i64>,
    made: u64,
    scans_sent: u64,
    /// The end of the shift: no new orders.
    closing: bool,
    last_made: Option<std::time::Instant>,
}

impl Shift {
    /// Starts the daemon binary and waits for READY=1.
    fn start(&mut self) -> Running {
        // Held by `Running` at once, so a panic below still kills it.
        let running = Running(
            std::process::Command::new(BIN)
                .args(["--config", self.cfg.to_str().unwrap(), "serve"])
                .env("NOTIFY_SOCKET", &self.notify_path)
                .env("RUST_LOG", "error")
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut buf = [0u8; 512];
        loop {
            let n = self
                .notify
                .recv(&mut buf)
                .expect("the daemon says READY in time");
            if buf[..n].starts_with(b"READY=1") {
                return running;
            }
        }
    }

    /// New orders when few are open: one from each platform, one relayed by HQ.
    async fn more_orders(&mut self) {
        self.made += 1;
        let n = self.made;
        for p in [Platform::Meituan, Platform::Jddj] {
            self.sim
                .sim
                .new_order(p, &[(SKU.to_string(), 2)], false)
                .await
                .unwrap();
        }
        let relayed = serde_json::json!({
            "v": 1, "id": format!("oms-{n}"),
            "order": {
                "platform": "hq", "external_id": format!("OMS-{n}"),
                "placed_at": flashpick::model::Timestamp::now().0,
                "lines": [{"sku": SKU, "qty": 2, "unit_price": 200}]
            }
        });
        self.hq
            .client
            .publish(
                "flashpick/v1/CC-1/orders",
                QoS::AtLeastOnce,
                false,
                relayed.to_string(),
            )
            .await
            .unwrap();
    }

    /// One step of the picker's work; false when there is nothing to do right now.
    async fn step(&mut self, c: &mut Client) -> Result<bool, flashpick::api::client::ClientError> {
        let list = c.request(Request::ListOrders { all: false }).await?;
        let orders = list["orders"].as_array().cloned().unwrap_or_default();
        let state = |o: &serde_json::Value| o["state"].as_str().unwrap_or("").to_string();
        let mine = orders
            .iter()
            .find(|o| {
                o["picker"] == "p1" && matches!(state(o).as_str(), "picking" | "picked" | "packed")
            })
            .cloned();
        let Some(o) = mine else {
            // New orders now and then (a platform polls every second), never piling up.
            if orders.len() < 4
                && !self.closing
                && self
                    .last_made
                    .is_none_or(|t| t.elapsed() > Duration::from_millis(800))
            {
                self.last_made = Some(std::time::Instant::now());
                self.more_orders().await;
            }
            let Some(next) = orders.iter().find(|o| state(o) == "accepted") else {
                // Orders relayed by HQ wait for staff to accept them.
                if let Some(new) = orders.iter().find(|o| state(o) == "new") {
                    let id = new["id"].as_i64().unwrap();
                    soft(c.request(Request::AcceptOrder { order_id: id }).await)?;
                    return Ok(true);
                }
                return Ok(false);
            };
            let id = next["id"].as_i64().unwrap();
            soft(
                c.request(Request::ClaimOrder {
                    order_id: id,
                    picker: "p1".into(),
                })
                .await,
            )?;
            return Ok(true);
        };
        let id = o["id"].as_i64().unwrap();
        match state(&o).as_str() {
            "picking" => {
                let done = o["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|l| l["picked"].as_i64() >= l["qty"].as_i64());
                if done {
                    soft(c.request(Request::CompletePick { order_id: id }).await)?;
                    return Ok(true);
                }
                self.gun.write_all(format!("{CODE}\r").as_bytes()).unwrap();
                self.scans_sent += 1;
                // The scan's result, as every subscriber gets it.
                let result = tokio::time::timeout(Duration::from_secs(3), async {
                    loop {
                        if let Event::ScanResult { reply } = c.next_event().await? {
                            return Ok::<_, flashpick::api::client::ClientError>(reply);
                        }
                    }
                })
                .await;
                if let Ok(reply) = result {
                    let reply = reply?;
                    if reply.result == ScanOutcome::Ok
                        && let Some(view) = &reply.order
                    {
                        *self.acked.entry(view.order.id.0).or_default() += 1;
                    }
                }
                Ok(true)
            }
            "picked" => {
                soft(
                    c.request(Request::Pack {
                        order_id: id,
                        bags: 1,
                    })
                    .await,
                )?;
                Ok(true)
            }
            _ => {
                soft(c.request(Request::HandOver { order_id: id }).await)?;
                Ok(true)
            }
        }
    }

    /// Works until the connection breaks (the daemon was killed) or `budget` runs out.
    async fn work(&mut self, budget: Duration) {
        let Ok(mut c) = Client::connect(&self.dir.join("fp.sock"), "campaign", Some("p1")).await
        else {
            return;
        };
        if c.request(Request::Subscribe {
            topics: vec![Topic::Scans],
        })
        .await
        .is_err()
        {
            return;
        }
        let _ = tokio::time::timeout(budget, async {
            let mut idle = tokio::time::interval(Duration::from_millis(100));
            loop {
                match self.step(&mut c).await {
                    Ok(true) => {}
                    // Waiting for orders to arrive from the platforms and HQ.
                    Ok(false) => {
                        idle.tick().await;
                    }
                    Err(_) => return,
                }
            }
        })
        .await;
    }
}

/// A refusal (someone else got there first: auto-accept, a retried request after a restart) is
/// part of the day; a broken connection is not.
fn soft(
    r: Result<serde_json::Value, flashpick::api::client::ClientError>,
) -> Result<(), flashpick::api::client::ClientError> {
    match r {
        Ok(_) | Err(flashpick::api::client::ClientError::Refused { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The daemon process; killed however the test ends.
struct Running(std::process::Child);

impl Running {
    fn kill(&mut self) {
        self.0.kill().unwrap(); // SIGKILL
        self.0.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The ledger invariants, read from the database file as it is after a kill.
fn invariants_hold(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let inv = flashpick::store::check_invariants(&conn).unwrap();
    assert!(inv.hold(), "{inv:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_campaign() {
    let kills: u64 = std::env::var("FLASHPICK_CAMPAIGN_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash campaign: {kills} kills, seed {seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let sim = sim::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig::default(),
    )
    .await
    .unwrap();
    // The store's catalog is the simulator's: the sample catalog, with stock for the shift.
    {
        let rows = flashpick::store::catalog::parse(
            include_str!("../../assets/catalog-sample.csv").as_bytes(),
            |_| {},
        )
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.on_hand = 100_000;
            r
        })
        .collect::<Vec<_>>();
        let db = dir.join("store.db");
        std::thread::spawn(move || {
            let store = flashpick::store::Store::open(&db, crate::common::options()).unwrap();
            store.import_catalog_blocking(rows).unwrap();
            store.close();
        })
        .join()
        .unwrap();
    }
    let gun = crate::scanner_tests::plug(&dir.join("gun-1"));
    let cfg = dir.join("store.toml");
    std::fs::write(&cfg, config(&dir, &sim, &broker.url(), &dir.join("gun-1"))).unwrap();
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut shift = Shift {
        dir: dir.clone(),
        cfg,
        sim,
        hq,
        gun,
        notify,
        notify_path,
        acked: HashMap::new(),
        made: 0,
        scans_sent: 0,
        closing: false,
        last_made: None,
    };
    for _ in 0..kills {
        let mut child = shift.start();
        // Killed at a random moment of its work: between 0 and 600 ms after READY.
        let budget = Duration::from_millis(rng.below(600));
        shift.work(budget).await;
        child.kill();
        invariants_hold(&dir.join("store.db"));
    }
    // The end of the shift: one more start, every open order finished.
    let mut child = shift.start();
    shift.closing = true;
    let last = std::sync::Mutex::new(String::new());
    let finish = async {
        let mut c = Client::connect(&dir.join("fp.sock"), "campaign", Some("p1"))
            .await
            .unwrap();
        c.request(Request::Subscribe {
            topics: vec![Topic::Scans],
        })
        .await
        .unwrap();
        let mut idle = tokio::time::interval(Duration::from_millis(100));
        loop {
            let open = c.request(Request::ListOrders { all: false }).await.unwrap();
            let open = open["orders"].as_array().map_or(0, Vec::len);
            // Every order the platforms and HQ sent is in, and none is left open.
            let made = shift.made * 3;
            let total = shift.sim.sim.state.lock().unwrap().orders.len() as u64;
            let in_store: i64 = rusqlite::Connection::open(dir.join("store.db"))
                .unwrap()
                .query_row("SELECT count(*) FROM \"order\"", [], |r| r.get(0))
                .unwrap();
            let in_store = in_store as u64;
            if open == 0 && in_store == made && total == shift.made * 2 {
                return;
            }
            *last.lock().unwrap() = format!(
                "open {open}, in the store {in_store} of {made} made, at the simulator {total}"
            );
            if open > 0 {
                if !shift.step(&mut c).await.unwrap() {
                    idle.tick().await;
                }
            } else {
                idle.tick().await;
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(120), finish)
        .await
        .is_err()
    {
        panic!("not every order finished: {}", last.lock().unwrap());
    }
    let db = dir.join("store.db");
    // The outbox drains: nothing pending, nothing parked.
    crate::common::within(60, "the outbox drained", async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            let left: i64 = rusqlite::Connection::open(&db)
                .unwrap()
                .query_row(
                    "SELECT count(*) FROM outbox WHERE state != 'done'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            if left == 0 {
                return;
            }
            tick.tick().await;
        }
    })
    .await;
    let total_hq = hq_rows(&db).len();
    shift
        .hq
        .until(60, "every event at HQ", |h| h.distinct().len() >= total_hq)
        .await;
    child.kill();

    // Every acknowledged scan is in the store (more may be: committed, then killed before the
    // event went out), and the ledger holds.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut acked_total = 0;
    for (order, n) in &shift.acked {
        let picked: i64 = conn
            .query_row(
                "SELECT COALESCE(SUM(picked), 0) FROM order_line WHERE order_id = ?1",
                [order],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            picked >= *n,
            "order {order}: {n} scans acknowledged, {picked} in the store"
        );
        acked_total += n;
    }
    let inv = flashpick::store::check_invariants(&conn).unwrap();
    assert!(inv.hold(), "{inv:?}");
    // Every order handed over, each unit picked once.
    let (handed, bad): (i64, i64) = conn
        .query_row(
            "SELECT SUM(state = 'handed_over'), SUM(state != 'handed_over') FROM \"order\"",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(bad, 0, "orders not finished");
    let over: i64 = conn
        .query_row(
            "SELECT count(*) FROM order_line WHERE picked != qty",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(over, 0, "lines picked more or less than ordered");
    // The platforms saw each effect once per order.
    let st = shift.sim.sim.state.lock().unwrap();
    let mut effects: HashMap<(String, String), u32> = HashMap::new();
    for e in st.effects.iter().filter(|e| e.action != "stock") {
        *effects
            .entry((e.order.clone().unwrap_or_default(), e.action.clone()))
            .or_default() += 1;
    }
    for ((order, action), n) in &effects {
        assert_eq!(*n, 1, "{action} on {order} took effect {n} times");
    }
    let confirms = effects.keys().filter(|(_, a)| a == "confirm").count() as u64;
    assert_eq!(
        confirms,
        shift.made * 2,
        "every platform order confirmed once"
    );
    drop(st);
    // HQ saw every event once in effect, in order per order.
    check_exactly_once(&shift.hq, &hq_rows(&db));
    println!(
        "crash campaign done: {kills} kills, {} orders ({handed} handed over), {} scans sent, {acked_total} acknowledged scans checked, {} platform effects checked, {total_hq} HQ events checked",
        shift.made * 3,
        shift.scans_sent,
        effects.len()
    );
}
