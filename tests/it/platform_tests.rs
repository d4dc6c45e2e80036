//! The agent against the platform simulator over real HTTP on loopback, with real signatures:
//! intake, every action, deduplication, faults and recovery, polling, forged pushes.

use crate::common::{seed_db, within};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::model::{Delivery, Platform};
use flashpick::sim::{self, SimConfig, SimHandle, State};
use serde_json::{Value, json};
use std::path::Path;

const PUSH_URL: &str = "https://store.example.com/meituan";

pub(crate) async fn start_sim() -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = SimConfig {
        meituan_push_url: Some(PUSH_URL.into()),
        ..SimConfig::default()
    };
    sim::start(listener, config).await.unwrap()
}

/// The test store; in push mode without reconciliation rounds, so every call the platform sees
/// comes from a push (the reconciliation test turns them on).
pub(crate) fn agent_config(dir: &Path, sim: &SimHandle, mode: &str) -> Config {
    let webhooks = if mode == "push" {
        "[webhooks]\nlisten = \"127.0.0.1:0\"\n"
    } else {
        ""
    };
    let text = format!(
        r#"
[store]
id = "PT-1"
state_dir = "{d}"
[api]
socket = "{d}/fp.sock"
[http]
listen = "127.0.0.1:0"
{webhooks}
[platforms.meituan]
enabled = true
base_url = "{mt}"
app_id = "sim-meituan"
secret = "sim-meituan-secret"
store_code = "PT-1"
push_url = "{PUSH_URL}"
mode = "{mode}"
poll_interval_secs = 1
reconcile_secs = 0
max_retry_secs = 1
look_after_secs = 1
[platforms.jddj]
enabled = true
base_url = "{jd}"
app_id = "sim-jd"
secret = "sim-jd-secret"
token = "sim-jd-token"
store_code = "PT-1"
mode = "{mode}"
poll_interval_secs = 1
reconcile_secs = 0
max_retry_secs = 1
"#,
        d = dir.display(),
        mt = sim.meituan_base(),
        jd = sim.jd_base()
    );
    Config::parse(&text, Path::new("platform.toml")).expect("config")
}

pub(crate) async fn agent(dir: &Path, sim: &SimHandle, mode: &str) -> (Daemon, Client) {
    let (d, c) = agent_edited(dir, sim, mode, |t| t).await;
    if let Some(addr) = d.webhook_addr() {
        sim.sim.set_push_to(Some(format!("http://{addr}")));
    }
    (d, c)
}

/// The test store with its config text edited first, a client subscribed to orders; pushes are
/// left where they were.
pub(crate) async fn agent_edited(
    dir: &Path,
    sim: &SimHandle,
    mode: &str,
    edit: impl FnOnce(String) -> String,
) -> (Daemon, Client) {
    let text = edit(agent_config(dir, sim, mode).source.0);
    let d = Daemon::start(Config::parse(&text, Path::new("platform.toml")).unwrap())
        .await
        .unwrap();
    let mut c = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders],
    })
    .await
    .unwrap();
    (d, c)
}

fn effects(st: &State, order: &str) -> Vec<String> {
    st.effects
        .iter()
        .filter(|e| e.order.as_deref() == Some(order))
        .map(|e| e.action.clone())
        .collect()
}

/// The local id of the order the platform knows as `external`, once it has arrived.
pub(crate) async fn local_order(c: &mut Client, external: &str) -> i64 {
    within(10, &format!("order {external} to arrive"), async {
        loop {
            let list = c.request(Request::ListOrders { all: true }).await.unwrap();
            if let Some(o) = list["orders"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["external_id"] == external)
            {
                return o["id"].as_i64().unwrap();
            }
            // Not there yet: wait for the next order event rather than asking in a loop.
            while !matches!(c.next_event().await.unwrap(), Event::OrderChanged { .. }) {}
        }
    })
    .await
}

