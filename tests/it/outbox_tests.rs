//! Typed outbox payloads against a database an earlier release left: every row it queued still
//! reads, as the action or event it was; the typed writer writes what that release wrote; and a
//! row that does not read is parked with the reason, never sent.

use crate::common::{new_order, options, small_catalog};
use flashpick::api::Request;
use flashpick::model::{CancelSource, OrderEvent, Platform, ShortReason, SkuCode};
use flashpick::store::payload::{HqPayload, PlatformPayload};
use flashpick::store::{Ingested, StockOp, StockOpKind, Store};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/db/outbox-release-0.1.0.db"
);

fn copy_fixture(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("store.db");
    std::fs::copy(FIXTURE, &db).unwrap();
    db
}

/// Every pending row: (destination, kind, payload).
fn pending(store: &Store) -> Vec<(String, String, Value)> {
    let mut rows = Vec::new();
    for dest in ["meituan", "jddj", "hq"] {
        for r in store
            .read(|c| flashpick::store::pending_outbox(c, dest, 1000))
            .unwrap()
        {
            rows.push((dest.to_string(), r.kind, r.payload));
        }
    }
    rows
}

#[test]
fn rows_an_earlier_release_left_read_as_what_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&copy_fixture(dir.path()), options()).unwrap();
    let rows = pending(&store);
    let mut kinds = std::collections::BTreeSet::new();
    for (dest, kind, payload) in &rows {
        kinds.insert(kind.clone());
        if dest == "hq" {
            let p = HqPayload::read(payload).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(p.kind(), kind);
            // As the link publishes it, and as the contract has it.
            let event = json!({"id": payload["event_id"], "kind": p.kind(), "data": serde_json::to_value(&p).unwrap()});
            crate::contract::check("/components/schemas/Event", &event).unwrap();
            continue;
        }
        let p = PlatformPayload::read(payload).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(p.kind(), kind);
        match &p {
            PlatformPayload::Report(_)
            | PlatformPayload::FetchOrder(_)
            | PlatformPayload::Decision(_)
            | PlatformPayload::StoreOpen(_) => {
                flashpick::sync::action_from_row(&p).unwrap_or_else(|e| panic!("{kind}: {e}"));
            }
            PlatformPayload::StockLevel(l) => {
                assert!(!l.code().is_empty() && l.level >= 0, "{l:?}")
            }
            PlatformPayload::StockFullSync(_) => {}
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "catalog_applied",
            "catalog_import",
            "fetch_order",
            "order_transition",
            "rejected",
            "report",
            "stock_full_sync",
            "stock_level",
            "stock_move"
        ]
    );
    // The level from before codes existed goes out under its sku.
    let old = rows
        .iter()
        .find(|(_, _, p)| p["sku"] == "BREAD" && p.get("code").is_none())
        .expect("the hand-made old level");
    let PlatformPayload::StockLevel(l) = PlatformPayload::read(&old.2).unwrap() else {
        panic!()
    };
    assert_eq!(l.code(), "BREAD");
    store.close();
}

/// The scenario that made the fixture, run again through today's typed writer.
fn the_fixture_scenario(store: &Store) {
    store.import_catalog_blocking(small_catalog()).unwrap();
    let ingest = |p: Platform, ext: &str, lines: &[(&str, i64)]| {
        let mut o = new_order(ext, lines);
        o.platform = p;
        for l in &mut o.lines {
            l.platform_item = Some(format!("PI-{}", l.sku.0));
            l.merchant_code = Some(format!("MC-{}", l.sku.0));
        }
        match store.ingest_blocking("t", &format!("m-{ext}"), o).unwrap() {
            Ingested::New(o) => o.id,
            x => panic!("{x:?}"),
        }
    };
    let a = ingest(Platform::Meituan, "MT-1", &[("W550", 2), ("MILK1L", 1)]);
    for ev in [
        OrderEvent::Accept,
        OrderEvent::Claim {
            picker: "p1".into(),
        },
        OrderEvent::Pick { line: 1, qty: 2 },
        OrderEvent::Short {
            line: 2,
            qty: 1,
            reason: ShortReason::OutOfStock,
        },
        OrderEvent::CompletePick,
    ] {
        store.apply_blocking(a, ev, "p1").unwrap();
    }
    let b = ingest(Platform::Jddj, "JD-1", &[("BREAD", 1)]);
    store.apply_blocking(b, OrderEvent::Accept, "p1").unwrap();
    let cancel = OrderEvent::Cancel {
        by: CancelSource::Store,
        reason: "缺货".into(),
    };
    store.apply_blocking(b, cancel, "p1").unwrap();
    let c = ingest(Platform::Hq, "HQ-1", &[("W550", 1)]);
    store.apply_blocking(c, OrderEvent::Accept, "p1").unwrap();
    store
        .stock_blocking(StockOp {
            sku: SkuCode::new("W550"),
            kind: StockOpKind::Receive(10),
            actor: "mgr".into(),
            reason: None,
        })
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let rejection = flashpick::store::Rejection {
            topic: "orders".into(),
            message_id: Some("oms-1".into()),
            reason: "bad".into(),
        };
        store
            .hq_note(Some(("hq:orders", "oms-1")), rejection)
            .await
            .unwrap();
        store
            .enqueue_fetch("jddj", "push-1", Platform::Jddj, "JD-2")
            .await
            .unwrap();
        store.full_stock_sync().await.unwrap();
        let delta = serde_json::from_value(json!({
            "v": 1, "version": 1, "changes": [{"op": "price", "sku": "MILK1L", "price_fen": 1290}]
        }))
        .unwrap();
        store.catalog_delta(delta).await.unwrap();
    });
}

