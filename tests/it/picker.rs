//! The shift the campaigns run: orders placed at the simulator (Meituan and JD, polled by the
//! store) and relayed by HQ over the broker, and a picker bot that takes each order from claim
//! to hand-over through the socket, scanning with a gun on a pty or through the API. It counts
//! every scan acknowledged to it, so a campaign can check each one is in the store.

use crate::mqtt::Hq;
use flashpick::api::client::{Client, ClientError};
use flashpick::api::{Event, Request, ScanOutcome, ScanReply};
use flashpick::model::Platform;
use flashpick::sim::SimHandle;
use rumqttc::QoS;
use serialport::TTYPort;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// The water every order asks for, and its barcode.
pub const SKU: &str = "DR001";
pub const CODE: &str = "6921168509256";
/// The store the campaigns run.
pub const STORE: &str = "CC-1";

/// A tiny reproducible random source (xorshift), seeded per run and printed. Every random
/// choice of a campaign (faults, their lengths, kill delays, config pushes) comes from it; the
/// orders and the picker's scans are the same sequence every run. So `FLASHPICK_SEED=<printed
/// seed>` replays a run's choices exactly (the moment a kill lands inside the daemon's work
/// still depends on the machine's timing).
pub struct Rng(pub u64);

impl Rng {
    /// Seeded from `FLASHPICK_SEED` when set, else from the clock (never zero); the caller
    /// prints the seed.
    pub fn from_env_or_clock() -> Rng {
        if let Ok(text) = std::env::var("FLASHPICK_SEED") {
            let seed: u64 = text
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("FLASHPICK_SEED={text} is not a number"));
            return Rng(seed | 1);
        }
        Rng(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1)
    }

    /// 0 ≤ x < n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// A duration between `lo` and `hi` milliseconds.
    pub fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi.saturating_sub(lo) + 1))
    }
}

/// Where orders come from.
pub struct Feed {
    pub sim: SimHandle,
    pub hq: Hq,
    /// Rounds placed: each is one order per platform and one from HQ.
    pub made: u64,
    /// The end of the shift: no new orders.
    pub closing: bool,
    /// The rest of an order's life at the platforms too: riders, reminders, refund and cancel
    /// requests (withdrawn, or rejected by the manager: they change no order) pushed around the
    /// orders (a store taking pushes).
    pub after_life: bool,
    last: Option<Instant>,
}

impl Feed {
    pub fn new(sim: SimHandle, hq: Hq) -> Feed {
        Feed {
            sim,
            hq,
            made: 0,
            closing: false,
            after_life: false,
            last: None,
        }
    }

    /// Waits for the store online at HQ: HQ's orders go to the store's session on the broker,
    /// which exists from then on (before it, the broker has nobody to keep them for).
    pub async fn store_online(&self) {
        self.hq
            .until(20, "the store online", |h| {
                h.last(&format!("{STORE}/status"))
                    .is_some_and(|s| s["online"] == true)
            })
            .await;
    }

    /// Orders placed so far, across the three sources.
    pub fn orders(&self) -> u64 {
        self.made * 3
    }

    /// One more round when few orders are open (a platform is polled every second, so never
    /// more than one round in 800 ms), and none once the shift is closing.
    async fn top_up(&mut self, open: usize) {
        if open >= 4
            || self.closing
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(800))
        {
            return;
        }
        self.last = Some(Instant::now());
        self.made += 1;
        let n = self.made;
        // The round is placed by a task of its own: a step cut short (the campaign's budget
        // runs out while a push waits on a killed store) must not leave a round half placed.
        let (sim, addr) = (self.sim.sim.clone(), self.sim.addr);
        let (client, after) = (self.hq.client.clone(), self.after_life);
        tokio::spawn(async move {
            for p in [Platform::Meituan, Platform::Jddj] {
                let id = sim
                    .new_order(p, &[(SKU.to_string(), 2)], false)
                    .await
                    .unwrap();
                if after {
                    after_life(addr, p, id, n);
                }
            }
            let relayed = serde_json::json!({
                "v": 1, "id": format!("oms-{n}"),
                "order": {
                    "platform": "hq", "external_id": format!("OMS-{n}"),
                    "placed_at": flashpick::model::Timestamp::now().0,
                    "lines": [{"sku": SKU, "qty": 2, "unit_price": 200}]
                }
            });
            client
                .publish(
                    format!("flashpick/v1/{STORE}/orders"),
                    QoS::AtLeastOnce,
                    false,
                    relayed.to_string(),
                )
                .await
                .unwrap();
        });
    }
}

