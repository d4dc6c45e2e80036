//! Opening and closing the store at the platforms (营业 / 休息) through the real HTTP path: a
//! manager closes it with a reason and an end time, the close reaches both platforms once (a
//! failed call retried), the simulator then sends no new orders, and the store opens again by
//! itself at the end time (the store's clock moved by hand).

use crate::common::within;
use crate::platform_tests::{add_fault, agent_config, start_sim};
use flashpick::api::Request;
use flashpick::api::client::Client;
use flashpick::config::Config;
use flashpick::daemon::{Daemon, StartOptions};
use flashpick::model::{Clock, Platform, Timestamp};
use flashpick::sim::SimHandle;
use serde_json::{Value, json};
use std::path::Path;

fn effects(sim: &SimHandle, action: &str) -> Vec<Platform> {
    sim.sim
        .state
        .lock()
        .unwrap()
        .effects
        .iter()
        .filter(|e| e.action == action)
        .map(|e| e.platform)
        .collect()
}

/// Waits until both platforms confirmed `open`; the store's clock moves a second per look, so
/// that a retry (due by that clock) comes.
async fn confirmed(c: &mut Client, clock: &Clock, open: bool) -> Value {
    within(15, "both platforms confirmed", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            clock.advance(1);
            let s = c.request(Request::StoreOpenState).await.unwrap();
            let all = s["platforms"].as_array().unwrap();
            if all.len() == 2 && all.iter().all(|p| p["confirmed"] == json!(open)) {
                return s;
            }
            tick.tick().await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_closes_the_store_until_a_time_and_it_opens_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text =
        agent_config(dir.path(), &sim, "poll").source.0 + "\n[staff]\nmanagers = [\"boss\"]\n";
    let (d, clock) = start_manual(&text).await;
    let mut boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    let mut picker = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    let close = |until: Option<i64>, reason: &str| Request::SetStoreOpen {
        platform: None,
        open: false,
        until,
        reason: reason.into(),
    };
    // Not a picker's; not without a reason.
    let refused = picker.request(close(None, "忙")).await.unwrap_err();
    assert!(refused.to_string().contains("only a manager"), "{refused}");
    let bare = boss.request(close(None, " ")).await.unwrap_err();
    assert!(bare.to_string().contains("say why"), "{bare}");
    // Meituan's first answer fails: the close is tried again, and taken once.
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "5xx", "count": 1, "path": "poi/close"}),
    )
    .await;
    let until = clock.now().0 + 30 * 60 * 1000;
    let set = boss
        .request(close(Some(until), "晚高峰人手不足"))
        .await
        .unwrap();
    for p in set["platforms"].as_array().unwrap() {
        assert_eq!(p["want_open"], false);
        assert_eq!(p["until"], until);
        assert_eq!(p["reason"], "晚高峰人手不足");
    }
    let shown = confirmed(&mut boss, &clock, false).await;
    assert_eq!(shown["platforms"][0]["set_by"], "boss");
    let mut closed = effects(&sim, "store_close");
    closed.sort_by_key(|p| p.as_str());
    assert_eq!(closed, [Platform::Jddj, Platform::Meituan]);
    assert_eq!(
        sim.sim
            .state
            .lock()
            .unwrap()
            .calls
            .get("meituan poi/close")
            .copied(),
        Some(2),
        "the failed close was tried again"
    );
    // Closed: the platforms send no new orders.
    for p in [Platform::Meituan, Platform::Jddj] {
        let refused = sim.sim.new_order(p, &[("W550".into(), 1)], false).await;
        assert!(refused.is_err(), "{p} sent an order to a closed store");
    }
    // The end time comes: the store opens again by itself, at both platforms.
    assert!(clock.advance(30 * 60 + 1));
    let reopened = confirmed(&mut boss, &clock, true).await;
    for p in reopened["platforms"].as_array().unwrap() {
        assert_eq!(p["set_by"], "timer");
        assert_eq!(p["until"], Value::Null);
    }
    assert_eq!(effects(&sim, "store_open").len(), 2);
    assert!(
        sim.sim
            .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
            .await
            .is_ok()
    );
    d.shutdown().await;
}

