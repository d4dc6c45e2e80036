//! Customers' requests the store decides, through the real HTTP path both ways: the simulated
//! platform pushes the request, every screen gets a notice with a countdown, a manager (only a
//! manager) decides, the decision goes to the platform once, and its effect on the order happens
//! once when the platform confirms — by answer or by push, whichever comes first.

use crate::common::{order_state, sim_post, wait_state, within};
use crate::platform_tests::{agent_edited, local_order, start_sim};
use flashpick::api::client::Client;
use flashpick::api::{Event, Notice, NoticeKind, Request, Topic};
use flashpick::model::Platform;
use flashpick::sim::SimHandle;
use serde_json::{Value, json};

/// A store whose manager is `boss`: (simulator, daemon, the picker's screen subscribed to orders
/// and alerts, the manager's client, the platform's order id, its local id) for one accepted order
/// of two W550 on `platform`.
pub(crate) async fn store_with_order(
    dir: &std::path::Path,
    platform: Platform,
) -> (
    SimHandle,
    flashpick::daemon::Daemon,
    Client,
    Client,
    String,
    i64,
) {
    crate::common::seed_db(dir, &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent_edited(dir, &sim, "push", |t| {
        format!("{t}\n[staff]\nmanagers = [\"boss\"]\n")
    })
    .await;
    sim.sim
        .set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    let boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    let ext = sim
        .sim
        .new_order(platform, &[("W550".into(), 2)], false)
        .await
        .unwrap();
    let id = local_order(&mut c, &ext).await;
    wait_state(&mut c, id, "accepted").await;
    (sim, d, c, boss, ext, id)
}

/// W550's (on hand, reserved).
pub(crate) async fn w550(c: &mut Client) -> (i64, i64) {
    let s = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    (
        s["items"][0]["on_hand"].as_i64().unwrap(),
        s["items"][0]["reserved"].as_i64().unwrap(),
    )
}

/// The next decision on the screens (new orders stand a moment as notices too).
pub(crate) async fn next_notice(c: &mut Client) -> Notice {
    within(10, "a decision", async {
        loop {
            if let Event::Notice { notice } = c.next_event().await.unwrap()
                && notice.kind == NoticeKind::Decision
            {
                return *notice;
            }
        }
    })
    .await
}

pub(crate) async fn resolved(c: &mut Client, key: &str) -> String {
    within(10, &format!("notice {key} resolved"), async {
        loop {
            if let Event::NoticeResolved { key: k, by } = c.next_event().await.unwrap()
                && k == key
            {
                return by;
            }
        }
    })
    .await
}

pub(crate) async fn next_alert(c: &mut Client) -> String {
    within(10, "an alert", async {
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap() {
                return message;
            }
        }
    })
    .await
}

