//! Riders and reminders through the real HTTP path: the simulated platforms push rider events
//! in their own codes (in order and out of order) and customers' reminders; the order carries
//! the rider, a rider waiting for an unpacked order stands on every screen until it is packed, a
//! cancelled delivery of a packed order is told with what to do, and a chased order stands until
//! someone opens it — across a restart too.

use crate::common::{sim_post, within};
use crate::platform_tests::{agent, local_order, start_sim};
use flashpick::api::client::Client;
use flashpick::api::{Event, Notice, NoticeKind, Request, Topic};
use flashpick::model::Platform;
use flashpick::sim::SimHandle;
use serde_json::{Value, json};

/// The order as `/sim/state` shows it.
fn sim_order(sim: &SimHandle, id: &str) -> Value {
    sim.sim.snapshot()["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .cloned()
        .unwrap()
}

async fn order(c: &mut Client, id: i64) -> Value {
    c.request(Request::GetOrder { order_id: id }).await.unwrap()["order"].clone()
}

async fn next_notice(c: &mut Client, kind: NoticeKind) -> Notice {
    within(10, "a notice", async {
        loop {
            if let Event::Notice { notice } = c.next_event().await.unwrap()
                && notice.kind == kind
            {
                return *notice;
            }
        }
    })
    .await
}

async fn resolved(c: &mut Client, key: &str) -> String {
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

async fn accepted(sim: &SimHandle, c: &mut Client, platform: Platform) -> (String, i64) {
    let ext = sim
        .sim
        .new_order(platform, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let id = local_order(c, &ext).await;
    crate::common::wait_state(c, id, "accepted").await;
    (ext, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rider_at_the_store_for_an_unpacked_order_stands_until_it_is_packed() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    let (ext, id) = accepted(&sim, &mut c, Platform::Meituan).await;
    let push = |status: &str, at: i64| {
        json!({"platform": "meituan", "order_id": ext, "status": status, "at": at,
               "name": "张师傅", "phone": "13812345678_1234"})
    };
    sim_post(&sim, "/sim/rider", push("assigned", 1_800_000_100)).await;
    let o = order(&mut c, id).await;
    assert_eq!(o["rider"]["status"], "assigned");
    assert_eq!(o["rider"]["name"], "张师傅");
    assert_eq!(
        o["rider"]["phone"], "138****5678_1234",
        "the number is masked"
    );
    sim_post(&sim, "/sim/rider", push("at_store", 1_800_000_300)).await;
    let n = next_notice(&mut c, NoticeKind::RiderWaiting).await;
    assert_eq!(n.order_id, Some(id));
    assert!(
        n.message.contains("张师傅 is at the store"),
        "{}",
        n.message
    );
    // A late push of an earlier event changes nothing.
    sim_post(&sim, "/sim/rider", push("assigned", 1_800_000_200)).await;
    assert_eq!(order(&mut c, id).await["rider"]["status"], "at_store");
    // Packed: the rider's wait is over.
    crate::common::pick_one_w550_and_pack(&mut c, id).await;
    assert_eq!(resolved(&mut c, &n.key).await, "packed");
    assert_eq!(
        sim_order(&sim, &ext)["rider"],
        "assigned",
        "/sim/state: the last pushed"
    );
    sim_post(&sim, "/sim/rider", push("picked_up", 1_800_000_400)).await;
    let o = order(&mut c, id).await;
    assert_eq!(o["rider"]["status"], "picked_up");
    assert_eq!(
        o["rider"]["arrived_at"], 1_800_000_300_000i64,
        "when the rider arrived is kept"
    );

    // JD, in its own codes: a cancelled delivery of a packed order is told with what to do.
    let (jd, jd_id) = accepted(&sim, &mut c, Platform::Jddj).await;
    crate::common::pick_one_w550_and_pack(&mut c, jd_id).await;
    sim_post(
        &sim,
        "/sim/rider",
        json!({"platform": "jddj", "order_id": jd, "status": "at_store"}),
    )
    .await;
    assert_eq!(order(&mut c, jd_id).await["rider"]["status"], "at_store");
    sim_post(
        &sim,
        "/sim/rider",
        json!({"platform": "jddj", "order_id": jd, "status": "cancelled", "at": 4_000_000_000i64}),
    )
    .await;
    let alert = within(10, "the cancelled delivery told", async {
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap()
                && message.contains("cancelled its delivery")
            {
                return message;
            }
        }
    })
    .await;
    assert!(alert.contains("keep the bags"), "{alert}");
    // A status no platform code names is not guessed.
    sim_post(
        &sim,
        "/sim/rider",
        json!({"platform": "jddj", "order_id": jd, "status": "77", "at": 4_000_000_100i64}),
    )
    .await;
    assert_eq!(order(&mut c, jd_id).await["rider"]["status"], "cancelled");
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chased_order_stands_until_someone_opens_it_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    let (ext, id) = accepted(&sim, &mut c, Platform::Meituan).await;
    sim_post(&sim, "/sim/remind", json!({"order_id": ext})).await;
    let n = next_notice(&mut c, NoticeKind::Reminder).await;
    assert_eq!(n.order_id, Some(id));
    assert!(n.repeat_secs > 0);
    assert_eq!(sim_order(&sim, &ext)["reminders"], 1, "/sim/state shows it");
    drop(c);
    d.shutdown().await;

    // After a restart the reminder still stands, for a screen that subscribes.
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Alerts],
    })
    .await
    .unwrap();
    let again = next_notice(&mut c, NoticeKind::Reminder).await;
    assert_eq!(again.key, n.key);
    // Someone opens it: every screen drops it, and it does not come back.
    let mut other = Client::connect(d.socket_path(), "test", Some("p2"))
        .await
        .unwrap();
    assert!(order(&mut other, id).await["reminded_at"].is_number());
    assert_eq!(resolved(&mut c, &n.key).await, "opened");
    assert!(order(&mut other, id).await.get("reminded_at").is_none());
    d.shutdown().await;
}

/// A store that accepts by hand: a new order stands on every screen (a screen attaching later
/// included) until it is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_order_stands_until_it_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let ids = crate::common::seed_db(dir.path(), &[("MT-NEW", &[("W550", 1)])]);
    let d = flashpick::daemon::Daemon::start(crate::common::daemon_config(dir.path()))
        .await
        .unwrap();
    let mut c = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Alerts],
    })
    .await
    .unwrap();
    let n = next_notice(&mut c, NoticeKind::NewOrder).await;
    assert_eq!(n.order_id, Some(ids[0].0));
    assert!(n.repeat_secs > 0 && n.message.contains("waits to be accepted"));
    c.request(Request::AcceptOrder { order_id: ids[0].0 })
        .await
        .unwrap();
    assert_eq!(resolved(&mut c, &n.key).await, "accepted");
    d.shutdown().await;
}

/// The platform's view of the store (Meituan's store-status push) is told to every screen:
/// resting means no new orders from that platform.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platforms_view_of_the_store_is_told() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Alerts],
    })
    .await
    .unwrap();
    for (status, says) in [("resting", "resting (休息)"), ("open", "open for orders")] {
        sim_post(&sim, "/sim/store_status", json!({ "status": status })).await;
        let told = within(10, "the store's status told", async {
            loop {
                if let Event::Alert { message, .. } = c.next_event().await.unwrap()
                    && message.starts_with("Meituan says the store is")
                {
                    return message;
                }
            }
        })
        .await;
        assert!(told.contains(says), "{told}");
    }
    d.shutdown().await;
}
