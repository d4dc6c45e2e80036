//! A Meituan partial refund (a store's short pick) whose answer never came: the simulator pays
//! every refund it is sent, as a platform without dedupe would, so a blind repeat would show as
//! two. The store looks at the refundable counts before sending again: exactly one refund at the
//! simulator whatever was lost; a look that fails waits and is tried again, never the refund;
//! and when the counts cannot tell, the row is parked and a manager told.

use crate::common::{sim_post, within};
use crate::platform_tests::{add_fault, agent, local_order, pick, start_sim};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::model::Platform;
use flashpick::sim::SimHandle;
use serde_json::json;

/// Refunds paid at the simulator for the order, and the calls of `path` it got.
fn at_sim(sim: &SimHandle, order: &str, path: &str) -> (usize, u64) {
    let st = sim.sim.state.lock().unwrap();
    let refunds = st
        .effects
        .iter()
        .filter(|e| e.order.as_deref() == Some(order) && e.action == "refund")
        .count();
    let calls = st
        .calls
        .get(&format!("meituan {path}"))
        .copied()
        .unwrap_or(0);
    (refunds, calls)
}

/// The adjust row's state and error, once it is no longer pending (or `pending`).
fn adjust_row(d: &flashpick::daemon::Daemon) -> (String, String) {
    d.store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT state, COALESCE(last_error, '') FROM outbox
                 WHERE json_extract(payload, '$.report.action') = 'adjust'
                    OR json_extract(payload, '$.action') = 'adjust'
                 ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap()
}

async fn row_leaves_pending(d: &flashpick::daemon::Daemon) -> (String, String) {
    within(20, "the refund's row settled", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            let row = adjust_row(d);
            if row.0 != "pending" {
                return row;
            }
            tick.tick().await;
        }
    })
    .await
}

/// An accepted Meituan order of two W550, one picked and one short: the store refunds one.
async fn short_one(sim: &SimHandle, c: &mut Client) -> String {
    let ext = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 2)], false)
        .await
        .unwrap();
    let id = local_order(c, &ext).await;
    sim.sim
        .wait_for("the confirmation", 10, |st| {
            st.effects
                .iter()
                .any(|e| e.order.as_deref() == Some(ext.as_str()) && e.action == "confirm")
                .then_some(())
        })
        .await;
    pick(c, id, &["6901234567892"], &[(1, 1)]).await;
    ext
}

