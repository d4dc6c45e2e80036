//! Meituan's full-refund push decides nothing by itself: only `agree` cancels the order. A
//! request is told to every screen, a refused or withdrawn one leaves the order as it is (and
//! lifts the "never take it" mark an earlier release left for a request that came first), and a
//! notice of a kind not known changes nothing and is told.

use crate::platform_tests::{agent, start_sim};
use crate::push_tests::{mt_signed_as, paid};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::model::{Platform, Timestamp};
use serde_json::{Value, json};

/// Posts a Meituan push and returns its answer (the effect is committed by then).
async fn post(base: &str, message: &str, body: String) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/meituan/{message}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn refund(order: &str, notify_type: &str) -> String {
    mt_signed_as(
        "refund",
        &[
            ("order_id", order.to_string()),
            ("notify_type", notify_type.to_string()),
            ("reason", "不想要了".to_string()),
            ("refund_id", "R1".to_string()),
        ],
    )
}

/// The order's state and W550's (on hand, reserved).
async fn state(c: &mut Client, id: i64) -> (String, i64, i64) {
    let o = c.request(Request::GetOrder { order_id: id }).await.unwrap();
    let s = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    (
        o["order"]["state"].as_str().unwrap().to_string(),
        s["items"][0]["on_hand"].as_i64().unwrap(),
        s["items"][0]["reserved"].as_i64().unwrap(),
    )
}

/// The next decision on the screens (new orders stand a moment as notices too).
async fn next_notice(c: &mut Client) -> String {
    crate::common::within(10, "a decision", async {
        loop {
            if let Event::Notice { notice } = c.next_event().await.unwrap()
                && notice.kind == flashpick::api::NoticeKind::Decision
            {
                return notice.message;
            }
        }
    })
    .await
}

async fn next_alert(c: &mut Client) -> String {
    crate::common::within(10, "an alert", async {
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap() {
                return message;
            }
        }
    })
    .await
}

/// A store taking Meituan pushes, a screen subscribed to orders and alerts, and one Meituan order
/// of two W550, accepted: (simulator, daemon, screen, webhook base URL, platform id, local id).
async fn accepted_order(
    dir: &std::path::Path,
) -> (
    flashpick::sim::SimHandle,
    flashpick::daemon::Daemon,
    Client,
    String,
    String,
    i64,
) {
    crate::common::seed_db(dir, &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir, &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    let base = format!("http://{}", d.webhook_addr().unwrap());
    let ext = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 2)], false)
        .await
        .unwrap();
    let id = crate::platform_tests::local_order(&mut c, &ext).await;
    crate::common::within(10, "the order accepted", async {
        while state(&mut c, id).await.0 != "accepted" {
            c.next_event().await.unwrap();
        }
    })
    .await;
    (sim, d, c, base, ext, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_refund_push_cancels_the_order_only_when_agreed() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, d, mut c, base, ext, id) = accepted_order(dir.path()).await;
    let held = state(&mut c, id).await;
    assert_eq!(held, ("accepted".into(), 20, 2));

    // The customer asks: the store is told, the order goes on.
    assert_eq!(
        post(&base, "refund", refund(&ext, "apply")).await["data"],
        "ok"
    );
    // A decision for a manager, on every screen (request_tests.rs decides it).
    let notice = next_notice(&mut c).await;
    assert!(
        notice.contains(&ext) && notice.contains("asks a full refund"),
        "{notice}"
    );
    assert_eq!(state(&mut c, id).await, held, "a request cancels nothing");
    // Refused, withdrawn, or a kind not known: the order goes on (the last is told).
    for kind in ["reject", "cancelRefund", "cancelRefundComplaint"] {
        assert_eq!(
            post(&base, "refund", refund(&ext, kind)).await["data"],
            "ok"
        );
        assert_eq!(state(&mut c, id).await, held, "{kind} cancels nothing");
    }
    assert_eq!(
        post(&base, "refund", refund(&ext, "partly?")).await["data"],
        "ok"
    );
    let alert = next_alert(&mut c).await;
    assert!(alert.contains("unknown kind `partly?`"), "{alert}");
    assert_eq!(state(&mut c, id).await, held);
    // Agreed: cancelled, the stock it held released.
    assert_eq!(
        post(&base, "refund", refund(&ext, "agree")).await["data"],
        "ok"
    );
    assert_eq!(state(&mut c, id).await, ("cancelled".into(), 20, 0));
    d.shutdown().await;
}