/// The manager on SSH: `flashpick store close` with a reason (and a time of day to open again),
/// `flashpick store` shows the state each platform confirmed, `flashpick store open` opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_closes_and_opens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text =
        agent_config(dir.path(), &sim, "poll").source.0 + "\n[staff]\nmanagers = [\"boss\"]\n";
    let file = dir.path().join("store.toml");
    std::fs::write(&file, &text).unwrap();
    let d = Daemon::start(Config::parse(&text, &file).unwrap())
        .await
        .unwrap();
    let cli = |args: &[&str]| {
        let mut all = vec!["--config".to_string(), file.display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        async move {
            let o = tokio::task::spawn_blocking(move || {
                crate::cli_tests::bin().args(&all).output().unwrap()
            })
            .await
            .unwrap();
            (
                o.status.code(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
            )
        }
    };
    let (code, out) = cli(&[
        "store",
        "close",
        "--platform",
        "jddj",
        "--reason",
        "盘点",
        "--until",
        "25:00",
        "--as",
        "boss",
    ])
    .await;
    assert_eq!(code, Some(2), "{out}");
    let (code, out) = cli(&[
        "store",
        "close",
        "--platform",
        "jddj",
        "--reason",
        "盘点",
        "--until",
        "23:59",
        "--as",
        "boss",
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("jddj") && out.contains("盘点") && out.contains("until 23:59"),
        "{out}"
    );
    let shown = within(15, "JD confirmed the close", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        loop {
            let (_, out) = cli(&["store"]).await;
            if out.contains("jddj     closed") {
                return out;
            }
            tick.tick().await;
        }
    })
    .await;
    assert!(shown.contains("by boss"), "{shown}");
    assert_eq!(effects(&sim, "store_close"), [Platform::Jddj]);
    let (code, out) = cli(&["store", "open", "--as", "boss"]).await;
    assert_eq!(code, Some(0), "{out}");
    within(15, "both open", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        loop {
            let (_, out) = cli(&["store"]).await;
            if out.contains("jddj     open") && out.contains("meituan  open") {
                return;
            }
            tick.tick().await;
        }
    })
    .await;
    d.shutdown().await;
}