async fn store(dir: &std::path::Path) -> (SimHandle, flashpick::daemon::Daemon, Client) {
    crate::common::seed_db(dir, &[]);
    let sim = start_sim().await;
    let (d, c) = agent(dir, &sim, "poll").await;
    (sim, d, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_whose_answer_was_lost_is_looked_up_and_paid_once() {
    // Lost once, lost twice, the connection cut after the refund was made.
    for (fault, count) in [("lose_answer", 1), ("lose_answer", 2), ("cut_after", 1)] {
        let dir = tempfile::tempdir().unwrap();
        let (sim, d, mut c) = store(dir.path()).await;
        add_fault(
            &sim,
            json!({"platform": "meituan", "kind": fault, "count": count, "path": "applyPartRefund"}),
        )
        .await;
        let ext = short_one(&sim, &mut c).await;
        let (state, _) = row_leaves_pending(&d).await;
        assert_eq!(state, "done", "{fault} ×{count}");
        let (refunds, sent) = at_sim(&sim, &ext, "order/applyPartRefund");
        assert_eq!(refunds, 1, "{fault} ×{count}: refunds paid at the platform");
        assert_eq!(sent, 1, "{fault} ×{count}: never sent again once there");
        d.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_never_made_is_sent_again_after_looking() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c) = store(dir.path()).await;
    // Refused at the door (a 5xx before anything was done): the look finds nothing, and the
    // refund goes again.
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "5xx", "count": 1, "path": "applyPartRefund"}),
    )
    .await;
    let ext = short_one(&sim, &mut c).await;
    assert_eq!(row_leaves_pending(&d).await.0, "done");
    let (refunds, sent) = at_sim(&sim, &ext, "order/applyPartRefund");
    assert_eq!((refunds, sent), (1, 2));
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_look_waits_and_counts_that_cannot_tell_park_the_refund() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = crate::platform_tests::agent_edited(dir.path(), &sim, "poll", |t| {
        format!("{t}\n[staff]\nmanagers = [\"boss\"]\n")
    })
    .await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    // The refund is made and its answer lost; every look after the first fails.
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "lose_answer", "count": 1, "path": "applyPartRefund"}),
    )
    .await;
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "5xx", "path": "getPartRefundFoods", "skip": 1}),
    )
    .await;
    let ext = short_one(&sim, &mut c).await;
    sim.sim
        .wait_for("three looks, two of them failed", 20, |st| {
            (st.calls
                .get("meituan order/getPartRefundFoods")
                .copied()
                .unwrap_or(0)
                >= 3)
                .then_some(())
        })
        .await;
    let (refunds, sent) = at_sim(&sim, &ext, "order/applyPartRefund");
    assert_eq!(
        (refunds, sent),
        (1, 1),
        "the refund is never repeated while looks fail"
    );
    assert_eq!(adjust_row(&d).0, "pending");
    // Meanwhile the customer's own refund of the same item is granted: the counts fell by two
    // for a refund of one. Nobody can tell from here: parked, and a manager told.
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "agree", "refund_id": "C1", "items": [["W550", 1]]}),
    )
    .await;
    reqwest::Client::new()
        .delete(format!("http://{}/sim/faults", sim.addr))
        .send()
        .await
        .unwrap();
    let (state, error) = row_leaves_pending(&d).await;
    assert_eq!(state, "parked");
    assert!(
        error.contains("cannot tell whether the refund reached"),
        "{error}"
    );
    // `flashpick status` names the row, its reason and how to settle it; a manager marks it
    // done after checking the refund on the platform's console (recorded with who).
    let cfg = dir.path().join("store.toml");
    std::fs::write(
        &cfg,
        crate::platform_tests::agent_config(dir.path(), &sim, "poll")
            .source
            .0,
    )
    .unwrap();
    let cli = |args: &[&str]| {
        let mut all = vec!["--config".to_string(), cfg.display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        async move {
            tokio::task::spawn_blocking(move || {
                crate::cli_tests::bin().args(&all).output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    let status = cli(&["status"]).await;
    let shown = String::from_utf8_lossy(&status.stdout).to_string();
    let row: i64 = d
        .store()
        .read(|c| {
            Ok(
                c.query_row("SELECT id FROM outbox WHERE state = 'parked'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap();
    assert!(
        shown.contains(&format!("parked row {row}"))
            && shown.contains("cannot tell")
            && shown.contains(&format!("flashpick outbox resolve {row}")),
        "{shown}"
    );
    let picker = cli(&[
        "outbox",
        "resolve",
        &row.to_string(),
        "--done",
        "--as",
        "p1",
    ])
    .await;
    assert!(!picker.status.success());
    assert!(String::from_utf8_lossy(&picker.stderr).contains("only a manager"));
    let boss = cli(&[
        "outbox",
        "resolve",
        &row.to_string(),
        "--done",
        "--as",
        "boss",
    ])
    .await;
    assert!(
        boss.status.success(),
        "{}",
        String::from_utf8_lossy(&boss.stderr)
    );
    let (state, by): (String, String) = d
        .store()
        .read(move |c| {
            Ok(c.query_row(
                "SELECT state, resolved_by FROM outbox WHERE id = ?1",
                [row],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!((state.as_str(), by.as_str()), ("done", "boss"));
    let told = within(10, "the manager told", async {
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap()
                && message.contains("cannot tell")
            {
                return message;
            }
        }
    })
    .await;
    assert!(
        told.contains("outbox resolve") && told.contains(&ext),
        "{told}"
    );
    let (refunds, sent) = at_sim(&sim, &ext, "order/applyPartRefund");
    assert_eq!((refunds, sent), (1, 1));
    d.shutdown().await;
}

/// Killed mid-send: the row was marked sent before the refund left, so the store started again
/// looks it up instead of sending it blindly; the refund the platform made meanwhile is paid once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_killed_while_a_refund_is_on_the_wire_looks_it_up_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let cfg = dir.path().join("store.toml");
    let text = crate::platform_tests::agent_config(dir.path(), &sim, "poll")
        .source
        .0;
    std::fs::write(&cfg, &text).unwrap();
    let start = || {
        let (dir, cfg) = (dir.path().to_path_buf(), cfg.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let _ = std::fs::remove_file(dir.join("notify.sock"));
                let (child, notify) = crate::cli_tests::spawn_serve(&dir, &cfg, &[]);
                // Killed whatever happens to the test, never left running.
                let child = Killed(child);
                let mut buf = [0u8; 64];
                let n = notify.recv(&mut buf).expect("READY=1");
                assert!(buf[..n].starts_with(b"READY=1"));
                child
            })
            .await
            .unwrap()
        }
    };
    let mut child = start().await;
    let sock = dir.path().join("fp.sock");
    let mut c = Client::connect(&sock, "test", Some("p1")).await.unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders],
    })
    .await
    .unwrap();
    // The refund is held at the platform for 3 s before it is made; the store dies meanwhile.
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "slow", "slow_ms": 3000, "count": 1, "path": "applyPartRefund"}),
    )
    .await;
    let ext = short_one(&sim, &mut c).await;
    sim.sim
        .wait_for("the refund on the wire", 10, |st| {
            st.calls
                .contains_key("meituan order/applyPartRefund")
                .then_some(())
        })
        .await;
    let db = dir.path().join("store.db");
    let marked: Option<i64> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT sent_at FROM outbox WHERE kind = 'report' AND payload LIKE '%adjust%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(marked.is_some(), "marked sent before it left");
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(c);
    sim.sim
        .wait_for("the refund made after all", 10, |st| {
            st.effects
                .iter()
                .any(|e| e.order.as_deref() == Some(ext.as_str()) && e.action == "refund")
                .then_some(())
        })
        .await;
    let child = start().await;
    let state = within(20, "the row settled after the restart", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            let state: String = rusqlite::Connection::open(&db)
                .unwrap()
                .query_row(
                    "SELECT state FROM outbox WHERE kind = 'report' AND payload LIKE '%adjust%'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            if state != "pending" {
                return state;
            }
            tick.tick().await;
        }
    })
    .await;
    assert_eq!(state, "done");
    assert_eq!(at_sim(&sim, &ext, "order/applyPartRefund"), (1, 1));
    drop(child);
}