/// A request that came before its order left a mark (releases before the fix cancelled on any
/// refund push) that kept the order out for good: refused or withdrawn, the mark is lifted and the
/// order is taken when it comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refund_lifts_the_mark_an_early_request_left() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders],
    })
    .await
    .unwrap();
    let base = format!("http://{}", d.webhook_addr().unwrap());
    // As the release before left it.
    d.store()
        .set_sync_state("cancelled:meituan:MT-R9", "1")
        .await
        .unwrap();
    assert_eq!(
        post(&base, "refund", refund("MT-R9", "reject")).await["data"],
        "ok"
    );
    let now = (Timestamp::now().0 / 1000).to_string();
    let detail = json!([{"app_food_code": "W550", "quantity": 1, "price": "2.00"}]);
    assert_eq!(
        post(&base, "paid", paid("MT-R9", &now, detail)).await["data"],
        "ok"
    );
    crate::platform_tests::local_order(&mut c, "MT-R9").await;
    // A cancellation that came before its order leaves a mark a refused request does not lift.
    let cancel = mt_signed_as(
        "cancel",
        &[
            ("order_id", "MT-C1".to_string()),
            ("reason", "用户取消".to_string()),
        ],
    );
    assert_eq!(post(&base, "cancel", cancel).await["data"], "ok");
    assert_eq!(
        post(&base, "refund", refund("MT-C1", "reject")).await["data"],
        "ok"
    );
    let detail = json!([{"app_food_code": "W550", "quantity": 1, "price": "2.00"}]);
    assert_eq!(
        post(&base, "paid", paid("MT-C1", &now, detail)).await["data"],
        "ok"
    );
    let taken = d
        .store()
        .read(|c| flashpick::store::order_id_by_external(c, Platform::Meituan, "MT-C1"))
        .unwrap();
    assert_eq!(taken, None, "a cancelled order is never taken");
    d.shutdown().await;
}

/// A partial-refund push names the items and counts on the order's screens: asked (a decision),
/// withdrawn (it goes away), granted by the platform itself (one unit fewer, once, however often
/// the notice comes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_refund_push_names_the_items_on_the_screens() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, d, mut c, base, ext, id) = accepted_order(dir.path()).await;
    assert_eq!(state(&mut c, id).await, ("accepted".into(), 20, 2));
    let food = json!([{"app_food_code": "W550", "food_name": "农夫山泉 550ml", "count": 1, "refund_price": 2.0}]);
    let push = |kind: &str, refund: &str| {
        mt_signed_as(
            "partrefund",
            &[
                ("order_id", ext.clone()),
                ("notify_type", kind.to_string()),
                ("refund_id", refund.to_string()),
                ("food", food.to_string()),
                ("money", "2.00".to_string()),
            ],
        )
    };
    // Asked: a decision naming the items; withdrawn: it goes away.
    assert_eq!(
        post(&base, "partrefund", push("part", "PR1")).await["data"],
        "ok"
    );
    let notice = next_notice(&mut c).await;
    assert!(
        notice.contains(&ext) && notice.contains("a refund of 农夫山泉 550ml ×1"),
        "{notice}"
    );
    assert_eq!(
        post(&base, "partrefund", push("cancelRefund", "PR1")).await["data"],
        "ok"
    );
    // Asked again and agreed by the platform itself: the screens are told to take them out.
    assert_eq!(
        post(&base, "partrefund", push("part", "PR2")).await["data"],
        "ok"
    );
    next_notice(&mut c).await;
    assert_eq!(
        post(&base, "partrefund", push("agree", "PR2")).await["data"],
        "ok"
    );
    let alert = next_alert(&mut c).await;
    assert!(
        alert.contains("partial refund was granted: fewer units to pick"),
        "{alert}"
    );
    // One unit fewer on the order, its reservation released.
    assert_eq!(state(&mut c, id).await, ("accepted".into(), 20, 1));
    // The same notice again (the platform retries): still once.
    assert_eq!(
        post(&base, "partrefund", push("agree", "PR2")).await["data"],
        "ok"
    );
    assert_eq!(state(&mut c, id).await, ("accepted".into(), 20, 1));
    d.shutdown().await;
}