/// Effects the simulated platform recorded for the order, by action.
pub(crate) fn effects(sim: &SimHandle, order: &str, action: &str) -> usize {
    let st = sim.sim.snapshot();
    st["effects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["order"] == order && e["action"] == action)
        .count()
}

pub(crate) async fn decide(
    c: &mut Client,
    id: i64,
    agree: bool,
    reason: &str,
) -> Result<Value, String> {
    c.request(Request::DecideRequest {
        request_id: id,
        agree,
        reason: reason.into(),
    })
    .await
    .map_err(|e| e.to_string())
}

/// How many cancel transitions the order has.
pub(crate) fn cancels(d: &flashpick::daemon::Daemon, id: i64) -> i64 {
    d.store()
        .read(move |c| {
            Ok(c.query_row(
                "SELECT count(*) FROM order_transition WHERE order_id = ?1 AND to_state = 'cancelled'",
                [id],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_refund_request_is_a_managers_decision_sent_once_and_cancels_when_agreed() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, mut boss, ext, id) = store_with_order(dir.path(), Platform::Meituan).await;
    assert_eq!(w550(&mut c).await, (20, 2));
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "apply", "reason": "买错了"}),
    )
    .await;
    let n = next_notice(&mut c).await;
    assert_eq!(n.kind, NoticeKind::Decision);
    assert_eq!(n.order_id, Some(id));
    assert!(n.message.contains("a full refund") && n.message.contains("买错了"));
    let r = n.request.clone().unwrap();
    // The countdown is the configured 10 minutes from when it arrived.
    assert_eq!(n.due, Some(r.opened_at.0 + 600_000));
    assert!(n.repeat_secs > 0);
    // A screen that subscribes later sees it too.
    let mut late = Client::connect(d.socket_path(), "test", Some("p2"))
        .await
        .unwrap();
    late.request(Request::Subscribe {
        topics: vec![Topic::Alerts],
    })
    .await
    .unwrap();
    assert_eq!(next_notice(&mut late).await.key, n.key);
    // Not a picker's to decide; the order is untouched meanwhile.
    let refused = decide(&mut c, r.id, true, "").await.unwrap_err();
    assert!(refused.contains("only a manager"), "{refused}");
    assert_eq!(order_state(&mut c, id).await, "accepted");

    let answer = decide(&mut boss, r.id, true, "").await.unwrap();
    assert_eq!(answer["request"]["state"], "agreeing");
    assert!(resolved(&mut c, &n.key).await.contains("boss"));
    // Deciding again is refused here: nothing more is sent.
    let again = decide(&mut boss, r.id, false, "不行").await.unwrap_err();
    assert!(again.contains("already"), "{again}");
    // The platform takes it and pushes its own notice of the refund as well: the order is
    // cancelled once and its stock released once.
    wait_state(&mut c, id, "cancelled").await;
    sim.sim
        .wait_for("the platform's agree notice answered", 10, |st| {
            // The request's push, then the outcome's.
            (st.pushes
                .iter()
                .filter(|(_, m, o, ok)| m == "refund" && o == &ext && *ok)
                .count()
                >= 2)
                .then_some(())
        })
        .await;
    assert_eq!(w550(&mut c).await, (20, 0));
    assert_eq!(effects(&sim, &ext, "full_refund_agree"), 1);
    assert_eq!(cancels(&d, id), 1);
    let list = boss.request(Request::ListRequests).await.unwrap();
    assert_eq!(list["requests"], json!([]), "nothing is left waiting");
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_refund_request_leaves_the_order_to_be_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, mut boss, ext, id) = store_with_order(dir.path(), Platform::Meituan).await;
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "apply"}),
    )
    .await;
    let n = next_notice(&mut c).await;
    let r = n.request.unwrap();
    // The platform shows the customer why: a rejection needs a reason.
    let no_reason = decide(&mut boss, r.id, false, "  ").await.unwrap_err();
    assert!(no_reason.contains("needs a reason"), "{no_reason}");
    decide(&mut boss, r.id, false, "商品已打包").await.unwrap();
    resolved(&mut c, &n.key).await;
    sim.sim
        .wait_for("the rejection", 10, |st| {
            st.effects
                .iter()
                .any(|e| {
                    e.order.as_deref() == Some(ext.as_str()) && e.action == "full_refund_reject"
                })
                .then_some(())
        })
        .await;
    // Its push comes back too; the order goes on, its stock held.
    sim.sim
        .wait_for("the platform's reject notice answered", 10, |st| {
            // The request's push, then the outcome's.
            (st.pushes
                .iter()
                .filter(|(_, m, o, ok)| m == "refund" && o == &ext && *ok)
                .count()
                >= 2)
                .then_some(())
        })
        .await;
    assert_eq!(order_state(&mut c, id).await, "accepted");
    assert_eq!(w550(&mut c).await, (20, 2));
    assert_eq!(effects(&sim, &ext, "full_refund_reject"), 1);
    let state: String = d
        .store()
        .read(move |c| Ok(flashpick::store::requests::request(c, r.id)?.unwrap().state))
        .map(|s| s.as_str().to_string())
        .unwrap();
    assert_eq!(state, "rejected");
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_refund_request_names_its_items_and_an_agreed_one_is_told_once() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, mut boss, ext, _id) = store_with_order(dir.path(), Platform::Meituan).await;
    // Withdrawn before anyone decided: the notice goes away by itself.
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "part", "refund_id": "PR1", "items": [["W550", 1]]}),
    )
    .await;
    let n = next_notice(&mut c).await;
    let r = n.request.clone().unwrap();
    assert_eq!(r.asked.items.len(), 1);
    assert_eq!(
        (r.asked.items[0].code.as_deref(), r.asked.items[0].count),
        (Some("W550"), 1)
    );
    assert!(n.message.contains("a refund of"), "{}", n.message);
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "cancelRefund", "refund_id": "PR1", "items": [["W550", 1]]}),
    )
    .await;
    assert_eq!(resolved(&mut c, &n.key).await, "withdrawn");
    // Asked and rejected by the manager: the platform is told once, the order is as it was.
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "part", "refund_id": "PR0", "items": [["W550", 1]]}),
    )
    .await;
    let n = next_notice(&mut c).await;
    decide(&mut boss, n.request.unwrap().id, false, "商品无质量问题")
        .await
        .unwrap();
    sim.sim
        .wait_for("the rejection", 10, |st| {
            st.effects
                .iter()
                .any(|e| {
                    e.order.as_deref() == Some(ext.as_str()) && e.action == "part_refund_reject"
                })
                .then_some(())
        })
        .await;
    assert_eq!(w550(&mut c).await, (20, 2), "nothing taken off");
    // Asked again, agreed by the manager: the platform answers and pushes its notice; the
    // screens are told to take the unit out once.
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "part", "refund_id": "PR2", "items": [["W550", 1]]}),
    )
    .await;
    let n = next_notice(&mut c).await;
    decide(&mut boss, n.request.unwrap().id, true, "")
        .await
        .unwrap();
    let alert = next_alert(&mut c).await;
    assert!(alert.contains("partial refund was granted"), "{alert}");
    assert_eq!(w550(&mut c).await, (20, 1), "one unit fewer reserved");
    sim.sim
        .wait_for("the platform's agree notice answered", 10, |st| {
            // Three requests (withdrawn, rejected with its push, agreed with its push).
            (st.pushes
                .iter()
                .filter(|(_, m, o, ok)| m == "partrefund" && o == &ext && *ok)
                .count()
                >= 6)
                .then_some(())
        })
        .await;
    // The same notice again (the platform retries): still once.
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "agree", "refund_id": "PR2", "items": [["W550", 1]]}),
    )
    .await;
    // A notice of a kind not known comes after it: everything the repeat caused is before.
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "partly?", "refund_id": "PR2", "items": [["W550", 1]]}),
    )
    .await;
    loop {
        let a = next_alert(&mut c).await;
        assert!(!a.contains("partial refund was granted"), "twice: {a}");
        if a.contains("unknown kind") {
            break;
        }
    }
    assert_eq!(w550(&mut c).await, (20, 1), "taken off once");
    assert_eq!(effects(&sim, &ext, "part_refund_agree"), 1);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jd_cancel_request_is_decided_either_way_and_a_refused_decision_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, mut boss, ext, id) = store_with_order(dir.path(), Platform::Jddj).await;
    sim_post(&sim, "/sim/cancel_request", json!({"order_id": ext})).await;
    let n = next_notice(&mut c).await;
    assert!(n.message.contains("to cancel the order"), "{}", n.message);
    decide(&mut boss, n.request.unwrap().id, true, "")
        .await
        .unwrap();
    wait_state(&mut c, id, "cancelled").await;
    assert_eq!(effects(&sim, &ext, "cancel_agree"), 1);
    assert_eq!(w550(&mut c).await, (20, 0));

    // Rejected: the order goes on.
    let ext2 = sim
        .sim
        .new_order(Platform::Jddj, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let id2 = local_order(&mut c, &ext2).await;
    wait_state(&mut c, id2, "accepted").await;
    sim_post(&sim, "/sim/cancel_request", json!({"order_id": ext2})).await;
    let n = next_notice(&mut c).await;
    decide(&mut boss, n.request.unwrap().id, false, "已出库")
        .await
        .unwrap();
    sim.sim
        .wait_for("the rejection", 10, |st| {
            st.effects
                .iter()
                .any(|e| e.order.as_deref() == Some(ext2.as_str()) && e.action == "cancel_reject")
                .then_some(())
        })
        .await;
    assert_eq!(order_state(&mut c, id2).await, "accepted");

    // The customer cancelled meanwhile, unknown to the store: JD refuses the decision, the request closes as failed
    // and the manager is told what to do.
    let ext3 = sim
        .sim
        .new_order(Platform::Jddj, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let id3 = local_order(&mut c, &ext3).await;
    wait_state(&mut c, id3, "accepted").await;
    sim_post(&sim, "/sim/cancel_request", json!({"order_id": ext3})).await;
    let n = next_notice(&mut c).await;
    // The cancel's push never reached the store (told, it would close the request itself:
    // request_deadline_tests).
    sim.sim.set_push_to(None);
    sim.sim.cancel(Platform::Jddj, &ext3).await.unwrap();
    sim.sim
        .set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
    let rid = n.request.unwrap().id;
    decide(&mut boss, rid, true, "").await.unwrap();
    let alert = within(10, "the refusal told", async {
        loop {
            let a = next_alert(&mut c).await;
            if a.contains("refused the store's decision") {
                return a;
            }
        }
    })
    .await;
    assert!(
        alert.contains(&ext3) && alert.contains("订单已取消"),
        "{alert}"
    );
    let state = d
        .store()
        .read(move |c| Ok(flashpick::store::requests::request(c, rid)?.unwrap().state))
        .unwrap();
    assert_eq!(state.as_str(), "failed");
    // JD's no is its answer: the decision's row is settled done (just after the alert), not
    // parked for a person to fix.
    let decision_rows = || -> Vec<String> {
        d.store()
            .read(|c| {
                let mut stmt = c.prepare("SELECT state FROM outbox WHERE kind = 'decision'")?;
                let rows = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(rows)
            })
            .unwrap()
    };
    let rows = within(10, "the decision's row settled", async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
        loop {
            let rows = decision_rows();
            if rows.iter().all(|s| s != "pending") {
                return rows;
            }
            tick.tick().await;
        }
    })
    .await;
    assert!(rows.iter().all(|s| s == "done"), "{rows:?}");
    d.shutdown().await;
}