/// The daemon's process, killed when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A platform slower than the store's patience: the refund is made after the store gave up
/// waiting. The store looks only `look_after_secs` after sending, so it finds it, and pays once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_made_after_the_store_gave_up_waiting_is_found_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = crate::platform_tests::agent_edited(dir.path(), &sim, "poll", |t| {
        t.replacen(
            "look_after_secs = 1\n",
            "look_after_secs = 3\ntimeout_secs = 1\n",
            1,
        )
    })
    .await;
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "slow", "slow_ms": 1500, "count": 1, "path": "applyPartRefund"}),
    )
    .await;
    let ext = short_one(&sim, &mut c).await;
    assert_eq!(row_leaves_pending(&d).await.0, "done");
    assert_eq!(at_sim(&sim, &ext, "order/applyPartRefund"), (1, 1));
    d.shutdown().await;
}

/// A look the platform refuses for good (the order cancelled there meanwhile): no look will
/// tell, so the refund is parked and a manager told; nothing is paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_the_platform_refuses_parks_the_refund() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c) = store(dir.path()).await;
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "5xx", "count": 1, "path": "applyPartRefund"}),
    )
    .await;
    let ext = short_one(&sim, &mut c).await;
    sim.sim
        .wait_for("the refund's first try", 10, |st| {
            st.calls
                .contains_key("meituan order/applyPartRefund")
                .then_some(())
        })
        .await;
    sim.sim.set_push_to(None);
    sim.sim.cancel(Platform::Meituan, &ext).await.unwrap();
    let (state, error) = row_leaves_pending(&d).await;
    assert_eq!(state, "parked");
    assert!(error.contains("refused the look"), "{error}");
    assert_eq!(at_sim(&sim, &ext, "order/applyPartRefund"), (0, 1));
    d.shutdown().await;
}

/// The refund never made, and meanwhile a customer's refund of the same item and count: the
/// counts fell exactly as if ours were there. The store knows of the customer's refund, so it
/// does not conclude: parked, a manager told, and nothing paid twice or silently skipped. The
/// manager finds only the customer's refund on the console and sends the store's again: it is
/// looked at afresh, paid once, and the row records who resolved it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_refund_of_the_same_units_is_not_taken_for_the_stores() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = crate::platform_tests::agent_edited(dir.path(), &sim, "push", |t| {
        format!("{t}\n[staff]\nmanagers = [\"boss\"]\n")
    })
    .await;
    sim.sim
        .set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "5xx", "count": 1, "path": "applyPartRefund"}),
    )
    .await;
    add_fault(
        &sim,
        json!({"platform": "meituan", "kind": "5xx", "path": "getPartRefundFoods", "skip": 1}),
    )
    .await;
    let ext = short_one(&sim, &mut c).await;
    sim.sim
        .wait_for("a failed look", 20, |st| {
            (st.calls
                .get("meituan order/getPartRefundFoods")
                .copied()
                .unwrap_or(0)
                >= 2)
                .then_some(())
        })
        .await;
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "agree", "refund_id": "C2", "items": [["W550", 1]]}),
    )
    .await;
    reqwest::Client::new()
        .delete(format!("http://{}/sim/faults", sim.addr))
        .send()
        .await
        .unwrap();
    let (state, error) = row_leaves_pending(&d).await;
    assert_eq!(state, "parked");
    assert!(error.contains("cannot tell them apart"), "{error}");
    assert_eq!(at_sim(&sim, &ext, "order/applyPartRefund"), (0, 1));
    let row: i64 = d
        .store()
        .read(|c| {
            Ok(
                c.query_row("SELECT id FROM outbox WHERE state = 'parked'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap();
    let mut boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    let resolved = boss
        .request(Request::ResolveParked { row, resend: true })
        .await
        .unwrap();
    assert_eq!(resolved["state"], "pending");
    let (state, _) = row_leaves_pending(&d).await;
    assert_eq!(state, "done");
    assert_eq!(at_sim(&sim, &ext, "order/applyPartRefund"), (1, 2));
    let by: String = d
        .store()
        .read(move |c| {
            Ok(c.query_row(
                "SELECT resolved_by FROM outbox WHERE id = ?1 AND resolved_at IS NOT NULL",
                [row],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(by, "boss");
    d.shutdown().await;
}