/// Rows by (destination, kind), their payloads without what differs from run to run.
fn comparable(rows: Vec<(String, String, Value)>) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (dest, kind, mut p) in rows {
        for volatile in ["event_id", "caused_by", "at", "placed_at"] {
            p.as_object_mut().unwrap().remove(volatile);
        }
        out.entry((dest, kind)).or_default().push(p.to_string());
    }
    out.values_mut().for_each(|v| v.sort());
    out
}

#[test]
fn the_typed_writer_writes_what_the_earlier_release_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let before = Store::open(&copy_fixture(dir.path()), options()).unwrap();
    let mut then = pending(&before);
    before.close();
    // Less the level added by hand in an older form.
    then.retain(|(_, _, p)| !(p["sku"] == "BREAD" && p.get("code").is_none()));
    let fresh = tempfile::tempdir().unwrap();
    // Like for like: that release had no sold-out marks (an out-of-stock short now sends 0).
    let like_then = flashpick::store::StoreOptions {
        sold_out_on_short: false,
        ..options()
    };
    let store = Store::open(&fresh.path().join("store.db"), like_then).unwrap();
    the_fixture_scenario(&store);
    let now = pending(&store);
    store.close();
    assert_eq!(comparable(now), comparable(then));
}

/// A level that lost its figure (a damaged or hand-edited row) is parked with the reason;
/// nothing goes to the platform under its code. The levels queued after it still leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_does_not_read_is_parked_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    {
        let conn = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
        // Nothing else pending (the import's full syncs are taken as sent): the bad row is the
        // first a worker meets, and W550's level after the receipt below is queued after it.
        conn.execute(
            "UPDATE outbox SET state = 'done' WHERE state = 'pending'",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO outbox (event_id, destination, kind, coalesce_key, payload, next_attempt_at, created_at)
             VALUES ('bad-1', 'meituan', 'stock_level', 'stock:meituan:BAD1',
                     '{\"v\":1,\"type\":\"stock_level\",\"platform\":\"meituan\",\"sku\":\"BAD1\",\"code\":\"BAD1\",\"at\":0}', 0, 0)",
            [],
        )
        .unwrap();
    }
    let sim = crate::platform_tests::start_sim().await;
    let (d, mut c) = crate::platform_tests::agent(dir.path(), &sim, "push").await;
    // A good level still leaves: a receipt's.
    c.request(Request::StockReceive {
        code: "W550".into(),
        qty: 1,
    })
    .await
    .unwrap();
    sim.sim
        .wait_for("W550's level at Meituan", 20, |st| {
            st.levels.contains_key("meituan:W550").then_some(())
        })
        .await;
    let st = sim.sim.snapshot();
    assert!(
        st["levels"].get("meituan:BAD1").is_none(),
        "a level without a figure reached the platform: {}",
        st["levels"]
    );
    let parked: String = d
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT state || ': ' || COALESCE(last_error, '') FROM outbox WHERE event_id = 'bad-1'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(
        parked.starts_with("parked: the row cannot be read"),
        "{parked}"
    );
    d.shutdown().await;
}