/// A granted partial refund of a unit already picked puts it on the put-back list (booked back
/// when staff confirm); the store's own refund after a short pick, coming back as a push, takes
/// nothing off a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picked_units_a_refund_takes_go_back_and_the_stores_own_refund_is_not_taken_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, _boss, ext, id) = store_with_order(dir.path(), Platform::Meituan).await;
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
    assert_eq!(w550(&mut c).await, (19, 1));
    // The platform grants a refund of both units (decided on its console).
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "agree", "refund_id": "PR9", "items": [["W550", 2]]}),
    )
    .await;
    let o = c.request(Request::GetOrder { order_id: id }).await.unwrap();
    let line = &o["order"]["lines"][0];
    assert_eq!(
        (line["qty"].as_i64(), line["picked"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(line["put_back"], 1);
    assert_eq!(o["order"]["return_pending"], true);
    assert_eq!(w550(&mut c).await, (19, 0), "the unit to pick released");
    c.request(Request::ConfirmReturn { order_id: id })
        .await
        .unwrap();
    assert_eq!(
        w550(&mut c).await,
        (20, 0),
        "the picked unit back on the shelf"
    );
    assert_eq!(order_state(&mut c, id).await, "picking");

    // Another order: one unit short-picked, the store refunds it; the platform's notice of that
    // refund comes back with an id the store never saw.
    let ext2 = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 2)], false)
        .await
        .unwrap();
    let id2 = local_order(&mut c, &ext2).await;
    wait_state(&mut c, id2, "accepted").await;
    c.request(Request::ClaimOrder {
        order_id: id2,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    c.request(Request::RecordScan {
        order_id: id2,
        code: "6901234567892".into(),
        scanner: None,
    })
    .await
    .unwrap();
    c.request(Request::MarkShort {
        order_id: id2,
        line_no: 1,
        qty: 1,
        reason: "out_of_stock".into(),
    })
    .await
    .unwrap();
    c.request(Request::CompletePick { order_id: id2 })
        .await
        .unwrap();
    sim.sim
        .wait_for("the store's refund", 10, |st| {
            st.effects
                .iter()
                .any(|e| e.order.as_deref() == Some(ext2.as_str()) && e.action == "refund")
                .then_some(())
        })
        .await;
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext2, "notify_type": "agree", "refund_id": "OWN1", "items": [["W550", 1]]}),
    )
    .await;
    let o = c
        .request(Request::GetOrder { order_id: id2 })
        .await
        .unwrap();
    let line = &o["order"]["lines"][0];
    assert_eq!(
        (
            line["qty"].as_i64(),
            line["picked"].as_i64(),
            line["short"].as_i64()
        ),
        (Some(2), Some(1), Some(1)),
        "nothing taken off twice"
    );
    assert_eq!(o["order"]["state"], "picked");
    d.shutdown().await;
}