/// Auto-pause driven by a burst of orders: the store closes at both platforms by itself when
/// the open orders reach the threshold, stays closed for the minimum time even when the load
/// falls at once, then opens again below the resume level; a manager's close outlives the load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_orders_pauses_the_store_and_the_calm_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text = agent_config(dir.path(), &sim, "poll").source.0
        + "\n[staff]\nmanagers = [\"boss\"]\n[capacity]\nenabled = true\nmax_open_orders = 3\nresume_below = 1\nmin_closed_secs = 60\nmax_closed_secs = 600\n\
           [hq]\nenabled = true\nbroker = \"mqtt://127.0.0.1:9\"\n";
    let (d, clock) = start_manual(&text).await;
    let mut boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    let mut orders = Vec::new();
    for p in [Platform::Meituan, Platform::Jddj, Platform::Meituan] {
        orders.push((
            p,
            sim.sim
                .new_order(p, &[("W550".into(), 1)], false)
                .await
                .unwrap(),
        ));
    }
    // Three open orders: paused at both platforms, by the store itself, with the reason.
    let closed = confirmed(&mut boss, &clock, false).await;
    for p in closed["platforms"].as_array().unwrap() {
        assert_eq!(p["set_by"], "capacity");
        assert_eq!(p["automatic"], true);
        assert!(p["reason"].as_str().unwrap().contains("open orders"), "{p}");
    }
    // The load falls at once (the customers cancel), but the minimum closed time holds.
    for (p, id) in &orders {
        sim.sim.cancel(*p, id).await.unwrap();
    }
    within(15, "the orders cancelled at the store", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            let list = boss
                .request(Request::ListOrders { all: false })
                .await
                .unwrap();
            if list["orders"].as_array().unwrap().is_empty() {
                return;
            }
            tick.tick().await;
        }
    })
    .await;
    let still = boss.request(Request::StoreOpenState).await.unwrap();
    assert!(
        still["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["want_open"] == false),
        "opened before the minimum closed time: {still}"
    );
    assert!(effects(&sim, "store_open").is_empty());
    // After it: open again at both.
    assert!(clock.advance(61));
    confirmed(&mut boss, &clock, true).await;
    assert_eq!(effects(&sim, "store_close").len(), 2);
    // A manager's close is never opened by the calm.
    boss.request(Request::SetStoreOpen {
        platform: Some(Platform::Jddj),
        open: false,
        until: None,
        reason: "盘点".into(),
    })
    .await
    .unwrap();
    assert!(clock.advance(3600));
    let jd = within(15, "JD's close confirmed", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            let s = boss.request(Request::StoreOpenState).await.unwrap();
            let jd = s["platforms"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["platform"] == "jddj")
                .cloned()
                .unwrap();
            if jd["confirmed"] == false {
                return jd;
            }
            tick.tick().await;
        }
    })
    .await;
    assert_eq!(
        (jd["want_open"].clone(), jd["set_by"].clone()),
        (json!(false), json!("boss"))
    );
    // The load rises again (Meituan's orders: JD sends none while closed) and falls: Meituan
    // pauses and opens by itself — two looks of the capacity task, the second with the load
    // nil and the minimum past — and JD's manual close outlives both.
    let mut more = Vec::new();
    for _ in 0..3 {
        more.push(
            sim.sim
                .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
                .await
                .unwrap(),
        );
    }
    let paused = |want: bool| {
        move |s: &Value| {
            s["platforms"].as_array().unwrap().iter().any(|p| {
                p["platform"] == "meituan"
                    && p["want_open"] == want
                    && p["confirmed"] == want
                    && p["set_by"] == "capacity"
            })
        }
    };
    until_state(&mut boss, &clock, paused(false)).await;
    for id in &more {
        sim.sim.cancel(Platform::Meituan, id).await.unwrap();
    }
    assert!(clock.advance(61));
    let s = until_state(&mut boss, &clock, paused(true)).await;
    let jd = s["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "jddj")
        .unwrap();
    assert_eq!(
        (&jd["want_open"], &jd["set_by"]),
        (&json!(false), &json!("boss"))
    );
    let jd_opens = effects(&sim, "store_open")
        .into_iter()
        .filter(|p| *p == Platform::Jddj)
        .count();
    assert_eq!(jd_opens, 1, "JD opened again after the manager's close");
    // HQ heard of every automatic close and open, with who and why.
    let db = dir.path().join("store.db");
    let told: Vec<(String, bool, bool)> = tokio::task::spawn_blocking(move || {
        let c = rusqlite::Connection::open(db).unwrap();
        let mut q = c
            .prepare(
                "SELECT json_extract(payload, '$.platform'), json_extract(payload, '$.open'),
                        json_extract(payload, '$.automatic')
                 FROM outbox WHERE kind = 'store_state' AND json_extract(payload, '$.by') = 'capacity'
                 ORDER BY id",
            )
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    })
    .await
    .unwrap();
    let meituan_told: Vec<bool> = told
        .iter()
        .filter(|(p, _, auto)| p == "meituan" && *auto)
        .map(|(_, open, _)| *open)
        .collect();
    assert_eq!(meituan_told, [false, true, false, true], "{told:?}");
    d.shutdown().await;
}

/// Waits until the store's open states satisfy `done`, the store's clock moving a second a
/// look so that retries come.
async fn until_state(c: &mut Client, clock: &Clock, done: impl Fn(&Value) -> bool) -> Value {
    within(15, "the store's state at the platforms", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            clock.advance(1);
            let s = c.request(Request::StoreOpenState).await.unwrap();
            if done(&s) {
                return s;
            }
            tick.tick().await;
        }
    })
    .await
}

