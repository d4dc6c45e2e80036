//! Customers' requests at the edges of an order's life: left undecided past `decide_within_secs`
//! the decision stops ringing and is the platform's (a manager is told once to look there); an
//! order cancelled meanwhile closes its requests; a refund granted after hand-over is recorded on
//! the order and changes neither its lines nor the stock; JD's after-sale bills are told. Through
//! the real HTTP path, the store's clock moved by hand where time matters.

use crate::common::{order_state, sim_post, wait_state, within};
use crate::platform_tests::{agent_config, local_order, start_sim};
use crate::request_tests::{cancels, decide, effects, next_notice, resolved, store_with_order};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::config::Config;
use flashpick::daemon::{Daemon, StartOptions};
use flashpick::model::{Clock, Platform, Timestamp};
use serde_json::json;
use std::path::Path;

fn request_state(d: &Daemon, id: i64) -> (String, String) {
    d.store()
        .read(move |c| {
            let r = flashpick::store::requests::request(c, id)?.unwrap();
            Ok((
                r.state.as_str().to_string(),
                r.decision_reason.unwrap_or_default(),
            ))
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_nobody_decides_in_time_is_left_to_the_platform_and_stops_ringing() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text = agent_config(dir.path(), &sim, "push").source.0;
    let text = format!("{text}\n[staff]\nmanagers = [\"boss\"]\n");
    let clock = Clock::manual(Timestamp::now());
    let d = Daemon::start_with(
        Config::parse(&text, Path::new("deadline.toml")).unwrap(),
        StartOptions {
            clock: clock.clone(),
            ..StartOptions::default()
        },
    )
    .await
    .unwrap();
    sim.sim
        .set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
    let mut c = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    let mut boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    let ext = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 2)], false)
        .await
        .unwrap();
    let id = local_order(&mut c, &ext).await;
    wait_state(&mut c, id, "accepted").await;
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "apply", "reason": "不想要了"}),
    )
    .await;
    let n = next_notice(&mut c).await;
    let rid = n.request.clone().unwrap().id;
    // One second short of the ten minutes: still the store's to decide.
    assert!(clock.advance(599));
    assert_eq!(request_state(&d, rid).0, "open");
    assert!(clock.advance(1));
    // Both, in whichever order they come: the decision resolved on the screens, the manager
    // told once.
    let (by, told) = within(10, "the decision resolved and the manager told", async {
        let (mut by, mut told) = (None, None);
        while by.is_none() || told.is_none() {
            match c.next_event().await.unwrap() {
                Event::NoticeResolved { key, by: b } if key == n.key => by = Some(b),
                Event::Alert { message, .. } if message.contains("nobody decided") => {
                    told = Some(message)
                }
                _ => {}
            }
        }
        (by.unwrap(), told.unwrap())
    })
    .await;
    assert_eq!(by, "withdrawn");
    assert!(told.contains(&ext) && told.contains("Meituan"), "{told}");
    let (state, note) = request_state(&d, rid);
    assert_eq!(state, "withdrawn");
    assert!(note.contains("not decided in time"), "{note}");
    let late = decide(&mut boss, rid, true, "").await.unwrap_err();
    assert!(
        late.contains("already") || late.contains("not open"),
        "{late}"
    );
    let list = boss.request(Request::ListRequests).await.unwrap();
    assert_eq!(list["requests"], json!([]));
    assert_eq!(order_state(&mut c, id).await, "accepted");
    // The platform agreed by itself and says so: the order is cancelled, once.
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "agree"}),
    )
    .await;
    wait_state(&mut c, id, "cancelled").await;
    assert_eq!(cancels(&d, id), 1);
    assert_eq!(
        effects(&sim, &ext, "full_refund_agree"),
        0,
        "the store sent nothing"
    );
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_cancelled_while_its_customer_asks_closes_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, mut boss, ext, id) = store_with_order(dir.path(), Platform::Jddj).await;
    sim_post(&sim, "/sim/cancel_request", json!({"order_id": ext})).await;
    let n = next_notice(&mut c).await;
    let rid = n.request.clone().unwrap().id;
    // The customer cancels outright (JD's userCancelOrder): the request is moot.
    sim.sim.cancel(Platform::Jddj, &ext).await.unwrap();
    wait_state(&mut c, id, "cancelled").await;
    assert_eq!(resolved(&mut c, &n.key).await, "withdrawn");
    let (state, note) = request_state(&d, rid);
    assert_eq!(state, "withdrawn");
    assert!(note.contains("cancelled"), "{note}");
    let refused = decide(&mut boss, rid, true, "").await.unwrap_err();
    assert!(!refused.is_empty());
    assert_eq!(effects(&sim, &ext, "cancel_agree"), 0, "nothing went to JD");
    d.shutdown().await;
}