/// The simulator enforces the platforms' rules on decisions, on the raw answers to requests the
/// adapter signs: the same decision again is "already done" (what a lost answer's repeat gets),
/// the other decision after it is refused, and a decision on an order with no request is refused;
/// JD likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_decisions_the_platforms_refuse() {
    use flashpick::config::{PlatformSection, Secret};
    use flashpick::model::request::RequestKind;
    use flashpick::sync::Action;
    let dir = tempfile::tempdir().unwrap();
    let (sim, d, mut c, mut boss, ext, _id) = store_with_order(dir.path(), Platform::Meituan).await;
    let mt = flashpick::sync::meituan::Meituan::new(&PlatformSection {
        enabled: true,
        base_url: Some(sim.meituan_base()),
        app_id: "sim-meituan".into(),
        secret: Secret::new("sim-meituan-secret"),
        ..PlatformSection::default()
    });
    let send = |order: String, agree: bool| {
        let call = mt
            .action(
                &Action::Decide {
                    order,
                    kind: RequestKind::FullRefund,
                    agree,
                    reason: "测试".into(),
                },
                flashpick::model::Timestamp::now(),
            )
            .unwrap();
        async move {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(call.params.iter())
                .finish();
            reqwest::get(format!("{}?{query}", call.url))
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // No request on the order yet.
    let none = send(ext.clone(), true).await;
    assert_eq!(none["error"]["code"], 808, "{none}");
    assert!(
        none["error"]["msg"].as_str().unwrap().contains("没有"),
        "{none}"
    );
    // Asked, agreed by the manager through the store.
    sim_post(
        &sim,
        "/sim/refund",
        json!({"order_id": ext, "notify_type": "apply"}),
    )
    .await;
    let n = next_notice(&mut c).await;
    decide(&mut boss, n.request.unwrap().id, true, "")
        .await
        .unwrap();
    sim.sim
        .wait_for("the agreement", 10, |st| {
            st.effects
                .iter()
                .any(|e| {
                    e.order.as_deref() == Some(ext.as_str()) && e.action == "full_refund_agree"
                })
                .then_some(())
        })
        .await;
    // The same again: "already" (the adapter takes it as done); the other way: refused.
    let again = send(ext.clone(), true).await;
    assert!(
        again["error"]["msg"].as_str().unwrap().contains('已'),
        "{again}"
    );
    let other = send(ext.clone(), false).await;
    assert!(
        !other["error"]["msg"].as_str().unwrap().contains('已'),
        "{other}"
    );
    assert_eq!(effects(&sim, &ext, "full_refund_agree"), 1);
    assert_eq!(effects(&sim, &ext, "full_refund_reject"), 0);
    d.shutdown().await;
}