/// Per-platform thresholds count that platform's orders and close only it: two Meituan orders
/// close Meituan, JD (no thresholds of its own, and none store-wide) keeps selling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platforms_own_threshold_closes_only_that_platform() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text = agent_config(dir.path(), &sim, "poll").source.0
        + "\n[capacity]\nenabled = true\nmin_closed_secs = 60\n\
           [capacity.platforms.meituan]\nmax_open_orders = 2\nresume_below = 1\n";
    let (d, clock) = start_manual(&text).await;
    let mut c = Client::connect(d.socket_path(), "test", None)
        .await
        .unwrap();
    for p in [
        Platform::Jddj,
        Platform::Jddj,
        Platform::Meituan,
        Platform::Meituan,
    ] {
        sim.sim
            .new_order(p, &[("W550".into(), 1)], false)
            .await
            .unwrap();
    }
    within(15, "the four orders at the store", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            let list = c.request(Request::ListOrders { all: true }).await.unwrap();
            if list["orders"].as_array().unwrap().len() == 4 {
                return;
            }
            tick.tick().await;
        }
    })
    .await;
    let meituan = within(15, "Meituan's close confirmed", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            clock.advance(1);
            let s = c.request(Request::StoreOpenState).await.unwrap();
            let mt = s["platforms"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["platform"] == "meituan")
                .cloned();
            if let Some(mt) = mt.filter(|p| p["confirmed"] == false) {
                return (mt, s);
            }
            tick.tick().await;
        }
    })
    .await;
    let (mt, all) = meituan;
    assert!(
        mt["reason"]
            .as_str()
            .unwrap()
            .contains("2 open Meituan orders"),
        "{mt}"
    );
    assert_eq!(mt["automatic"], true);
    let jd_closed = all["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["platform"] == "jddj" && p["want_open"] == false);
    assert!(!jd_closed, "JD closed by Meituan's threshold: {all}");
    // JD's decision weighed the same four orders on the same ticks, and stayed open.
    assert_eq!(effects(&sim, "store_close"), vec![Platform::Meituan]);
    d.shutdown().await;
}

/// A close made in Meituan's merchant app (its `poi_status` push, the store's own change not on
/// its way) is what the store shows and wants: a person's close, so auto-pause never opens it;
/// HQ hears of it; an open made there later opens it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_made_in_the_merchant_app_is_the_stores_state() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = crate::platform_tests::agent_edited(dir.path(), &sim, "push", |t| {
        t + "\n[hq]\nenabled = true\nbroker = \"mqtt://127.0.0.1:9\"\n\
             [capacity]\nenabled = true\nmax_open_orders = 5\nresume_below = 2\nmin_closed_secs = 60\n"
    })
    .await;
    sim.sim
        .set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
    for (status, open) in [("resting", false), ("open", true)] {
        crate::common::sim_post(&sim, "/sim/store_status", json!({ "status": status })).await;
        let mt = within(10, "the merchant app's change taken", async {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
            loop {
                if let Some(mt) = meituan(&mut c).await
                    && mt["want_open"] == open
                    && mt["confirmed"] == open
                {
                    return mt;
                }
                tick.tick().await;
            }
        })
        .await;
        assert_eq!(
            (mt["set_by"].clone(), mt["automatic"].clone()),
            (json!("merchant app"), json!(false)),
            "{mt}"
        );
        if !open {
            // The load is nil and auto-pause is on: a person's close stays (the capacity task
            // runs every second; three seconds is three looks).
            let held = tokio::time::timeout(std::time::Duration::from_secs(3), async {
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
                loop {
                    if meituan(&mut c).await.unwrap()["want_open"] == true {
                        return;
                    }
                    tick.tick().await;
                }
            })
            .await;
            assert!(held.is_err(), "auto-pause opened a close made in the app");
            // Nothing went back to Meituan: the change was its own.
            assert!(effects(&sim, "store_open").is_empty());
        }
    }
    // HQ heard of both, as a person's changes in the merchant app.
    let db = dir.path().join("store.db");
    let told: Vec<(bool, String)> = tokio::task::spawn_blocking(move || {
        let c = rusqlite::Connection::open(db).unwrap();
        let mut q = c
            .prepare(
                "SELECT json_extract(payload, '$.open'), json_extract(payload, '$.by')
                 FROM outbox WHERE kind = 'store_state' ORDER BY id",
            )
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        told,
        [
            (false, "merchant app".to_string()),
            (true, "merchant app".to_string())
        ]
    );
    d.shutdown().await;
}

