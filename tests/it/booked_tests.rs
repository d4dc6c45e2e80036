//! Booked orders (预订单) with the store's clock moved by hand: a Meituan order booked hours
//! ahead is taken, its stock reserved, and waits in the scheduled list; when its time comes it
//! joins the live queue by itself and every screen is told, as of a new order. A booking beyond
//! `[sla] max_schedule_days` is refused.

use crate::common::within;
use crate::platform_tests::{agent_config, local_order, start_sim};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::config::Config;
use flashpick::daemon::{Daemon, StartOptions};
use flashpick::model::{Clock, Platform, Timestamp};
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booked_order_waits_in_its_list_and_joins_the_queue_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let text = agent_config(dir.path(), &sim, "push").source.0;
    let text = format!("{text}\n[sla]\nrelease_before_secs = 2700\nmax_schedule_days = 2\n");
    let clock = Clock::manual(Timestamp::now());
    let d = Daemon::start_with(
        Config::parse(&text, Path::new("booked.toml")).unwrap(),
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
    let now = Timestamp::now().0 / 1000;
    // Delivery in three hours: picked by 2 h 40 (20 minutes' ride), in the queue from 1 h 55.
    let ext = sim
        .sim
        .new_booked_order(
            Platform::Meituan,
            &[("W550".into(), 1)],
            false,
            None,
            now + 3 * 3600,
        )
        .await
        .unwrap();
    let id = local_order(&mut c, &ext).await;
    let view = within(10, "the booked order accepted", async {
        loop {
            let o = c.request(Request::GetOrder { order_id: id }).await.unwrap();
            if o["order"]["state"] == "accepted" {
                return o["order"].clone();
            }
            c.next_event().await.unwrap();
        }
    })
    .await;
    let release = view["scheduled_until"].as_i64().expect("booked");
    let deadline = view["pick_deadline"].as_i64().unwrap();
    assert_eq!(deadline, (now + 3 * 3600 - 1200) * 1000);
    assert_eq!(release, deadline - 2700 * 1000);
    let s = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        s["items"][0]["reserved"], 1,
        "its stock is reserved at once"
    );

    // Not yet: an hour later it is still booked.
    assert!(clock.advance(3600));
    let o = c.request(Request::GetOrder { order_id: id }).await.unwrap();
    assert!(o["order"]["scheduled_until"].is_number());
    // Its time: it joins the queue by itself and the screens are told.
    assert!(clock.advance(3600));
    let released = within(10, "the order released", async {
        loop {
            if let Event::OrderChanged { cause, order } = c.next_event().await.unwrap()
                && cause == "released"
            {
                return order;
            }
        }
    })
    .await;
    assert_eq!(released.order.id.0, id);
    assert_eq!(released.scheduled_until, None);

    // JD books its own way: its delivery time and its pick deadline move together; the
    // deadline JD gives is the one kept, and the order waits in the list as well.
    let jd = sim
        .sim
        .new_booked_order(
            Platform::Jddj,
            &[("W550".into(), 1)],
            false,
            None,
            now + 5 * 3600,
        )
        .await
        .unwrap();
    let jd_id = local_order(&mut c, &jd).await;
    let o = c
        .request(Request::GetOrder { order_id: jd_id })
        .await
        .unwrap();
    let jd_deadline = o["order"]["pick_deadline"].as_i64().unwrap();
    assert_eq!(
        jd_deadline,
        (now + 5 * 3600 - 1200) * 1000,
        "JD's own pick deadline"
    );
    assert_eq!(
        o["order"]["scheduled_until"].as_i64(),
        Some(jd_deadline - 2700 * 1000)
    );
    // Beyond max_schedule_days: refused, said on the screens, not taken.
    let far = sim
        .sim
        .new_booked_order(
            Platform::Meituan,
            &[("W550".into(), 1)],
            false,
            None,
            now + 3 * 86_400,
        )
        .await
        .unwrap();
    let told = within(10, "the far booking refused", async {
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap()
                && message.contains("refused")
            {
                return message;
            }
        }
    })
    .await;
    assert!(told.contains("max_schedule_days"), "{told}");
    let taken = d
        .store()
        .read(move |c| flashpick::store::order_id_by_external(c, Platform::Meituan, &far))
        .unwrap();
    assert_eq!(taken, None);
    d.shutdown().await;
}

/// A Meituan pre-sale order (预售, `is_pre_sale_order` 1) says so first in its remark, and is due
/// by its `delivery_time` as any booked order; without one it is taken as live (its promise the
/// estimate). Read by the adapter from the documented fields.
#[test]
fn a_pre_sale_order_says_so_and_is_due_by_its_delivery_time() {
    let order = |pre: i64, delivery: i64, caution: &str| {
        serde_json::json!({
            "order_id": "2700000001", "ctime": 1_790_000_000, "day_seq": 7,
            "is_pre_sale_order": pre, "delivery_time": delivery,
            "estimate_arrival_time": 1_790_001_800, "caution": caution,
            "detail": "[{\"app_food_code\":\"W550\",\"food_name\":\"水\",\"quantity\":1,\"price\":2.5}]"
        })
    };
    let booked = flashpick::sync::meituan::draft(&order(1, 1_790_200_000, "放门口")).unwrap();
    assert_eq!(booked.remark.as_deref(), Some("【预售 pre-sale】放门口"));
    assert_eq!(booked.promised_at, Some(Timestamp(1_790_200_000_000)));
    let live = flashpick::sync::meituan::draft(&order(1, 0, "")).unwrap();
    assert_eq!(live.remark.as_deref(), Some("【预售 pre-sale】"));
    assert_eq!(live.promised_at, Some(Timestamp(1_790_001_800_000)));
    let plain = flashpick::sync::meituan::draft(&order(0, 0, "放门口")).unwrap();
    assert_eq!(plain.remark.as_deref(), Some("放门口"));
}