pub(crate) async fn pick(c: &mut Client, id: i64, scans: &[&str], shorts: &[(u32, i64)]) {
    c.request(Request::ClaimOrder {
        order_id: id,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    for code in scans {
        let r = c
            .request(Request::RecordScan {
                order_id: id,
                code: (*code).into(),
                scanner: None,
            })
            .await
            .unwrap();
        assert_eq!(r["result"], "ok", "{r}");
    }
    for (line, qty) in shorts {
        c.request(Request::MarkShort {
            order_id: id,
            line_no: *line,
            qty: *qty,
            reason: "out_of_stock".into(),
        })
        .await
        .unwrap();
    }
    c.request(Request::CompletePick { order_id: id })
        .await
        .unwrap();
}

/// Injects a fault at the simulator (`POST /sim/faults`).
pub(crate) async fn add_fault(sim: &SimHandle, fault: Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/sim/faults", sim.addr))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{fault}");
}

/// One order on each platform, pushed (twice when `twice`) and taken. Returns their (platform
/// id, local id), Meituan's first.
async fn orders_on_both(
    sim: &SimHandle,
    c: &mut Client,
    mt_items: &[(&str, i64)],
    jd_items: &[(&str, i64)],
    twice: bool,
) -> [(String, i64); 2] {
    let mut out = Vec::new();
    for (platform, items) in [(Platform::Meituan, mt_items), (Platform::Jddj, jd_items)] {
        let items: Vec<(String, i64)> = items.iter().map(|(s, q)| (s.to_string(), *q)).collect();
        let ext = sim.sim.new_order(platform, &items, twice).await.unwrap();
        out.push(ext);
    }
    let mut taken = Vec::new();
    for ext in out {
        let local = local_order(c, &ext).await;
        taken.push((ext, local));
    }
    taken.try_into().unwrap()
}

/// The two orders of the action tests: Meituan water ×2 and milk ×1, JD water ×1 and bread ×2.
async fn two_orders(sim: &SimHandle, c: &mut Client, twice: bool) -> [(String, i64); 2] {
    let (mt, jd) = ([("W550", 2), ("MILK1L", 1)], [("W550", 1), ("BREAD", 2)]);
    orders_on_both(sim, c, &mt, &jd, twice).await
}

/// Picks [`two_orders`]: Meituan is one milk short, JD one bread short.
async fn pick_two_orders_short(c: &mut Client, mt_local: i64, jd_local: i64) {
    pick(c, mt_local, &["6901234567892", "6901234567892"], &[(2, 1)]).await;
    pick(c, jd_local, &["6901234567892", "96385074"], &[(2, 1)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_reaches_the_platform_once_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    let [(mt, mt_local), (jd, jd_local)] = two_orders(&sim, &mut c, true).await;
    // Auto-accepted: the platforms hear the confirmation.
    sim.sim
        .wait_for("both confirmations", 10, |st| {
            (effects(st, &mt).contains(&"confirm".to_string())
                && effects(st, &jd).contains(&"confirm".to_string()))
            .then_some(())
        })
        .await;
    // Milk is missing on the shelf: one unit short; JD: one bread short of two.
    pick_two_orders_short(&mut c, mt_local, jd_local).await;
    sim.sim
        .wait_for("both pick-completes", 10, |st| {
            (effects(st, &mt).last().map(String::as_str) == Some("pick_complete")
                && effects(st, &jd).last().map(String::as_str) == Some("pick_complete"))
            .then_some(())
        })
        .await;
    let st = sim.sim.snapshot();
    let st_effects = |order: &str| -> Vec<Value> {
        st["effects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["order"] == order)
            .cloned()
            .collect()
    };
    let mt_effects = st_effects(&mt);
    let actions: Vec<&str> = mt_effects
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["confirm", "refund", "pick_complete"]);
    assert_eq!(
        mt_effects[1]["detail"]["food_data"],
        json!([{"app_food_code": "MILK1L", "sku_id": "MILK1L-2", "count": 1}])
    );
    let jd_effects = st_effects(&jd);
    let actions: Vec<&str> = jd_effects
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["confirm", "adjust", "pick_complete"]);
    // JD: one adjustment listing every line that remains, with its new count.
    assert_eq!(
        jd_effects[1]["detail"]["remaining"],
        json!([{"outSkuId": "W550", "skuCount": 1}, {"outSkuId": "BREAD", "skuCount": 1}])
    );
    // The duplicate pushes made one order each; the JD push led to exactly one fetch.
    let list = c.request(Request::ListOrders { all: true }).await.unwrap();
    assert_eq!(list["orders"].as_array().unwrap().len(), 2);
    assert_eq!(st["calls"]["jddj order/es/query"], 1, "{}", st["calls"]);
    assert_eq!(st["bad_signatures"], 0);
    // Stock levels reach both platforms: 20 − 3 waters picked = 17 left to sell.
    sim.sim
        .wait_for("the new water level on both platforms", 10, |st| {
            let last = |k: &str| st.levels.get(k).and_then(|v| v.last().copied());
            (last("meituan:W550") == Some(17) && last("jddj:W550") == Some(17)).then_some(())
        })
        .await;
    let status = c.request(Request::Status).await.unwrap();
    assert!(
        status["channels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|ch| ch["online"] == true),
        "{status}"
    );
    d.shutdown().await;
    sim.stop().await;
}

/// The platforms sell the store's water under a merchant code of their own ("P-WATER"); it is
/// matched to W550 by its barcode. Refunds, adjustments and stock levels must then name the
/// item as the platform knows it, or the platform answers "no such item".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_sold_under_the_platforms_own_codes_are_reported_under_them() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(
        listener,
        SimConfig {
            meituan_push_url: Some(PUSH_URL.into()),
            catalog_csv: Some(
                "sku,name,barcode,location,on_hand\n\
                 P-WATER,农夫山泉 550ml,6901234567892,A,100\n\
                 MILK1L,光明鲜牛奶 1L,4006381333931,B,100\n"
                    .into(),
            ),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    let items = [("P-WATER".to_string(), 2), ("MILK1L".to_string(), 1)];
    let mt = sim
        .sim
        .new_order(Platform::Meituan, &items, false)
        .await
        .unwrap();
    let jd = sim
        .sim
        .new_order(Platform::Jddj, &items, false)
        .await
        .unwrap();
    let mt_local = local_order(&mut c, &mt).await;
    let jd_local = local_order(&mut c, &jd).await;
    let o = c
        .request(Request::GetOrder { order_id: mt_local })
        .await
        .unwrap();
    assert_eq!(o["order"]["lines"][0]["sku"], "W550", "matched by barcode");
    // One water short on each.
    for id in [mt_local, jd_local] {
        pick(&mut c, id, &["6901234567892", "4006381333931"], &[(1, 1)]).await;
    }
    sim.sim
        .wait_for("both pick-completes", 10, |st| {
            (effects(st, &mt).last().map(String::as_str) == Some("pick_complete")
                && effects(st, &jd).last().map(String::as_str) == Some("pick_complete"))
            .then_some(())
        })
        .await;
    let st = sim.sim.snapshot();
    let detail = |order: &str, action: &str| -> Value {
        st["effects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["order"] == order && e["action"] == action)
            .map(|e| e["detail"].clone())
            .unwrap_or_else(|| panic!("no {action} of {order}: {}", st["effects"]))
    };
    assert_eq!(effects_of(&st, &mt), ["confirm", "refund", "pick_complete"]);
    assert_eq!(
        detail(&mt, "refund")["food_data"][0]["app_food_code"],
        "P-WATER"
    );
    assert_eq!(effects_of(&st, &jd), ["confirm", "adjust", "pick_complete"]);
    assert_eq!(
        detail(&jd, "adjust")["remaining"],
        json!([{"outSkuId": "P-WATER", "skuCount": 1}, {"outSkuId": "MILK1L", "skuCount": 1}])
    );
    // Levels go out under the learned code. The water was short for "out of stock": marked
    // sold out, 0 (the ledger's 20 − 2 picked − 2 written off = 16 waits for a count).
    sim.sim
        .wait_for(
            "the water level under P-WATER on both platforms",
            10,
            |st| {
                let last = |k: &str| st.levels.get(k).and_then(|v| v.last().copied());
                (last("meituan:P-WATER") == Some(0) && last("jddj:P-WATER") == Some(0))
                    .then_some(())
            },
        )
        .await;
    let s = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    assert_eq!(s["items"][0]["on_hand"], 16);
    // And a full resync does the same, and no longer names W550 to the platform.
    let sent = |k: &str| -> usize {
        sim.sim.snapshot()["levels"][k]
            .as_array()
            .map_or(0, Vec::len)
    };
    let (water_before, w550_before) = (sent("meituan:P-WATER"), sent("meituan:W550"));
    c.request(Request::StockResync).await.unwrap();
    sim.sim
        .wait_for("the resync under P-WATER", 10, |st| {
            (st.levels.get("meituan:P-WATER").map_or(0, Vec::len) > water_before).then_some(())
        })
        .await;
    assert_eq!(sent("meituan:W550"), w550_before);
    d.shutdown().await;
    sim.stop().await;
}

fn effects_of(st: &Value, order: &str) -> Vec<String> {
    st["effects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["order"] == order)
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_outage_delays_reports_but_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    // Meituan is down until further notice; JD rate-limits the next five calls.
    for fault in [
        json!({"platform": "meituan", "kind": "5xx"}),
        json!({"platform": "jddj", "kind": "rate_limit", "count": 5}),
    ] {
        add_fault(&sim, fault).await;
    }
    let mut orders = Vec::new();
    for (p, items) in [
        (Platform::Meituan, vec![("W550".to_string(), 1)]),
        (Platform::Meituan, vec![("BREAD".to_string(), 1)]),
        (Platform::Jddj, vec![("W550".to_string(), 2)]),
    ] {
        let ext = sim.sim.new_order(p, &items, false).await.unwrap();
        let local = local_order(&mut c, &ext).await;
        orders.push((ext, local));
    }
    // Picking goes on while Meituan is down.
    pick(&mut c, orders[0].1, &["6901234567892"], &[]).await;
    pick(&mut c, orders[1].1, &["96385074"], &[]).await;
    let status = c.request(Request::Status).await.unwrap();
    let mt_pending = status["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["destination"] == "meituan")
        .unwrap()["pending"]
        .as_i64();
    assert!(
        mt_pending >= Some(4),
        "confirm and pick-complete of both wait: {status}"
    );
    {
        let st = sim.sim.state.lock().unwrap();
        assert!(
            effects(&st, &orders[0].0).is_empty(),
            "nothing got through to Meituan"
        );
    }
    // Meituan is back.
    reqwest::Client::new()
        .delete(format!("http://{}/sim/faults", sim.addr))
        .send()
        .await
        .unwrap();
    pick(
        &mut c,
        orders[2].1,
        &["6901234567892", "6901234567892"],
        &[],
    )
    .await;
    sim.sim
        .wait_for("every report after the outage", 20, |st| {
            orders
                .iter()
                .all(|(ext, _)| effects(st, ext) == ["confirm", "pick_complete"])
                .then_some(())
        })
        .await;
    // Exactly once each, in order per order (checked above); the levels caught up too.
    sim.sim
        .wait_for("levels after the outage", 20, |st| {
            let last = |k: &str| st.levels.get(k).and_then(|v| v.last().copied());
            (last("meituan:W550") == Some(17) && last("meituan:BREAD") == Some(1)).then_some(())
        })
        .await;
    d.shutdown().await;
    sim.stop().await;
}

/// Every kind of fault the platforms throw, one after another on both lines: rate limits (711,
/// 10032, HTTP 429), cut connections, slow answers and server errors. Picking goes on; every
/// report arrives once, in order, and every fault was actually met.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_cut_lines_and_slow_answers_delay_reports_but_double_none() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    let faults = [
        json!({"platform": "meituan", "kind": "rate_limit", "count": 2}),
        json!({"platform": "meituan", "kind": "429", "count": 2}),
        json!({"platform": "meituan", "kind": "cut", "count": 2}),
        json!({"platform": "meituan", "kind": "slow", "slow_ms": 1500, "count": 1}),
        json!({"platform": "meituan", "kind": "5xx", "count": 2}),
        json!({"platform": "jddj", "kind": "rate_limit", "count": 2}),
        json!({"platform": "jddj", "kind": "cut", "count": 2}),
        json!({"platform": "jddj", "kind": "slow", "slow_ms": 1500, "count": 1}),
        json!({"platform": "jddj", "kind": "429", "count": 1}),
    ];
    for fault in faults {
        add_fault(&sim, fault).await;
    }
    let [(mt, mt_local), (jd, jd_local)] = two_orders(&sim, &mut c, false).await;
    pick_two_orders_short(&mut c, mt_local, jd_local).await;
    sim.sim
        .wait_for("every report through the faults", 60, |st| {
            (effects(st, &mt) == ["confirm", "refund", "pick_complete"]
                && effects(st, &jd) == ["confirm", "adjust", "pick_complete"])
            .then_some(())
        })
        .await;
    let st = sim.sim.snapshot();
    assert_eq!(
        st["faults"],
        json!([]),
        "every fault was met: {}",
        st["faults"]
    );
    // The levels caught up: 20 − 3 waters picked.
    sim.sim
        .wait_for("the water level after the faults", 20, |st| {
            let last = |k: &str| st.levels.get(k).and_then(|v| v.last().copied());
            (last("meituan:W550") == Some(17) && last("jddj:W550") == Some(17)).then_some(())
        })
        .await;
    // Each failed call was seen as one (slow answers are not failures).
    let status = c.request(Request::Status).await.unwrap();
    let failures = |name: &str| {
        status["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|ch| ch["name"] == name)
            .and_then(|ch| ch["failures"].as_u64())
    };
    assert!(failures("meituan") >= Some(8), "{status}");
    assert!(failures("jddj") >= Some(5), "{status}");
    d.shutdown().await;
    sim.stop().await;
}

/// What the platforms send becomes the store's order field by field: the day sequence, the
/// customer's remark, the pick deadline (JD's own; Meituan's from the promised time less the
/// travel buffer), items matched to the catalog, and an item the catalog lacks kept on the order
/// and announced, not dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_orders_are_normalised_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    // A second screen listening for alerts only (the first one's waits skip them).
    let mut screen = Client::connect(d.socket_path(), "screen", None)
        .await
        .unwrap();
    screen
        .request(Request::Subscribe {
            topics: vec![Topic::Alerts],
        })
        .await
        .unwrap();
    let items = [("W550".to_string(), 2), ("GHOST".to_string(), 3)];
    let mt = sim
        .sim
        .new_order(Platform::Meituan, &items, false)
        .await
        .unwrap();
    let jd = sim
        .sim
        .new_order(Platform::Jddj, &items, false)
        .await
        .unwrap();
    let mt_local = local_order(&mut c, &mt).await;
    let jd_local = local_order(&mut c, &jd).await;
    let alert = within(10, "the unknown-item alert", async {
        loop {
            if let Event::Alert {
                message, order_id, ..
            } = screen.next_event().await.unwrap()
                && message.contains("not in the catalog")
            {
                return (message, order_id);
            }
        }
    })
    .await;
    assert!(alert.0.contains("商品 GHOST ×3"), "{}", alert.0);
    assert!(alert.1 == Some(mt_local) || alert.1 == Some(jd_local));
    let sim_order = |id: &str| {
        sim.sim.snapshot()["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .cloned()
            .unwrap()
    };
    for (ext, local, platform) in [(&mt, mt_local, "meituan"), (&jd, jd_local, "jddj")] {
        let at_platform = sim_order(ext);
        let o = c
            .request(Request::GetOrder { order_id: local })
            .await
            .unwrap()["order"]
            .clone();
        assert_eq!(o["platform"], platform);
        assert_eq!(o["day_seq"], at_platform["day_seq"], "{o}");
        assert_eq!(o["remark"], at_platform["remark"], "{o}");
        assert_eq!(
            o["placed_at"],
            at_platform["ctime"].as_i64().unwrap() * 1000
        );
        let lines = o["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 1, "{o}");
        assert_eq!(
            (&lines[0]["sku"], &lines[0]["qty"]),
            (&json!("W550"), &json!(2))
        );
        // Sent in yuan (Meituan "10.00", JD fen), kept in fen.
        assert_eq!(lines[0]["unit_price"], at_platform["items"][0]["price_fen"]);
        assert_eq!(
            o["unknown_items"],
            json!([{"name": "商品 GHOST", "codes": ["GHOST"], "qty": 3}]),
            "{o}"
        );
        let ctime = at_platform["ctime"].as_i64().unwrap();
        let deadline = if platform == "jddj" {
            // JD's own pickDeadline (the simulator sets ten minutes after the order).
            ctime + 600
        } else {
            // Meituan: the estimated arrival less the store's 20-minute travel buffer.
            ctime + 1800 - 1200
        };
        assert_eq!(o["pick_deadline"], deadline * 1000, "{platform}: {o}");
    }
    d.shutdown().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_stale_pushes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    let base = format!("http://{}", d.webhook_addr().unwrap());
    let http = reqwest::Client::new();
    let post = |path: &str, fields: Vec<(String, String)>| {
        let body = flashpick::sync::channel::form(&fields);
        http.post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let now = flashpick::model::Timestamp::now();
    let mt_fields = |ts: i64, secret: &str| {
        let mut f: Vec<(String, String)> = vec![
            ("app_id".into(), "sim-meituan".into()),
            ("timestamp".into(), ts.to_string()),
            ("order_id".into(), "27001".into()),
            (
                "detail".into(),
                r#"[{"app_food_code":"W550","quantity":1,"price":"2.00"}]"#.into(),
            ),
        ];
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let sig = flashpick::sync::sign::meituan(&format!("{PUSH_URL}/paid"), &refs, secret);
        f.push(("sig".into(), sig));
        f
    };
    let forged: Value = post("/meituan/paid", mt_fields(now.0 / 1000, "not-the-secret"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(forged["error"]["code"], 703, "{forged}");
    let stale: Value = post(
        "/meituan/paid",
        mt_fields(now.0 / 1000 - 3600, "sim-meituan-secret"),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(stale["error"]["code"], 703, "{stale}");
    assert!(
        stale["error"]["msg"].as_str().unwrap().contains("stale"),
        "{stale}"
    );
    let jd_forged: Value = post(
        "/djsw/newOrder",
        vec![
            ("app_key".into(), "sim-jd".into()),
            ("token".into(), "sim-jd-token".into()),
            (
                "timestamp".into(),
                flashpick::model::china_time::format(now),
            ),
            ("format".into(), "json".into()),
            ("v".into(), "1.0".into()),
            (
                "jd_param_json".into(),
                r#"{"billId":"900001","statusId":"41000"}"#.into(),
            ),
            ("sign".into(), "0123456789ABCDEF0123456789ABCDEF".into()),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(jd_forged["code"], "10014", "{jd_forged}");
    // Correctly signed, but an hour old: a replay.
    let mut jd_old: Vec<(String, String)> = vec![
        ("app_key".into(), "sim-jd".into()),
        ("token".into(), "sim-jd-token".into()),
        (
            "timestamp".into(),
            flashpick::model::china_time::format(flashpick::model::Timestamp(now.0 - 3_600_000)),
        ),
        ("format".into(), "json".into()),
        ("v".into(), "1.0".into()),
        (
            "jd_param_json".into(),
            r#"{"billId":"900002","statusId":"41000"}"#.into(),
        ),
    ];
    let refs: Vec<(&str, &str)> = jd_old
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let sign = flashpick::sync::sign::jddj(&refs, "sim-jd-secret");
    jd_old.push(("sign".into(), sign));
    let jd_stale: Value = post("/djsw/newOrder", jd_old)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jd_stale["code"], "10014", "{jd_stale}");
    assert!(
        jd_stale["msg"].as_str().unwrap().contains("stale"),
        "{jd_stale}"
    );
    // An oversized body is refused before it is read whole.
    for path in ["/meituan/paid", "/djsw/newOrder"] {
        let huge = http
            .post(format!("{base}{path}"))
            .body(vec![b'a'; flashpick::sync::webhook::MAX_PUSH + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(huge.status(), 413, "{path}");
    }
    // A genuine push still works after the forgeries.
    let good: Value = post(
        "/meituan/paid",
        mt_fields(now.0 / 1000, "sim-meituan-secret"),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(good["data"], "ok", "{good}");
    local_order(&mut c, "27001").await;
    let list = c.request(Request::ListOrders { all: true }).await.unwrap();
    assert_eq!(
        list["orders"].as_array().unwrap().len(),
        1,
        "only the genuine push made an order"
    );
    d.shutdown().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_a_public_url_polls_for_orders_and_cancellations() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "poll").await;
    let mt = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let jd = sim
        .sim
        .new_order(Platform::Jddj, &[("MILK1L".into(), 1)], false)
        .await
        .unwrap();
    local_order(&mut c, &mt).await;
    let jd_local = local_order(&mut c, &jd).await;
    sim.sim.cancel(Platform::Jddj, &jd).await.unwrap();
    within(10, "the JD cancellation to be seen", async {
        loop {
            if let Event::OrderChanged { cause, order } = c.next_event().await.unwrap()
                && order.order.id.0 == jd_local
                && cause == "cancel"
            {
                return;
            }
        }
    })
    .await;
    let order = c
        .request(Request::GetOrder { order_id: jd_local })
        .await
        .unwrap();
    assert_eq!(order["order"]["state"], "cancelled");
    // The milk it held is free again: the level went back up.
    sim.sim
        .wait_for("the milk level restored", 10, |st| {
            (st.levels.get("jddj:MILK1L").and_then(|v| v.last().copied()) == Some(5)).then_some(())
        })
        .await;
    d.shutdown().await;
    sim.stop().await;
}

/// Customers cancel on both platforms, pushed to the store: one order still waiting, one half
/// picked. The waiting one frees its stock at once; the half-picked one asks for its goods back
/// and frees them when staff confirm they are on the shelf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_cancellations_release_stock_and_ask_for_picked_goods_back() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    let [(mt, mt_local), (jd, jd_local)] =
        orders_on_both(&sim, &mut c, &[("W550", 2)], &[("MILK1L", 1)], false).await;
    sim.sim
        .wait_for("both confirmations", 10, |st| {
            (effects(st, &mt) == ["confirm"] && effects(st, &jd) == ["confirm"]).then_some(())
        })
        .await;
    c.request(Request::ClaimOrder {
        order_id: mt_local,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    let r = c
        .request(Request::RecordScan {
            order_id: mt_local,
            code: "6901234567892".into(),
            scanner: None,
        })
        .await
        .unwrap();
    assert_eq!(r["result"], "ok", "{r}");
    let figures = |v: Value| {
        (
            v["items"][0]["on_hand"].as_i64(),
            v["items"][0]["reserved"].as_i64(),
        )
    };
    let w550 = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        figures(w550),
        (Some(19), Some(1)),
        "one in the tote, one held"
    );

    sim.sim.cancel(Platform::Meituan, &mt).await.unwrap();
    sim.sim.cancel(Platform::Jddj, &jd).await.unwrap();
    let (mut cancelled, mut put_back) = (Vec::new(), None);
    within(10, "both cancellations and the put-back alert", async {
        while cancelled.len() < 2 || put_back.is_none() {
            match c.next_event().await.unwrap() {
                Event::OrderChanged { cause, order } if cause == "cancel" => {
                    cancelled.push(order.order.id.0)
                }
                Event::Alert {
                    level,
                    message,
                    order_id,
                } if order_id == Some(mt_local) => {
                    assert_eq!(level, "error");
                    put_back = Some(message);
                }
                _ => {}
            }
        }
    })
    .await;
    cancelled.sort();
    assert_eq!(cancelled, {
        let mut v = vec![mt_local, jd_local];
        v.sort();
        v
    });
    let put_back = put_back.unwrap();
    assert!(put_back.contains("W550 ×1"), "{put_back}");
    // The waiting JD order's milk is free at once, at the platform too.
    sim.sim
        .wait_for("the milk level restored at JD", 10, |st| {
            (st.levels.get("jddj:MILK1L").and_then(|v| v.last().copied()) == Some(5)).then_some(())
        })
        .await;
    // The unpicked water is released; the bottle in the tote counts only once it is back.
    let w550 = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    assert_eq!(figures(w550), (Some(19), Some(0)));
    let o = c
        .request(Request::GetOrder { order_id: mt_local })
        .await
        .unwrap();
    assert_eq!(o["order"]["state"], "cancelled");
    assert_eq!(o["order"]["return_pending"], true);
    c.request(Request::ConfirmReturn { order_id: mt_local })
        .await
        .unwrap();
    let w550 = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    assert_eq!(figures(w550), (Some(20), Some(0)), "back on the shelf");
    // Nothing was reported back for a cancellation the platform made itself.
    sim.sim
        .wait_for("no store-side effects", 1, |st| {
            (effects(st, &mt) == ["confirm"] && effects(st, &jd) == ["confirm"]).then_some(())
        })
        .await;
    d.shutdown().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_cancels_reach_meituan_and_jd_refusals_are_parked_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    let [(mt, mt_local), (jd, jd_local)] =
        orders_on_both(&sim, &mut c, &[("MILK1L", 1)], &[("MILK1L", 1)], false).await;
    sim.sim
        .wait_for("both confirmations", 10, |st| {
            (effects(st, &mt) == ["confirm"] && effects(st, &jd) == ["confirm"]).then_some(())
        })
        .await;
    for id in [mt_local, jd_local] {
        c.request(Request::CancelOrder {
            order_id: id,
            reason: "冷柜故障".into(),
        })
        .await
        .unwrap();
    }
    sim.sim
        .wait_for("Meituan's cancel", 10, |st| {
            (effects(st, &mt) == ["confirm", "cancel"]).then_some(())
        })
        .await;
    // JD has no store-side cancel after accepting: the row is parked with the reason, and the
    // screens are told.
    let (message, alerted_order) = within(10, "the parked JD cancel", async {
        loop {
            if let Event::Alert {
                message, order_id, ..
            } = c.next_event().await.unwrap()
                && message.contains("no store-side cancel")
            {
                return (message, order_id);
            }
        }
    })
    .await;
    assert!(
        message.contains("jddj") && message.contains(&format!("cancel of order {jd}")),
        "{message}"
    );
    assert_eq!(alerted_order, Some(jd_local), "the alert names the order");
    let status = c.request(Request::Status).await.unwrap();
    let jd_outbox = status["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["destination"] == "jddj")
        .unwrap();
    assert_eq!(jd_outbox["parked"], 1, "{status}");
    // Status says what was refused and why, for whoever settles it on the console.
    let parked = &jd_outbox["parked_rows"][0];
    assert_eq!(parked["action"], "cancel", "{status}");
    assert_eq!(parked["order"], jd.as_str(), "{status}");
    assert!(
        parked["reason"]
            .as_str()
            .unwrap()
            .contains("no store-side cancel"),
        "{status}"
    );
    assert_eq!(effects(&sim.sim.state.lock().unwrap(), &jd), ["confirm"]);
    // Locally both are cancelled and their milk is back on sale.
    let milk = c
        .request(Request::StockLookup {
            query: "MILK1L".into(),
        })
        .await
        .unwrap();
    assert_eq!(milk["items"][0]["reserved"], 0);
    d.shutdown().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_does_not_make_an_effect_happen_twice() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    // Let the start-up stock sync finish, then make the platforms do what they are asked and
    // lose the answer, for the next ten calls each.
    sim.sim
        .wait_for("the start-up sync", 10, |st| {
            (st.levels.len() >= 6).then_some(())
        })
        .await;
    for platform in ["meituan", "jddj"] {
        add_fault(
            &sim,
            json!({"platform": platform, "kind": "lose_answer", "count": 10}),
        )
        .await;
    }
    let mt = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let jd = sim
        .sim
        .new_order(Platform::Jddj, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let mt_local = local_order(&mut c, &mt).await;
    let jd_local = local_order(&mut c, &jd).await;
    pick(&mut c, mt_local, &["6901234567892"], &[]).await;
    pick(&mut c, jd_local, &["6901234567892"], &[]).await;
    sim.sim
        .wait_for("every report despite lost answers", 20, |st| {
            (effects(st, &mt) == ["confirm", "pick_complete"]
                && effects(st, &jd) == ["confirm", "pick_complete"])
            .then_some(())
        })
        .await;
    // And the outbox agrees: nothing left, nothing parked.
    let status = c.request(Request::Status).await.unwrap();
    for o in status["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["destination"] != "hq")
    {
        assert_eq!(o["parked"], 0, "{status}");
    }
    d.shutdown().await;
    sim.stop().await;
}

/// The internet goes down between the store and the platform (a cut line at the fault proxy):
/// picking carries on, what must be reported waits in the outbox, and when the line is back
/// every report arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picking_carries_on_through_a_platform_outage_and_reports_once_after() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let proxy = crate::net::Proxy::start(sim.addr.port(), std::time::Duration::ZERO).await;
    let (d, mut c) = agent_edited(dir.path(), &sim, "poll", |t| {
        t.replace(&sim.addr.to_string(), &proxy.addr())
    })
    .await;
    let mt = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let id = local_order(&mut c, &mt).await;
    sim.sim
        .wait_for("the confirm", 10, |st| {
            effects(st, &mt)
                .contains(&"confirm".to_string())
                .then_some(())
        })
        .await;
    proxy.down(); // the line is cut
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
    let pending = |d: &Daemon| -> i64 {
        d.store()
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM outbox WHERE destination = 'meituan' AND state = 'pending'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    };
    assert!(pending(&d) > 0, "the report waits in the outbox");
    assert!(!effects(&sim.sim.state.lock().unwrap(), &mt).contains(&"pick_complete".to_string()));
    proxy.up(); // the line is back
    sim.sim
        .wait_for("the pick-complete report", 30, |st| {
            effects(st, &mt)
                .contains(&"pick_complete".to_string())
                .then_some(())
        })
        .await;
    within(30, "the outbox drained", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        while pending(&d) > 0 {
            tick.tick().await;
        }
    })
    .await;
    let all = effects(&sim.sim.state.lock().unwrap(), &mt);
    assert_eq!(all, vec!["confirm", "pick_complete"], "each report once");
    d.shutdown().await;
    sim.stop().await;
}

/// An order whose push never arrived (the store's line was down and the platform gave up) is
/// taken by a reconciliation round all the same; one that was pushed is not taken twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_push_was_lost_is_taken_by_reconciliation() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent_edited(dir.path(), &sim, "push", |t| {
        t.replace("reconcile_secs = 0", "reconcile_secs = 1")
    })
    .await;
    // Nowhere to push to: both pushes are lost.
    let mt = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let jd = sim
        .sim
        .new_order(Platform::Jddj, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    local_order(&mut c, &mt).await;
    local_order(&mut c, &jd).await;
    // Pushed this time, and seen by the rounds too.
    sim.sim
        .set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
    let pushed = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    local_order(&mut c, &pushed).await;
    for order in [&mt, &jd, &pushed] {
        sim.sim
            .wait_for("the confirm", 10, |st| {
                effects(st, order)
                    .contains(&"confirm".to_string())
                    .then_some(())
            })
            .await;
    }
    // Two more rounds: nothing is taken or confirmed twice.
    let rounds = sim.sim.state.lock().unwrap().calls.clone();
    let day_seq = |calls: &std::collections::BTreeMap<String, u64>| {
        calls
            .get("meituan order/getOrderDaySeq")
            .copied()
            .unwrap_or(0)
    };
    sim.sim
        .wait_for("two more rounds", 10, |st| {
            (day_seq(&st.calls) >= day_seq(&rounds) + 2).then_some(())
        })
        .await;
    {
        let st = sim.sim.state.lock().unwrap();
        let pushes: Vec<_> = st.pushes.iter().map(|p| p.2.clone()).collect();
        assert!(
            !pushes.contains(&mt) && !pushes.contains(&jd) && pushes.contains(&pushed),
            "{pushes:?}"
        );
        for order in [&mt, &jd, &pushed] {
            assert_eq!(effects(&st, order), vec!["confirm"], "{order}");
        }
    }
    let list = c.request(Request::ListOrders { all: true }).await.unwrap();
    assert_eq!(list["orders"].as_array().unwrap().len(), 3, "{list}");
    d.shutdown().await;
    sim.stop().await;
}

/// Weighed goods reach the platforms in the portions they sell, never in grams: the stock level
/// of 5,300 g of bananas sold by 500 g is 10, and a line of two portions picked short is
/// refunded (Meituan) and adjusted away (JD) as two portions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighed_goods_reach_the_platforms_in_portions() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    let mut bananas = crate::common::row(5, "FR003", "海南 香蕉", "2000000000015", 5300);
    bananas.unit = flashpick::model::Unit::Gram;
    bananas.sale_unit_g = Some(500);
    d.store().import_catalog(vec![bananas]).await.unwrap();
    let level = |st: &State, p: &str| {
        st.levels
            .get(&format!("{p}:FR003"))
            .and_then(|v| v.last().copied())
    };
    sim.sim
        .wait_for("the bananas' level in portions", 10, |st| {
            (level(st, "meituan") == Some(10) && level(st, "jddj") == Some(10)).then_some(())
        })
        .await;
    for platform in [Platform::Meituan, Platform::Jddj] {
        let ext = sim
            .sim
            .new_order(platform, &[("FR003".into(), 2), ("W550".into(), 1)], false)
            .await
            .unwrap();
        let id = local_order(&mut c, &ext).await;
        let order = c.request(Request::GetOrder { order_id: id }).await.unwrap();
        let lines = order["order"]["lines"].as_array().unwrap().clone();
        let bananas = lines.iter().find(|l| l["sku"] == "FR003").unwrap();
        assert_eq!(bananas["qty"], 1000, "two portions of 500 g: {order}");
        let line_no = bananas["line_no"].as_u64().unwrap() as u32;
        pick(&mut c, id, &["6901234567892"], &[(line_no, 1000)]).await;
        let adjust = sim
            .sim
            .wait_for("the adjustment", 10, |st| {
                st.effects
                    .iter()
                    .find(|e| e.order.as_deref() == Some(ext.as_str()) && e.action != "confirm")
                    .map(|e| (e.action.clone(), e.detail.clone()))
            })
            .await;
        match platform {
            Platform::Meituan => {
                assert_eq!(adjust.0, "refund", "{adjust:?}");
                assert_eq!(
                    adjust.1["food_data"][0]["count"], 2,
                    "two portions refunded: {adjust:?}"
                );
            }
            _ => {
                assert_eq!(adjust.0, "adjust", "{adjust:?}");
                assert_eq!(
                    adjust.1["remaining"],
                    json!([{"outSkuId": "W550", "skuCount": 1}]),
                    "{adjust:?}"
                );
            }
        }
    }
    d.shutdown().await;
    sim.stop().await;
}

/// Sends a call as the adapter built it and returns the platform's answer: Meituan's envelope, or
/// JD's with its doubly encoded `data` opened.
async fn raw(call: &flashpick::sync::HttpCall) -> Value {
    let http = reqwest::Client::new();
    let request = if call.post {
        http.post(&call.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(flashpick::sync::channel::form(&call.params))
    } else {
        http.get(format!(
            "{}?{}",
            call.url,
            flashpick::sync::channel::form(&call.params)
        ))
    };
    let mut v: Value = request.send().await.unwrap().json().await.unwrap();
    if let Some(data) = v["data"].as_str().filter(|d| d.starts_with('{')) {
        v["data"] = serde_json::from_str(data).unwrap();
    }
    v
}

/// The simulator holds the agent to the platforms' rules, answering exactly what the platform
/// would: bad signatures (703 / 10014), confirming twice (808), pick-complete before accepting,
/// and adjusting a JD order twice are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_what_the_platforms_refuse() {
    use flashpick::sync::channel::Channel;
    use flashpick::sync::{Action, ReportLine};
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim().await;
    let config = agent_config(dir.path(), &sim, "poll");
    let mt = Channel::new(Platform::Meituan, &config.platforms.meituan).unwrap();
    let jd = Channel::new(Platform::Jddj, &config.platforms.jddj).unwrap();
    let now = flashpick::model::Timestamp::now;

    // Meituan.
    let id = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 2)], false)
        .await
        .unwrap();
    let call = |a: Action| mt.adapter.action(&a, now()).unwrap();
    let early = raw(&call(Action::PickComplete {
        order: id.clone(),
        delivery: None,
    }))
    .await;
    assert_eq!(
        early["error"]["code"], 808,
        "pick complete before confirm: {early}"
    );
    let mut forged = call(Action::Confirm { order: id.clone() });
    for (k, v) in &mut forged.params {
        if k == "sig" {
            *v = "0".repeat(32);
        }
    }
    let forged = raw(&forged).await;
    assert_eq!(forged["error"]["code"], 703, "{forged}");
    let first = raw(&call(Action::Confirm { order: id.clone() })).await;
    assert_eq!(first["data"], "ok", "{first}");
    let again = raw(&call(Action::Confirm { order: id.clone() })).await;
    assert_eq!(again["error"]["code"], 808, "confirm twice: {again}");

    // JD Daojia.
    let id = sim
        .sim
        .new_order(
            Platform::Jddj,
            &[("W550".into(), 2), ("BREAD".into(), 1)],
            false,
        )
        .await
        .unwrap();
    let call = |a: Action| jd.adapter.action(&a, now()).unwrap();
    let line = |sku: &str, qty, short| ReportLine {
        sku: sku.into(),
        code: sku.into(),
        platform_item: None,
        qty,
        picked: qty - short,
        short,
        unit_g: None,
    };
    let adjust = || Action::Adjust {
        order: id.clone(),
        lines: vec![line("W550", 2, 1), line("BREAD", 1, 0)],
    };
    let early = raw(&call(Action::PickComplete {
        order: id.clone(),
        delivery: None,
    }))
    .await;
    assert_eq!(
        early["data"]["code"], "-1",
        "pick complete before accepting: {early}"
    );
    let early = raw(&call(adjust())).await;
    assert_eq!(
        early["data"]["code"], "-1",
        "adjust before accepting: {early}"
    );
    let mut forged = call(Action::Confirm { order: id.clone() });
    for (k, v) in &mut forged.params {
        if k == "sign" {
            *v = "0".repeat(32);
        }
    }
    let forged = raw(&forged).await;
    assert_eq!(forged["code"], "10014", "{forged}");
    let first = raw(&call(Action::Confirm { order: id.clone() })).await;
    assert_eq!(first["data"]["code"], "0", "{first}");
    let again = raw(&call(Action::Confirm { order: id.clone() })).await;
    assert_eq!(again["data"]["code"], "-1", "accept twice: {again}");
    let first = raw(&call(adjust())).await;
    assert_eq!(first["data"]["code"], "0", "{first}");
    let twice = raw(&call(adjust())).await;
    assert_eq!(twice["data"]["code"], "-1", "adjust twice: {twice}");
    assert!(
        twice["data"]["msg"]
            .as_str()
            .unwrap()
            .contains("不能重复调整"),
        "{twice}"
    );

    // What the platforms saw: two forgeries, and one effect per accepted action.
    let st = sim.sim.snapshot();
    assert_eq!(st["bad_signatures"], 2, "{st}");
    let actions: Vec<&str> = st["effects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["order"].as_str().map(|_| e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, ["confirm", "confirm", "adjust"]);
    sim.stop().await;
}

/// JD names the carrier per order (`deliveryCarrierNo`): each order is reported picked through
/// its carrier's own call (the simulator refuses another), whatever the store's setting; a
/// carrier flashpick does not know takes JD's riders' call and is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_jd_order_is_reported_picked_through_its_own_carrier() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders],
    })
    .await
    .unwrap();
    let mut screen = Client::connect(d.socket_path(), "screen", Some("p2"))
        .await
        .unwrap();
    screen
        .request(Request::Subscribe {
            topics: vec![Topic::Alerts],
        })
        .await
        .unwrap();
    let carriers = [
        ("9966", "OrderJDZBDelivery"),
        ("2938", "OrderSerllerDelivery"),
        ("9999", "OrderSelfMention"),
        ("1130", "OrderJDZBDelivery"),
    ];
    for (carrier, call) in carriers {
        let ext = sim
            .sim
            .new_order_by(Platform::Jddj, &[("W550".into(), 1)], false, Some(carrier))
            .await
            .unwrap();
        let id = local_order(&mut c, &ext).await;
        sim.sim
            .wait_for("the confirmation", 10, |st| {
                (effects(st, &ext) == ["confirm"]).then_some(())
            })
            .await;
        pick(&mut c, id, &["6901234567892"], &[]).await;
        let mode = sim
            .sim
            .wait_for("the pick-complete", 10, |st| {
                st.effects
                    .iter()
                    .find(|e| e.order.as_deref() == Some(&ext) && e.action == "pick_complete")
                    .map(|e| e.detail["mode"].as_str().unwrap_or_default().to_string())
            })
            .await;
        assert_eq!(mode, call, "carrier {carrier}");
    }
    let told = within(10, "the unknown carrier told", async {
        loop {
            if let Event::Alert { message, .. } = screen.next_event().await.unwrap()
                && message.contains("1130")
            {
                return message;
            }
        }
    })
    .await;
    assert!(told.contains("carrier flashpick does not know"), "{told}");
    // The simulator enforces it: another carrier's call, signed as the adapter signs, is
    // refused with JD's words and nothing is recorded.
    let ext = sim
        .sim
        .new_order_by(Platform::Jddj, &[("W550".into(), 1)], false, Some("2938"))
        .await
        .unwrap();
    sim.sim
        .wait_for("the confirmation", 10, |st| {
            (effects(st, &ext) == ["confirm"]).then_some(())
        })
        .await;
    let section = |delivery| flashpick::config::PlatformSection {
        enabled: true,
        base_url: Some(sim.jd_base()),
        app_id: "sim-jd".into(),
        secret: flashpick::config::Secret::new("sim-jd-secret"),
        token: flashpick::config::Secret::new("sim-jd-token"),
        delivery,
        ..flashpick::config::PlatformSection::default()
    };
    let send = |delivery: Option<Delivery>, store: Delivery| {
        let call = flashpick::sync::jddj::Jddj::new(&section(store))
            .action(
                &flashpick::sync::Action::PickComplete {
                    order: ext.clone(),
                    delivery,
                },
                flashpick::model::Timestamp::now(),
            )
            .unwrap();
        async move {
            assert!(call.post);
            reqwest::Client::new()
                .post(&call.url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(call.params.iter())
                        .finish(),
                )
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let wrong = send(Some(Delivery::Platform), Delivery::Platform).await;
    assert!(wrong.to_string().contains("配送方式与订单不符"), "{wrong}");
    // An order that names no carrier takes the store's `delivery` (here its own riders).
    let fallback = send(None, Delivery::Store).await;
    assert!(!fallback.to_string().contains("配送方式"), "{fallback}");
    let picks: Vec<String> = sim
        .sim
        .state
        .lock()
        .unwrap()
        .effects
        .iter()
        .filter(|e| e.order.as_deref() == Some(&ext) && e.action == "pick_complete")
        .map(|e| e.detail["mode"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(picks, ["OrderSerllerDelivery"]);
    d.shutdown().await;
}