/// JD after-sale bills: their fields are not documented here, so the store answers them,
/// changes nothing and tells a manager once per bill and status to decide on JD's app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jd_after_sale_bill_is_told_once_per_bill_and_status_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, _boss, ext, id) = store_with_order(dir.path(), Platform::Jddj).await;
    let bill =
        |bill: &str, message: &str| json!({"order_id": ext, "bill_id": bill, "message": message});
    // The same bill twice (JD retries), then its update: two notices.
    sim_post(
        &sim,
        "/sim/after_sale",
        bill("900001", "newApplyAfterSaleBill"),
    )
    .await;
    sim_post(
        &sim,
        "/sim/after_sale",
        bill("900001", "newApplyAfterSaleBill"),
    )
    .await;
    sim_post(
        &sim,
        "/sim/after_sale",
        bill("900001", "updateApplyAfterSaleBill"),
    )
    .await;
    sim_post(&sim, "/sim/after_sale", bill("900002", "newAfterSaleBill")).await;
    // Alerts arrive in the order the pushes were answered: the last bill's closes the count.
    let told = within(10, "the last bill told", async {
        let mut told = Vec::new();
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap()
                && message.contains("after-sale bill")
            {
                let last = message.contains("900002");
                told.push(message);
                if last {
                    return told;
                }
            }
        }
    })
    .await;
    assert_eq!(told.len(), 3, "{told:#?}");
    assert!(told[0].contains("900001") && told[0].contains("JD merchant app"));
    assert!(told[1].contains("updateApplyAfterSaleBill"));
    let answered = sim
        .sim
        .state
        .lock()
        .unwrap()
        .pushes
        .iter()
        .filter(|(_, m, _, ok)| m.contains("AfterSaleBill") && *ok)
        .count();
    assert_eq!(answered, 4, "every push answered as received");
    assert_eq!(order_state(&mut c, id).await, "accepted");
    d.shutdown().await;
}

