//! Batch picking through the daemon: a picker claims a batch on the socket and picks it with a
//! serial scanner on a pty; each scan goes to the most urgent order still needing the item and
//! says which slot; an order completes by itself on its last line; a short and a cancellation
//! mid-batch touch only their order; each order's effects for its platform are those of single
//! picking.

use crate::common::{daemon_config, seed_db};
use crate::scanner_tests::{plug, result, send, unplug};
use flashpick::api::client::Client;
use flashpick::api::{Request, Topic};
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_four_order_batch_is_picked_with_one_scanner_each_scan_to_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(
        dir.path(),
        &[
            ("MT-b1", &[("W550", 2), ("MILK1L", 1)]),
            ("MT-b2", &[("W550", 1)]),
            ("MT-b3", &[("MILK1L", 1), ("BREAD", 1)]),
            ("MT-b4", &[("W550", 2)]),
        ],
    );
    let mut gun = plug(&dir.path().join("gun-1"));
    let text = format!(
        "{}\n[picking]\nbatch_max = 4\nrepeat_window_ms = 0\n\
         [[scanners]]\nname = \"gun-1\"\npath = \"{}\"\nsuffix = \"cr\"\npicker = \"p1\"\n",
        daemon_config(dir.path()).source.0,
        dir.path().join("gun-1").display()
    );
    let d = Daemon::start(Config::parse(&text, Path::new("b.toml")).unwrap())
        .await
        .unwrap();
    let mut c = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Scans, Topic::Alerts],
    })
    .await
    .unwrap();
    crate::scanner_tests::connected(&mut c, "gun-1").await;
    for id in &ids {
        c.request(Request::AcceptOrder { order_id: id.0 })
            .await
            .unwrap();
    }
    // One claim: the four orders, most urgent first, in slots A to D.
    let batch = c
        .request(Request::ClaimBatch {
            picker: "p1".into(),
        })
        .await
        .unwrap();
    let slots: Vec<(i64, String)> = batch["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().unwrap(),
                o["batch"]["slot"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(i64, String)> = ids
        .iter()
        .zip(["A", "B", "C", "D"])
        .map(|(id, s)| (id.0, s.to_string()))
        .collect();
    assert_eq!(slots, want);
    let (o1, o2, o3, o4) = (ids[0].0, ids[1].0, ids[2].0, ids[3].0);
    // Water ×4 over three orders: the most urgent still needing it each time.
    let mut went = Vec::new();
    for _ in 0..4 {
        send(&mut gun, b"6901234567892\r");
        let r = result(&mut c).await;
        assert_eq!(r.result.as_str(), "ok", "{}", r.message);
        went.push((
            r.order.as_ref().unwrap().order.id.0,
            r.slot.clone().unwrap(),
        ));
    }
    assert_eq!(
        went,
        [
            (o1, "A".to_string()),
            (o1, "A".into()),
            (o2, "B".into()),
            (o4, "D".into())
        ]
    );
    // Order 2 had one line: it completed on its own, without waiting for the batch.
    assert_eq!(crate::common::order_state(&mut c, o2).await, "picked");
    // Order 4 cancelled mid-batch: its slot's water goes back; the rest of the batch goes on.
    c.request(Request::CancelOrder {
        order_id: o4,
        reason: "customer".into(),
    })
    .await
    .unwrap();
    let o = c.request(Request::GetOrder { order_id: o4 }).await.unwrap();
    assert_eq!(o["order"]["return_pending"], true, "{o}");
    // A fifth water: order 4 is gone, every order left has all it needs.
    send(&mut gun, b"6901234567892\r");
    assert_eq!(result(&mut c).await.result.as_str(), "over");
    // Milk: order 1 first (more urgent), which completes it; then order 3.
    send(&mut gun, b"4006381333931\r");
    let r = result(&mut c).await;
    assert_eq!(
        (r.order.as_ref().unwrap().order.id.0, r.slot.as_deref()),
        (o1, Some("A"))
    );
    assert_eq!(crate::common::order_state(&mut c, o1).await, "picked");
    send(&mut gun, b"4006381333931\r");
    let r = result(&mut c).await;
    assert_eq!(
        (r.order.as_ref().unwrap().order.id.0, r.slot.as_deref()),
        (o3, Some("C"))
    );
    assert_eq!(crate::common::order_state(&mut c, o3).await, "picking");
    // Order 3's bread is not on the shelf: its short, on its last line, completes it.
    let o = c
        .request(Request::MarkShort {
            order_id: o3,
            line_no: 2,
            qty: 1,
            reason: "damaged".into(),
        })
        .await
        .unwrap();
    assert_eq!(o["order"]["state"], "picked", "{o}");
    // Each order's effects for the platform: what single picking gives.
    let actions = d
        .store()
        .read(|conn| {
            let mut st = conn.prepare(
                "SELECT json_extract(payload, '$.external_id'), json_extract(payload, '$.action')
                 FROM outbox WHERE destination = 'meituan' AND kind = 'report' ORDER BY id",
            )?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)));
            Ok(rows?.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap();
    let of = |ext: &str| -> Vec<&str> {
        actions
            .iter()
            .filter(|(e, _)| e == ext)
            .map(|(_, a)| a.as_str())
            .collect()
    };
    assert_eq!(of("MT-b1"), ["confirm", "pick_complete"]);
    assert_eq!(of("MT-b2"), ["confirm", "pick_complete"]);
    assert_eq!(of("MT-b3"), ["confirm", "adjust", "pick_complete"]);
    assert_eq!(of("MT-b4"), ["confirm", "cancel"]);
    d.shutdown().await;
    unplug(&dir.path().join("gun-1"), gun);
}

/// A batch shows in the status and `/metrics` while it is picked; released whole, its orders go
/// back to the queue out of the batch, their picked units kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_in_the_status_and_released_whole() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(
        dir.path(),
        &[
            ("MT-r1", &[("W550", 2)]),
            ("MT-r2", &[("MILK1L", 1), ("W550", 1)]),
            ("MT-r3", &[("BREAD", 1)]),
        ],
    );
    let text = format!(
        "{}\n[picking]\nbatch_max = 3\n",
        daemon_config(dir.path()).source.0.replace(
            "order_prefixes = [\"ORD\"]",
            "order_prefixes = [\"ORD\"]\nslot_prefixes = [\"SLOT-\"]"
        )
    );
    let d = Daemon::start(Config::parse(&text, Path::new("b.toml")).unwrap())
        .await
        .unwrap();
    let mut c = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    for id in &ids {
        c.request(Request::AcceptOrder { order_id: id.0 })
            .await
            .unwrap();
    }
    c.request(Request::ClaimBatch {
        picker: "p1".into(),
    })
    .await
    .unwrap();
    // A slot's label first (the wedge types it): the next unit goes into slot B, though A is
    // more urgent; the one after goes by urgency again.
    let scan = |code: &str| Request::RecordScan {
        order_id: ids[0].0,
        code: code.into(),
        scanner: None,
    };
    let r = c.request(scan("SLOT-B")).await.unwrap();
    assert_eq!(
        (r["result"].as_str(), r["slot"].as_str()),
        (Some("slot"), Some("B")),
        "{r}"
    );
    for (slot, order) in [("B", ids[1].0), ("A", ids[0].0)] {
        let r = c.request(scan("6901234567892")).await.unwrap();
        assert_eq!(r["result"], "ok", "{r}");
        assert_eq!(
            (r["slot"].as_str(), r["order"]["id"].as_i64()),
            (Some(slot), Some(order)),
            "{r}"
        );
    }
    let s = c.request(Request::Status).await.unwrap();
    assert_eq!(
        s["batches"],
        serde_json::json!([{"batch": ids[0].0, "picker": "p1", "orders": 3}])
    );
    let (_, metrics) = crate::common::http_get(d.http_addr(), "/metrics").await;
    for line in [
        "flashpick_batches_picking 1",
        "flashpick_batch_orders_picking 3",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in:\n{metrics}"
        );
    }
    // Released whole from any of its orders.
    let r = c
        .request(Request::ReleaseBatch { order_id: ids[2].0 })
        .await
        .unwrap();
    assert_eq!(r["orders"].as_array().unwrap().len(), 3);
    for id in &ids {
        let o = c
            .request(Request::GetOrder { order_id: id.0 })
            .await
            .unwrap();
        assert_eq!(o["order"]["state"], "accepted", "{o}");
        assert!(o["order"].get("batch").is_none(), "{o}");
    }
    let o = c
        .request(Request::GetOrder { order_id: ids[0].0 })
        .await
        .unwrap();
    assert_eq!(o["order"]["lines"][0]["picked"], 1, "the picked unit stays");
    let o = c
        .request(Request::GetOrder { order_id: ids[1].0 })
        .await
        .unwrap();
    assert_eq!(o["order"]["lines"][1]["picked"], 1, "{o}");
    let s = c.request(Request::Status).await.unwrap();
    assert!(s.get("batches").is_none(), "{s}");
    d.shutdown().await;
}