/// Pushes around one order, in the background (the lines may be down: a push lost is lost, as
/// at the platforms): a rider assigned on every order; on every other round a Meituan order is
/// chased and gets a refund request, which the customer withdraws on every fourth round and the
/// manager rejects otherwise; on every third round the customer asks to cancel the JD order, and
/// the manager rejects that too.
fn after_life(sim: std::net::SocketAddr, platform: Platform, order: String, round: u64) {
    let base = format!("http://{sim}");
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let post = |path: &str, body: serde_json::Value| {
            http.post(format!("{base}{path}")).json(&body).send()
        };
        let name = if platform == Platform::Meituan {
            "meituan"
        } else {
            "jddj"
        };
        let _ = post(
            "/sim/rider",
            serde_json::json!({"platform": name, "order_id": order, "status": "assigned", "name": "骑手"}),
        )
        .await;
        if platform == Platform::Meituan && round.is_multiple_of(2) {
            let _ = post("/sim/remind", serde_json::json!({"order_id": order})).await;
            let kinds: &[&str] = if round.is_multiple_of(4) {
                &["apply", "cancelRefund"]
            } else {
                &["apply"]
            };
            for kind in kinds {
                let _ = post(
                    "/sim/refund",
                    serde_json::json!({"order_id": order, "notify_type": kind, "refund_id": format!("R{round}")}),
                )
                .await;
            }
        }
        if platform == Platform::Jddj && round.is_multiple_of(3) {
            let _ = post(
                "/sim/cancel_request",
                serde_json::json!({"order_id": order}),
            )
            .await;
        }
    });
}

/// Pushes of `message` the store answered, at the simulator.
pub fn answered(sim: &SimHandle, message: &str) -> usize {
    sim.sim
        .state
        .lock()
        .unwrap()
        .pushes
        .iter()
        .filter(|(_, m, _, ok)| m == message && *ok)
        .count()
}

/// How the picker scans.
pub enum Scan {
    /// A gun on a pseudo-terminal; the result comes back as an event to a subscriber of scans.
    Gun(TTYPort),
    /// The socket's `record_scan`; the result is the reply.
    Api,
}

/// The picker `p1` at work.
pub struct Picker {
    pub scan: Scan,
    /// OK scans acknowledged, per order.
    pub acked: HashMap<i64, i64>,
    pub scans_sent: u64,
    /// Customers' requests the manager decided (asked; a refusal counts too).
    pub decisions: u64,
}

impl Picker {
    pub fn new(scan: Scan) -> Picker {
        Picker {
            scan,
            acked: HashMap::new(),
            scans_sent: 0,
            decisions: 0,
        }
    }

    /// Acknowledged scans in all.
    pub fn acked_total(&self) -> i64 {
        self.acked.values().sum()
    }