/// After hand-over the goods are gone: a partial refund Meituan grants then is recorded on the
/// order (its history, as every change) once by its refund id, and takes no line and no stock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_granted_after_hand_over_is_recorded_once_and_moves_no_stock() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, _boss, ext, id) = store_with_order(dir.path(), Platform::Meituan).await;
    c.request(Request::ClaimOrder {
        order_id: id,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    for _ in 0..2 {
        c.request(Request::RecordScan {
            order_id: id,
            code: "6901234567892".into(),
            scanner: None,
        })
        .await
        .unwrap();
    }
    c.request(Request::CompletePick { order_id: id })
        .await
        .unwrap();
    c.request(Request::Pack {
        order_id: id,
        bags: 1,
    })
    .await
    .unwrap();
    c.request(Request::HandOver {
        order_id: id,
        code: None,
    })
    .await
    .unwrap();
    let stock = crate::request_tests::w550(&mut c).await;
    // Granted twice (the platform pushes the same notice again).
    for _ in 0..2 {
        sim_post(
            &sim,
            "/sim/refund",
            json!({"order_id": ext, "notify_type": "agree", "refund_id": "RH1", "items": [["W550", 1]]}),
        )
        .await;
    }
    let history = |d: &Daemon| {
        d.store()
            .read(move |c| {
                let mut stmt = c.prepare(
                    "SELECT event, to_state FROM order_transition WHERE order_id = ?1 ORDER BY id",
                )?;
                let rows = stmt
                    .query_map([id], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .unwrap()
    };
    let refunds: Vec<(serde_json::Value, String)> = history(&d)
        .into_iter()
        .map(|(e, to)| (serde_json::from_str::<serde_json::Value>(&e).unwrap(), to))
        .filter(|(e, _)| e["type"] == "refund")
        .collect();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].0["refund_id"], "RH1");
    assert_eq!(refunds[0].0["lines"], json!([{"line": 1, "qty": 1}]));
    assert_eq!(refunds[0].1, "handed_over");
    let o = c.request(Request::GetOrder { order_id: id }).await.unwrap();
    assert_eq!(o["order"]["state"], "handed_over");
    assert_eq!(o["order"]["lines"][0]["qty"], 2, "{o}");
    assert_eq!(o["order"]["lines"][0]["picked"], 2, "{o}");
    assert!(
        o["order"]["lines"][0]["put_back"].as_i64().unwrap_or(0) == 0,
        "{o}"
    );
    assert_eq!(crate::request_tests::w550(&mut c).await, stock);
    d.shutdown().await;
}

/// The store manager on SSH: `flashpick requests` lists what waits, and `requests decide`
/// decides it through the same manager check as the screens, once at the platform.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_decides_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text =
        agent_config(dir.path(), &sim, "push").source.0 + "\n[staff]\nmanagers = [\"boss\"]\n";
    let file = dir.path().join("store.toml");
    std::fs::write(&file, &text).unwrap();
    let d = Daemon::start(Config::parse(&text, &file).unwrap())
        .await
        .unwrap();
    sim.sim
        .set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
    let mut c = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    let ext = sim
        .sim
        .new_order(Platform::Jddj, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let id = local_order(&mut c, &ext).await;
    wait_state(&mut c, id, "accepted").await;
    sim_post(&sim, "/sim/cancel_request", json!({"order_id": ext})).await;
    let rid = next_notice(&mut c).await.request.unwrap().id.to_string();
    let cli = |args: &[&str]| {
        let mut all = vec!["--config".to_string(), file.display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        async move {
            tokio::task::spawn_blocking(move || {
                crate::cli_tests::bin().args(&all).output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let listed = cli(&["requests"]).await;
    assert!(listed.status.success(), "{}", text(&listed));
    let row = text(&listed);
    assert!(
        row.contains(&ext) && row.contains("cancel") && row.contains("open"),
        "{row}"
    );
    // A rejection needs its reason; a picker is not a manager.
    let no_reason = cli(&["requests", "decide", &rid, "--reject", "--as", "boss"]).await;
    assert_eq!(no_reason.status.code(), Some(2), "{}", text(&no_reason));
    let picker = cli(&[
        "requests",
        "decide",
        &rid,
        "--reject",
        "--reason",
        "已出库",
        "--as",
        "p1",
    ])
    .await;
    assert!(!picker.status.success());
    assert!(
        text(&picker).contains("only a manager"),
        "{}",
        text(&picker)
    );
    let boss = cli(&[
        "requests",
        "decide",
        &rid,
        "--reject",
        "--reason",
        "已出库",
        "--as",
        "boss",
    ])
    .await;
    assert!(boss.status.success(), "{}", text(&boss));
    assert!(text(&boss).contains("rejecting"), "{}", text(&boss));
    sim.sim
        .wait_for("the rejection at JD", 10, |st| {
            st.effects
                .iter()
                .any(|e| e.order.as_deref() == Some(ext.as_str()) && e.action == "cancel_reject")
                .then_some(())
        })
        .await;
    let again = cli(&["requests", "decide", &rid, "--agree", "--as", "boss"]).await;
    assert!(!again.status.success(), "{}", text(&again));
    assert_eq!(effects(&sim, &ext, "cancel_reject"), 1);
    assert_eq!(effects(&sim, &ext, "cancel_agree"), 0);
    assert_eq!(order_state(&mut c, id).await, "accepted");
    d.shutdown().await;
}