/// A batch is idle only when none of its orders was touched: scans going to one order keep the
/// others claimed; untouched as a whole, every order of it goes back to the queue.
#[test]
fn a_batch_is_idle_only_when_none_of_its_orders_was_touched() {
    use flashpick::model::{Clock, OrderEvent, Timestamp};
    use flashpick::store::{self, Ingested, Store, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(Timestamp::now());
    let mut options = StoreOptions {
        clock: clock.clone(),
        ..crate::common::options()
    };
    options.batch.rules.max = 2;
    let seeded = crate::common::seeded_store(dir.path());
    seeded.close();
    let store = Store::open(&dir.path().join("store.db"), options).unwrap();
    let ids: Vec<_> = ["MT-i1", "MT-i2"]
        .iter()
        .map(|ext| {
            let Ingested::New(o) = store
                .ingest_blocking(
                    "meituan",
                    ext,
                    crate::common::new_order(ext, &[("W550", 1)]),
                )
                .unwrap()
            else {
                panic!()
            };
            store
                .apply_blocking(o.id, OrderEvent::Accept, "p1")
                .unwrap();
            o.id
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let batch = rt.block_on(store.claim_batch("p1", "p1", None)).unwrap();
    assert_eq!(batch.len(), 2);
    clock.advance(600);
    // A scan into the first order ten minutes later: the second, untouched itself, stays.
    let scanned = clock.now();
    store
        .read(|c| store::idle_claims(c, Timestamp(scanned.0 - 1)))
        .map(|idle| assert_eq!(idle.len(), 2, "nothing touched yet"))
        .unwrap();
    rt.block_on(store.apply(ids[0], OrderEvent::Pick { line: 1, qty: 1 }, "p1", None))
        .unwrap();
    let idle = store
        .read(|c| store::idle_claims(c, Timestamp(scanned.0 - 1)))
        .unwrap();
    assert!(idle.is_empty(), "{idle:?}");
    assert!(
        rt.block_on(store.release_idle(ids[1], Timestamp(scanned.0 - 1)))
            .unwrap()
            .is_none()
    );
    drop(rt);
    store.close();
}