    /// One step of the picker's work; false when there is nothing to do right now.
    pub async fn step(&mut self, c: &mut Client, feed: &mut Feed) -> Result<bool, ClientError> {
        if self.decide(c).await? {
            return Ok(true);
        }
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
            feed.top_up(orders.len()).await;
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
                    take_over: false,
                })
                .await,
            )?;
            return Ok(true);
        };
        let id = o["id"].as_i64().unwrap();
        let request = match state(&o).as_str() {
            "picking" => {
                let n = |l: &serde_json::Value, k: &str| l[k].as_i64().unwrap_or(0);
                let lines = o["lines"].as_array().unwrap();
                let done = lines
                    .iter()
                    .all(|l| n(l, "picked") + n(l, "short") >= n(l, "qty"));
                // Every fourth order, the second unit turns out damaged: a short pick, which
                // the platform refunds (Meituan) or adjusts (JD) exactly once.
                let first = &lines[0];
                if !done && id % 4 == 0 && n(first, "picked") == 1 && n(first, "short") == 0 {
                    soft(
                        c.request(Request::MarkShort {
                            order_id: id,
                            line_no: n(first, "line_no") as u32,
                            qty: 1,
                            reason: "damaged".into(),
                        })
                        .await,
                    )?;
                    return Ok(true);
                }
                if !done {
                    self.scan(c, id).await?;
                    return Ok(true);
                }
                Request::CompletePick { order_id: id }
            }
            "picked" => Request::Pack {
                order_id: id,
                bags: 1,
            },
            _ => Request::HandOver {
                order_id: id,
                code: None,
            },
        };
        soft(c.request(request).await)?;
        Ok(true)
    }

    /// The manager's part (`p1` is one in the campaigns): a customer's request waiting for the
    /// store is rejected, the order goes on. True when one was decided.
    async fn decide(&mut self, c: &mut Client) -> Result<bool, ClientError> {
        let list = c.request(Request::ListRequests).await?;
        let Some(open) = list["requests"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["state"] == "open"))
        else {
            return Ok(false);
        };
        let request_id = open["id"].as_i64().expect("a request id");
        soft(
            c.request(Request::DecideRequest {
                request_id,
                agree: false,
                reason: "商品已在配送".into(),
            })
            .await,
        )?;
        self.decisions += 1;
        Ok(true)
    }

    async fn scan(&mut self, c: &mut Client, order_id: i64) -> Result<(), ClientError> {
        self.scans_sent += 1;
        let reply = match &mut self.scan {
            Scan::Gun(gun) => {
                gun.write_all(format!("{CODE}\r").as_bytes()).unwrap();
                // The scan's result, as every subscriber gets it; none within 3 s (the daemon
                // died with the scan on the wire) is no acknowledgement.
                let event = tokio::time::timeout(Duration::from_secs(3), async {
                    loop {
                        if let Event::ScanResult { reply } = c.next_event().await? {
                            return Ok::<_, ClientError>(reply);
                        }
                    }
                })
                .await;
                match event {
                    Ok(reply) => *reply?,
                    Err(_) => return Ok(()),
                }
            }
            Scan::Api => {
                let v = c
                    .request(Request::RecordScan {
                        order_id,
                        code: CODE.into(),
                        scanner: None,
                    })
                    .await?;
                serde_json::from_value::<ScanReply>(v).expect("a scan reply")
            }
        };
        if reply.result == ScanOutcome::Ok
            && let Some(view) = &reply.order
        {
            *self.acked.entry(view.order.id.0).or_default() += 1;
        }
        Ok(())
    }
}