/// Meituan's state as the store shows it.
async fn meituan(c: &mut Client) -> Option<Value> {
    let s = c.request(Request::StoreOpenState).await.unwrap();
    s["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "meituan")
        .cloned()
}

/// A close the platform refuses (JD: the store's secret is wrong) is parked for a person and
/// shown as not taken — never as closed — and the day's closed minutes count only the close
/// Meituan confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_close_is_parked_and_never_shown_as_closed() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text = agent_config(dir.path(), &sim, "poll")
        .source
        .0
        .replace("sim-jd-secret", "a-wrong-secret")
        + "\n[staff]\nmanagers = [\"boss\"]\n";
    let (d, clock) = start_manual(&text).await;
    let mut boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    boss.request(Request::SetStoreOpen {
        platform: None,
        open: false,
        until: None,
        reason: "盘点".into(),
    })
    .await
    .unwrap();
    let parked = within(15, "JD's close parked", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            clock.advance(1);
            let st = boss.request(Request::Status).await.unwrap();
            let rows: Vec<Value> = st["outbox"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|o| o["parked_rows"].as_array().cloned().unwrap_or_default())
                .filter(|r| r["kind"] == "store_open")
                .collect();
            if !rows.is_empty() {
                return rows;
            }
            tick.tick().await;
        }
    })
    .await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    let s = until_state(&mut boss, &clock, |s| {
        s["platforms"][0]["platform"] == "jddj" && s["platforms"][1]["confirmed"] == false
    })
    .await;
    let jd = &s["platforms"][0];
    assert_eq!(
        (&jd["want_open"], &jd["confirmed"]),
        (&json!(false), &Value::Null),
        "JD never confirmed the close: {jd}"
    );
    assert!(effects(&sim, "store_close") == [Platform::Meituan]);
    // Ten minutes on: Meituan closed ten of them, JD none.
    assert!(clock.advance(600));
    let r = boss
        .request(Request::DayReport { day: None })
        .await
        .unwrap();
    let closed = |p: &str| {
        r["report"]["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["platform"] == p)
            .map(|x| x["closed_manual_min"].as_i64().unwrap())
    };
    assert!(closed("meituan").unwrap() >= 10, "{r}");
    assert_eq!(closed("jddj").unwrap_or(0), 0, "{r}");
    d.shutdown().await;
}

/// One wanted state per platform: a close that waits out an outage is replaced by a later open,
/// so the platform never sees the stale close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_that_waited_out_an_outage_is_not_replayed_after_an_open() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text =
        agent_config(dir.path(), &sim, "poll").source.0 + "\n[staff]\nmanagers = [\"boss\"]\n";
    let (d, clock) = start_manual(&text).await;
    let mut boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    // Meituan's close calls fail for as long as the test runs.
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "5xx", "count": 100000, "path": "poi/close"}),
    )
    .await;
    let set = |open: bool| Request::SetStoreOpen {
        platform: Some(Platform::Meituan),
        open,
        until: None,
        reason: if open { String::new() } else { "停电".into() },
    };
    boss.request(set(false)).await.unwrap();
    sim.sim
        .wait_for("the close tried", 15, |st| {
            (st.calls.get("meituan poi/close").copied().unwrap_or(0) >= 1).then_some(())
        })
        .await;
    boss.request(set(true)).await.unwrap();
    until_state(&mut boss, &clock, |s| {
        s["platforms"][0]["platform"] == "meituan" && s["platforms"][0]["confirmed"] == true
    })
    .await;
    assert!(effects(&sim, "store_close").is_empty());
    assert_eq!(effects(&sim, "store_open"), [Platform::Meituan]);
    d.shutdown().await;
}

/// The store of `text` on a clock moved by hand.
async fn start_manual(text: &str) -> (Daemon, Clock) {
    let clock = Clock::manual(Timestamp::now());
    let d = Daemon::start_with(
        Config::parse(text, Path::new("store.toml")).unwrap(),
        StartOptions {
            clock: clock.clone(),
            ..StartOptions::default()
        },
    )
    .await
    .unwrap();
    (d, clock)
}
