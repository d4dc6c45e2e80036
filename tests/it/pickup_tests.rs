//! Customers collecting their orders (自提), through the real HTTP path: a Meituan pickup order
//! is handed over by its day number, typed with its platform; a JD one by the customer's code,
//! checked with JD at the counter; JD unreachable, the hand-over waits unless a manager skips the
//! check (logged, told to every screen).

use crate::common::within;
use crate::platform_tests::{agent_edited, local_order, start_sim};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::model::Platform;
use flashpick::sim::SimHandle;
use serde_json::{Value, json};

async fn packed_pickup(sim: &SimHandle, c: &mut Client, platform: Platform) -> (String, i64) {
    let carrier = if platform == Platform::Meituan {
        "pickup"
    } else {
        "9999"
    };
    let ext = sim
        .sim
        .new_order_by(platform, &[("W550".into(), 1)], false, Some(carrier))
        .await
        .unwrap();
    let id = local_order(c, &ext).await;
    crate::common::wait_state(c, id, "accepted").await;
    crate::common::pick_one_w550_and_pack(c, id).await;
    (ext, id)
}

async fn hand_over(
    c: &mut Client,
    order_id: Option<i64>,
    platform: Platform,
    code: &str,
    unchecked: bool,
) -> Result<Value, String> {
    c.request(Request::HandOverPickup {
        order_id,
        platform,
        code: code.into(),
        unchecked,
    })
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_collects_with_the_code_of_the_right_platform() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent_edited(dir.path(), &sim, "push", |t| {
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

    // Meituan: the code is the day number.
    let (_, mt) = packed_pickup(&sim, &mut c, Platform::Meituan).await;
    let o = c.request(Request::GetOrder { order_id: mt }).await.unwrap();
    assert_eq!(o["order"]["delivery"], "pickup");
    let seq = o["order"]["day_seq"].as_u64().unwrap();
    assert_eq!(o["order"]["pickup_code"], seq.to_string());
    // A plain hand-over (a rider's) would skip the code: refused.
    let plain = c
        .request(Request::HandOver {
            order_id: mt,
            code: None,
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(plain.contains("collected by the customer"), "{plain}");
    let wrong = hand_over(&mut c, Some(mt), Platform::Meituan, "999", false)
        .await
        .unwrap_err();
    assert!(wrong.contains("wrong pickup code"), "{wrong}");
    // The same number on the other platform is another order.
    let other = hand_over(&mut c, None, Platform::Jddj, &seq.to_string(), false)
        .await
        .unwrap_err();
    assert!(other.contains("open the order first"), "{other}");
    let done = hand_over(&mut c, None, Platform::Meituan, &format!("#{seq}"), false)
        .await
        .unwrap();
    assert_eq!(done["order"]["state"], "handed_over");

    // JD: the customer's code is checked with JD.
    let (jd, jd_id) = packed_pickup(&sim, &mut c, Platform::Jddj).await;
    let right = &jd[jd.len() - 6..];
    let wrong = hand_over(&mut c, Some(jd_id), Platform::Jddj, "000000", false)
        .await
        .unwrap_err();
    assert!(wrong.contains("JD refused the pickup code"), "{wrong}");
    // JD unreachable: the order waits; a picker cannot skip the check, a manager can.
    reqwest::Client::new()
        .post(format!("http://{}/sim/faults", sim.addr))
        .json(&json!({"platform": "jddj", "kind": "5xx"}))
        .send()
        .await
        .unwrap();
    let offline = hand_over(&mut c, Some(jd_id), Platform::Jddj, right, false)
        .await
        .unwrap_err();
    assert!(
        offline.contains("cannot check the pickup code"),
        "{offline}"
    );
    let not_yours = hand_over(&mut c, Some(jd_id), Platform::Jddj, right, true)
        .await
        .unwrap_err();
    assert!(not_yours.contains("only a manager"), "{not_yours}");
    let mut boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    let done = hand_over(&mut boss, Some(jd_id), Platform::Jddj, right, true)
        .await
        .unwrap();
    assert_eq!(done["order"]["state"], "handed_over");
    let told = within(10, "the skipped check told", async {
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap()
                && message.contains("without JD's pickup code check")
            {
                return message;
            }
        }
    })
    .await;
    assert!(told.contains("by boss"), "{told}");
    reqwest::Client::new()
        .delete(format!("http://{}/sim/faults", sim.addr))
        .send()
        .await
        .unwrap();

    // JD back: the right code hands over.
    let (jd2, jd2_id) = packed_pickup(&sim, &mut c, Platform::Jddj).await;
    let done = hand_over(
        &mut c,
        Some(jd2_id),
        Platform::Jddj,
        &jd2[jd2.len() - 6..],
        false,
    )
    .await
    .unwrap();
    assert_eq!(done["order"]["state"], "handed_over");
    // A rider's order is not handed to a customer.
    let ext = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let rider_order = local_order(&mut c, &ext).await;
    let refused = hand_over(&mut c, Some(rider_order), Platform::Meituan, "1", false)
        .await
        .unwrap_err();
    assert!(refused.contains("goes with a rider"), "{refused}");
    d.shutdown().await;
}