/// A refusal (someone else got there first: auto-accept, a retried request after a restart) is
/// part of the day; a broken connection is not.
pub fn soft(r: Result<serde_json::Value, ClientError>) -> Result<(), ClientError> {
    match r {
        Ok(_) | Err(ClientError::Refused { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every acknowledged scan is in the store (more may be: committed, then killed before the
/// acknowledgement went out); returns how many were checked.
pub fn acked_scans_are_stored(conn: &rusqlite::Connection, picker: &Picker) -> i64 {
    for (order, n) in &picker.acked {
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
    }
    picker.acked_total()
}

/// Every order handed over with each unit picked once, and every platform effect taken once
/// per order with one confirm per platform order. Returns (orders handed over, effects checked).
pub fn shift_ended_well(conn: &rusqlite::Connection, feed: &Feed) -> (i64, usize) {
    let (handed, bad): (i64, i64) = conn
        .query_row(
            "SELECT COALESCE(SUM(state = 'handed_over'), 0), COALESCE(SUM(state != 'handed_over'), 0) FROM \"order\"",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    if bad > 0 {
        // Which, and where each stands, for whoever reads the failure.
        let mut stmt = conn
            .prepare(
                "SELECT o.platform, o.external_id, o.state, COALESCE(o.cancel_reason, ''),
                        (SELECT group_concat(t.to_state || ' by ' || t.actor, ', ')
                         FROM order_transition t WHERE t.order_id = o.id)
                 FROM \"order\" o WHERE o.state != 'handed_over'",
            )
            .unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{} {} {} (cancel reason: {}; history: {})",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?.unwrap_or_default()
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        panic!(
            "{bad} orders not finished:
{}",
            rows.join(
                "
"
            )
        );
    }
    assert_eq!(handed as u64, feed.orders(), "every order placed arrived");
    let off: i64 = conn
        .query_row(
            "SELECT count(*) FROM order_line WHERE picked + short != qty",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(off, 0, "lines picked (or short) more or less than ordered");
    let inv = flashpick::store::check_invariants(conn).unwrap();
    assert!(inv.hold(), "{inv:?}");
    let st = feed.sim.sim.state.lock().unwrap();
    let mut effects: HashMap<(String, String), u32> = HashMap::new();
    for e in st.effects.iter().filter(|e| e.action != "stock") {
        *effects
            .entry((e.order.clone().unwrap_or_default(), e.action.clone()))
            .or_default() += 1;
    }
    for ((order, action), n) in &effects {
        assert_eq!(*n, 1, "{action} on {order} took effect {n} times");
    }
    // Every short at a platform's order was refunded (Meituan) or adjusted (JD) there, once
    // (each (order, action) was counted once above; the simulator pays every refund it gets).
    let shorted: Vec<(String, String)> = conn
        .prepare(
            "SELECT o.platform, o.external_id FROM \"order\" o
             WHERE o.platform != 'hq' AND EXISTS
                 (SELECT 1 FROM order_line l WHERE l.order_id = o.id AND l.short > 0)",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (platform, order) in &shorted {
        let action = if platform == "meituan" {
            "refund"
        } else {
            "adjust"
        };
        assert_eq!(
            effects.get(&(order.clone(), action.to_string())),
            Some(&1),
            "{platform} order {order}: its short taken {action} once"
        );
    }
    assert!(!shorted.is_empty(), "no short in the shift");
    println!(
        "{} platform orders with a short, each refunded or adjusted exactly once at the platform",
        shorted.len()
    );
    let confirms = effects.keys().filter(|(_, a)| a == "confirm").count() as u64;
    assert_eq!(
        confirms,
        feed.made * 2,
        "every platform order confirmed once"
    );
    (handed, effects.len())
}

/// Every customer's request the manager rejected reached its platform once (a refusal there
/// leaves no effect and the request `failed`), and none is left half decided. Returns how many
/// were rejected.
pub fn decisions_went_once(conn: &rusqlite::Connection, feed: &Feed) -> i64 {
    let (rejected, pending): (i64, i64) = conn
        .query_row(
            "SELECT COALESCE(SUM(state = 'rejected'), 0),
                    COALESCE(SUM(state IN ('agreeing', 'rejecting')), 0)
             FROM customer_request",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(pending, 0, "decisions still on their way");
    let at_sim = feed
        .sim
        .sim
        .state
        .lock()
        .unwrap()
        .effects
        .iter()
        .filter(|e| e.action.ends_with("_reject"))
        .count() as i64;
    assert_eq!(at_sim, rejected, "rejections at the platforms vs the store");
    assert!(rejected > 0, "the manager rejected no request");
    rejected
}

/// Waits until nothing in the outbox is pending or parked; names the rows left if it never
/// happens.
pub async fn outbox_drains(db: &std::path::Path, secs: u64) {
    let left = || -> Vec<String> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT destination || ' ' || kind || ' ' || state || ' after ' || attempts
                        || ' attempts: ' || COALESCE(last_error, '') || ' ' || payload
                 FROM outbox WHERE state != 'done'",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let rows = left();
        if rows.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox never drained in {secs} s:\n{}",
            rows.join("\n")
        );
        tick.tick().await;
    }
}

/// The store's catalog is the simulator's: the sample catalog, with stock for the shift.
pub fn seed_catalog(db: &std::path::Path) {
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
    let db = db.to_path_buf();
    // The store's writer blocks; keep it off the test's runtime.
    std::thread::spawn(move || {
        let store = flashpick::store::Store::open(&db, crate::common::options()).unwrap();
        store.import_catalog_blocking(rows).unwrap();
        store.close();
    })
    .join()
    .unwrap();
}

/// The picker's connection: `p1` at work, subscribed to scan results.
pub async fn connect_picker(sock: &Path) -> Result<Client, ClientError> {
    let mut c = Client::connect(sock, "campaign", Some("p1")).await?;
    c.request(Request::Subscribe {
        topics: vec![flashpick::api::Topic::Scans],
    })
    .await?;
    Ok(c)
}

/// The end of the shift: works until every order placed is in the store and none is open. The
/// daemon may restart meanwhile (a config from HQ): the picker connects again, as the screens do.
pub async fn finish_shift(
    sock: &Path,
    picker: &mut Picker,
    feed: &mut Feed,
    db: &std::path::Path,
    secs: u64,
) {
    feed.closing = true;
    let mut last = String::new();
    let finish = async {
        let mut idle = tokio::time::interval(Duration::from_millis(100));
        let mut client = None;
        loop {
            if client.is_none() {
                match connect_picker(sock).await {
                    Ok(c) => client = Some(c),
                    Err(_) => {
                        idle.tick().await;
                        continue;
                    }
                }
            }
            let c = client.as_mut().expect("connected");
            // Counted before the open orders are listed: an order that comes in between is then
            // either not counted yet (not done) or listed as open (not done), never neither.
            let made = feed.orders();
            let at_sim = feed.sim.sim.state.lock().unwrap().orders.len() as u64;
            let in_store: i64 = rusqlite::Connection::open(db)
                .unwrap()
                .query_row("SELECT count(*) FROM \"order\"", [], |r| r.get(0))
                .unwrap();
            let in_store = in_store as u64;
            let Ok(open) = c.request(Request::ListOrders { all: false }).await else {
                client = None;
                idle.tick().await;
                continue;
            };
            let open = open["orders"].as_array().map_or(0, Vec::len);
            if open == 0 && in_store == made && at_sim == feed.made * 2 {
                return;
            }
            last = format!(
                "open {open}, in the store {in_store} of {made} made, at the simulator {at_sim}"
            );
            let worked = if open == 0 {
                Ok(false)
            } else {
                picker.step(c, feed).await
            };
            match worked {
                Ok(true) => {}
                Ok(false) => {
                    idle.tick().await;
                }
                Err(_) => client = None,
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(secs), finish)
        .await
        .is_err()
    {
        // Which orders never arrived, by their ids at the source.
        let have: std::collections::HashSet<String> = rusqlite::Connection::open(db)
            .unwrap()
            .prepare("SELECT external_id FROM \"order\"")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut missing: Vec<String> = feed
            .sim
            .sim
            .state
            .lock()
            .unwrap()
            .orders
            .keys()
            .cloned()
            .chain((1..=feed.made).map(|n| format!("OMS-{n}")))
            .filter(|id| !have.contains(id))
            .collect();
        missing.sort();
        panic!("not every order finished: {last}; missing {missing:?}");
    }
}

/// The campaigns' store: both platforms polled at `bases` (Meituan, JD), HQ at `broker` with
/// `hq_extra` keys, short retry ceilings (a reconnect every 500 ms at most, 120× the default
/// ceiling; a platform retry every second, 300×) so a shift of minutes sees hours of retries.
pub fn store_config(dir: &Path, bases: (&str, &str), broker: &str, hq_extra: &str) -> String {
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
look_after_secs = 1
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
[staff]
managers = ["p1"]
[picking]
repeat_window_ms = 0
[hq]
enabled = true
broker = "{broker}"
reconnect_min_ms = 50
reconnect_max_ms = 500
{hq_extra}"#,
        d = dir.display(),
        mt = bases.0,
        jd = bases.1,
    )
}
