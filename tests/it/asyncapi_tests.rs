//! `assets/asyncapi.yaml` and the code stay in step: every example there reads into the code's
//! type and writes back unchanged, every example and every code output validates against the
//! file's schemas, and so do the events a real store writes for HQ.

use flashpick::hq::wire::{ConfigDoc, ConfigStatus, EventBatch, RelayedOrder, StatusMsg};
use flashpick::model::{OrderEvent, SkuCode};
use flashpick::store::{CatalogDelta, Ingested, StockOp, StockOpKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::contract::spec;

/// Every example of `message`: read into `T`, written back identical, valid against the schema.
fn check<T: DeserializeOwned + Serialize>(spec: &Value, message: &str) -> usize {
    let m = &spec["components"]["messages"][message];
    let examples = m["examples"].as_array().expect("examples");
    for ex in examples {
        let name = ex["name"].as_str().unwrap_or("?");
        let payload = &ex["payload"];
        let typed: T = serde_json::from_value(payload.clone())
            .unwrap_or_else(|e| panic!("{message} example `{name}` does not read: {e}"));
        let back = serde_json::to_value(&typed).unwrap();
        assert_eq!(
            &back, payload,
            "{message} example `{name}` changes on the way back"
        );
        crate::contract::check(&format!("/components/messages/{message}/payload"), &back)
            .unwrap_or_else(|e| panic!("{message} example `{name}`: {e}"));
    }
    examples.len()
}

#[test]
fn every_example_matches_the_code_both_ways() {
    let spec = spec();
    assert_eq!(spec["asyncapi"], "3.0.0");
    let n = check::<StatusMsg>(&spec, "Status")
        + check::<EventBatch>(&spec, "EventBatch")
        + check::<RelayedOrder>(&spec, "RelayedOrder")
        + check::<ConfigDoc>(&spec, "ConfigDoc")
        + check::<ConfigStatus>(&spec, "ConfigStatus")
        + check::<CatalogDelta>(&spec, "CatalogDelta");
    assert!(n >= 9, "{n} examples");
    // The validator bites: an undocumented field, a wrong type, a missing field, an event kind
    // the contract does not have (the `report` an HQ-relayed order once sent).
    for bad in [
        json!({"v": 1, "store": "S", "online": true, "surprise": 1}),
        json!({"v": 1, "store": "S", "online": "yes"}),
        json!({"v": 1, "online": true}),
    ] {
        assert!(
            crate::contract::check("/components/messages/Status/payload", &bad).is_err(),
            "{bad}"
        );
    }
    let report = json!({"id": "01J", "kind": "report",
        "data": {"v": 1, "type": "report", "action": "confirm", "order_id": 1}});
    assert!(crate::contract::check("/components/schemas/Event", &report).is_err());
    // Every channel's address is what the code publishes and subscribes to.
    let t = flashpick::hq::wire::Topics::new("{store}");
    let addresses: Vec<&str> = spec["channels"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    for topic in [
        &t.status,
        &t.events,
        &t.orders,
        &t.config,
        &t.config_status,
        &t.catalog,
    ] {
        assert!(addresses.contains(&topic.as_str()), "{topic} undocumented");
    }
    assert_eq!(addresses.len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_events_a_real_store_writes_fit_the_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        flashpick::store::Store::open(&dir.path().join("store.db"), crate::common::options())
            .unwrap();
    store
        .import_catalog(crate::common::small_catalog())
        .await
        .unwrap();
    let Ingested::New(o) = store
        .ingest(
            "meituan",
            "m1",
            crate::common::new_order("MT1", &[("W550", 2)]),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    store
        .apply(o.id, OrderEvent::Accept, "p1", None)
        .await
        .unwrap();
    store
        .apply(
            o.id,
            OrderEvent::Claim {
                picker: "p1".into(),
            },
            "p1",
            None,
        )
        .await
        .unwrap();
    // An order relayed by HQ, accepted: HQ hears it as order transitions, never as a platform
    // `report` (a kind the contract does not have; an HQ consumer refused such batches).
    let mut relayed = crate::common::new_order("OMS-1", &[("W550", 1)]);
    relayed.platform = flashpick::model::Platform::Hq;
    let Ingested::New(h) = store.ingest("hq", "hq-1", relayed).await.unwrap() else {
        panic!()
    };
    store
        .apply(h.id, OrderEvent::Accept, "p1", None)
        .await
        .unwrap();
    store
        .stock(StockOp {
            sku: SkuCode::new("MILK1L"),
            kind: StockOpKind::Receive(6),
            actor: "mgr".into(),
            reason: Some("delivery".into()),
        })
        .await
        .unwrap();
    let delta: CatalogDelta = serde_json::from_value(json!({"v": 1, "version": 1, "changes": [
        {"op": "price", "sku": "W550", "price_fen": 180}
    ]}))
    .unwrap();
    store.catalog_delta(delta).await.unwrap();
    store
        .hq_note(
            Some(("hq-orders-rejected", "x1")),
            flashpick::store::Rejection {
                topic: "orders".into(),
                message_id: Some("x1".into()),
                reason: "bad".into(),
            },
        )
        .await
        .unwrap();
    // A close (automatic), and the day's numbers with a picker, a short and an hour in them.
    store
        .set_open(
            flashpick::model::Platform::Meituan,
            false,
            "busy",
            "capacity",
            true,
            None,
        )
        .await
        .unwrap();
    store
        .apply(o.id, OrderEvent::Pick { line: 1, qty: 1 }, "p1", None)
        .await
        .unwrap();
    let short = OrderEvent::Short {
        line: 1,
        qty: 1,
        reason: flashpick::model::ShortReason::Damaged,
    };
    store.apply(o.id, short, "p1", None).await.unwrap();
    store
        .apply(o.id, OrderEvent::CompletePick, "p1", None)
        .await
        .unwrap();
    let today = flashpick::model::china_time::day_number(flashpick::model::Timestamp::now());
    assert!(store.queue_day_summary(today).await.unwrap());
    assert!(!store.queue_day_summary(today).await.unwrap(), "once a day");
    let rows = store
        .read(|c| flashpick::store::pending_outbox(c, "hq", 1000))
        .unwrap();
    let kinds: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "catalog_applied",
            "catalog_import",
            "day_summary",
            "order_transition",
            "rejected",
            "stock_move",
            "store_state"
        ]
    );
    let summary = rows.iter().find(|r| r.kind == "day_summary").unwrap();
    let report = &summary.payload["report"];
    assert_eq!(
        (report["picked"].clone(), report["short_units"].clone()),
        (json!(1), json!(1))
    );
    for r in &rows {
        let e = json!({"id": r.event_id, "kind": r.kind, "data": r.payload});
        crate::contract::check("/components/schemas/Event", &e)
            .unwrap_or_else(|err| panic!("{}: {err}", r.kind));
        assert_eq!(r.payload["type"], r.kind.as_str());
    }
    store.close_async().await;
}

/// The `report` row the release before the fix queued for HQ (an order relayed by HQ, accepted)
/// is never sent: the migration marks it done. The database is one that release made through
/// its own store API (`tests/fixtures/db/README.md`); every other row it left still reads, and
/// HQ's fit the contract.
#[test]
fn report_rows_an_older_release_queued_for_hq_are_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/db/hq-report-rows-release-912ccf9.db"
        ),
        &db,
    )
    .unwrap();
    let before: Vec<(String, String)> = {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut s = c
            .prepare("SELECT destination, kind FROM outbox WHERE state = 'pending' ORDER BY id")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(
        before.contains(&("hq".into(), "report".into())),
        "the fixture holds the bad row: {before:?}"
    );
    let store = flashpick::store::Store::open(&db, crate::common::options()).unwrap();
    let mut after = Vec::new();
    for dest in ["meituan", "jddj", "hq"] {
        for r in store
            .read(move |c| flashpick::store::pending_outbox(c, dest, 1000))
            .unwrap()
        {
            if dest == "hq" {
                let p = flashpick::store::payload::HqPayload::read(&r.payload)
                    .unwrap_or_else(|e| panic!("{}: {e}", r.kind));
                let event = serde_json::json!({"id": r.payload["event_id"], "kind": p.kind(), "data": serde_json::to_value(&p).unwrap()});
                crate::contract::check("/components/schemas/Event", &event).unwrap();
            } else {
                flashpick::store::payload::PlatformPayload::read(&r.payload)
                    .unwrap_or_else(|e| panic!("{}: {e}", r.kind));
            }
            after.push((dest.to_string(), r.kind));
        }
    }
    let mut expected: Vec<(String, String)> = before
        .into_iter()
        .filter(|(d, k)| !(d == "hq" && k == "report"))
        .collect();
    expected.sort();
    after.sort();
    assert_eq!(after, expected, "every other row is still pending");
    store.close();
}
