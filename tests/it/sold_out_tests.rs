//! "Not on the shelf" is a sold-out mark, through the real HTTP path: a short for out of stock
//! makes every platform show 0 for the item — and keep showing 0 while other orders move its
//! figures — until a receipt or a count answers it or a manager clears it; the stock screen's
//! empty search lists the marked items.

use crate::platform_tests::{agent_edited, local_order, start_sim};
use flashpick::api::client::Client;
use flashpick::api::{Request, Topic};
use flashpick::model::Platform;
use flashpick::sim::SimHandle;

/// How many W550 levels Meituan has been sent.
fn sent(sim: &SimHandle) -> usize {
    sim.sim
        .state
        .lock()
        .unwrap()
        .levels
        .get("meituan:W550")
        .map_or(0, Vec::len)
}

/// Waits until Meituan has been sent more than `before` W550 levels, and says the last.
async fn next_level(sim: &SimHandle, before: usize) -> i64 {
    sim.sim
        .wait_for("another W550 level", 10, |st| {
            let l = st.levels.get("meituan:W550")?;
            (l.len() > before).then(|| *l.last().unwrap())
        })
        .await
}

/// The last level each platform holds for W550, once both equal `want`.
async fn levels_reach(sim: &SimHandle, want: i64) {
    sim.sim
        .wait_for(&format!("W550 at {want} on both platforms"), 10, |st| {
            let last = |p: &str| {
                st.levels
                    .get(&format!("{p}:W550"))
                    .and_then(|l| l.last().copied())
            };
            (last("meituan") == Some(want) && last("jddj") == Some(want)).then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_not_on_the_shelf_is_sold_out_everywhere_until_counted() {
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
        topics: vec![Topic::Orders],
    })
    .await
    .unwrap();
    let ext = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 2)], false)
        .await
        .unwrap();
    let id = local_order(&mut c, &ext).await;
    crate::common::wait_state(&mut c, id, "accepted").await;
    c.request(Request::ClaimOrder {
        order_id: id,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    c.request(Request::MarkShort {
        order_id: id,
        line_no: 1,
        qty: 2,
        reason: "out_of_stock".into(),
    })
    .await
    .unwrap();
    // The ledger still believes in 18; the platforms are told 0.
    let s = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    assert_eq!(s["items"][0]["on_hand"], 18);
    assert!(s["items"][0]["sold_out_at"].is_number());
    levels_reach(&sim, 0).await;
    // Another order moves its figures: still 0.
    let ext2 = sim
        .sim
        .new_order(Platform::Jddj, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    local_order(&mut c, &ext2).await;
    let before = sent(&sim);
    c.request(Request::StockAdjust {
        code: "W550".into(),
        delta: -1,
        reason: "破损".into(),
    })
    .await
    .unwrap();
    assert_eq!(next_level(&sim, before).await, 0, "a new level, still 0");
    // The stock screen's empty search lists it.
    let marked = c
        .request(Request::StockLookup {
            query: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(marked["items"][0]["sku"], "W550");
    // Not a picker's to clear; a count answers it.
    let refused = c
        .request(Request::StockClearSoldOut {
            code: "W550".into(),
        })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("only a manager"), "{refused}");
    c.request(Request::StockCount {
        code: "W550".into(),
        counted: 5,
        reason: None,
    })
    .await
    .unwrap();
    let s = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    assert!(s["items"][0].get("sold_out_at").is_none());
    let reserved = s["items"][0]["reserved"].as_i64().unwrap();
    levels_reach(&sim, 5 - reserved).await;

    // Marked again and cleared by a manager.
    let ext3 = sim
        .sim
        .new_order(Platform::Meituan, &[("W550".into(), 1)], false)
        .await
        .unwrap();
    let id3 = local_order(&mut c, &ext3).await;
    crate::common::wait_state(&mut c, id3, "accepted").await;
    c.request(Request::ClaimOrder {
        order_id: id3,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    c.request(Request::MarkShort {
        order_id: id3,
        line_no: 1,
        qty: 1,
        reason: "out_of_stock".into(),
    })
    .await
    .unwrap();
    levels_reach(&sim, 0).await;
    let mut boss = Client::connect(d.socket_path(), "test", Some("boss"))
        .await
        .unwrap();
    boss.request(Request::StockClearSoldOut {
        code: "W550".into(),
    })
    .await
    .unwrap();
    let s = c
        .request(Request::StockLookup {
            query: "W550".into(),
        })
        .await
        .unwrap();
    let (on_hand, reserved) = (
        s["items"][0]["on_hand"].as_i64().unwrap(),
        s["items"][0]["reserved"].as_i64().unwrap(),
    );
    assert!(on_hand - reserved > 0);
    levels_reach(&sim, on_hand - reserved).await;
    d.shutdown().await;
}
