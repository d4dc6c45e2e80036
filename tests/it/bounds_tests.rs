//! Absurd figures at the doors that write items and stock: each refused with the field and the
//! reason, nothing committed, and nothing out of bounds ever reaching a platform.

use crate::common::{row, seed_db};
use crate::platform_tests::{agent, start_sim};
use flashpick::api::Request;
use flashpick::api::client::{Client, ClientError};
use flashpick::model::{MAX_QTY, Platform, StockError};
use flashpick::sim::State;
use flashpick::store::{CatalogRow, StockOp, StockOpKind, Store, StoreError};
use serde_json::json;

async fn stage_and_commit(c: &mut Client, rows: Vec<CatalogRow>) -> Result<i64, String> {
    c.request(Request::CatalogStage {
        rows: rows.into_iter().map(Into::into).collect(),
    })
    .await
    .map_err(|e| e.to_string())?;
    match c.request(Request::CatalogCommit).await {
        Ok(v) => Ok(v["imported"].as_i64().unwrap()),
        Err(ClientError::Refused { message, .. }) => Err(message),
        Err(e) => panic!("{e}"),
    }
}

fn levels_of(st: &State, sku: &str) -> Vec<i64> {
    [Platform::Meituan, Platform::Jddj]
        .iter()
        .flat_map(|p| {
            st.levels
                .get(&format!("{}:{sku}", p.as_str()))
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// Rows staged over the socket meet the same check as a catalog file: the absurd rows found
/// from outside (a safety stock of -100 that sold 105, an on_hand of 9e18, codes with a wrong
/// check digit…) are refused and commit nothing; then a receive that would pass the bound is
/// refused, and no platform ever hears a level beyond it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_rows_meet_the_csv_checks_and_no_absurd_level_reaches_a_platform() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, _) = agent(dir.path(), &sim, "poll").await;
    let mut c = Client::connect(d.socket_path(), "test", Some("manager"))
        .await
        .unwrap();
    let good = || row(9, "BIG", "大桶水 18L", "6920000000012", 5);
    type Edit = fn(&mut CatalogRow);
    let bad: Vec<(&str, Edit, &str)> = vec![
        ("empty sku", |r| r.sku.0.clear(), "sku is empty"),
        ("empty name", |r| r.name.clear(), "name is empty"),
        ("negative walk", |r| r.walk_seq = -1, "walk_seq -1"),
        (
            "huge on_hand",
            |r| r.on_hand = 9_000_000_000_000_000_000,
            "on_hand",
        ),
        (
            "negative safety",
            |r| r.safety_stock = Some(-100),
            "safety_stock -100",
        ),
        (
            "check digit",
            |r| r.barcodes = vec!["6920000000018".into()],
            "check digit",
        ),
        ("plu", |r| r.plu = Some("abc".into()), "plu"),
        (
            "price",
            |r| r.price = Some(flashpick::model::Fen(-1)),
            "price_fen -1",
        ),
        ("long name", |r| r.name = "水".repeat(1000), "at most 256"),
        ("control", |r| r.location = "A\n01".into(), "control"),
    ];
    for (what, edit, reason) in bad {
        let mut r = good();
        edit(&mut r);
        let e = stage_and_commit(&mut c, vec![r]).await.unwrap_err();
        assert!(e.contains("line 9") && e.contains(reason), "{what}: {e}");
    }
    let none = d
        .store()
        .read(|c| flashpick::store::sku_info(c, &flashpick::model::SkuCode::new("BIG")))
        .unwrap();
    assert!(none.is_none(), "a refused row was committed: {none:?}");

    assert_eq!(stage_and_commit(&mut c, vec![good()]).await, Ok(1));
    sim.sim
        .wait_for("BIG at 5 on both platforms", 10, |st| {
            let l = |p: &str| {
                st.levels
                    .get(&format!("{p}:BIG"))
                    .and_then(|v| v.last().copied())
            };
            (l("meituan") == Some(5) && l("jddj") == Some(5)).then_some(())
        })
        .await;
    let receive = |qty: i64| Request::StockReceive {
        code: "BIG".into(),
        qty,
    };
    c.request(receive(MAX_QTY - 5)).await.unwrap();
    for qty in [1, i64::MAX, MAX_QTY] {
        let e = c.request(receive(qty)).await.unwrap_err().to_string();
        assert!(e.contains("1000000000"), "{qty}: {e}");
    }
    sim.sim
        .wait_for("BIG at the bound on both platforms", 10, |st| {
            let l = |p: &str| {
                st.levels
                    .get(&format!("{p}:BIG"))
                    .and_then(|v| v.last().copied())
            };
            (l("meituan") == Some(MAX_QTY) && l("jddj") == Some(MAX_QTY)).then_some(())
        })
        .await;
    // The item still reads, and nothing beyond the bound or below zero ever left the store.
    let found = c
        .request(Request::StockLookup {
            query: "BIG".into(),
        })
        .await
        .unwrap();
    assert_eq!(found["items"][0]["on_hand"], MAX_QTY, "{found}");
    let sent = levels_of(&sim.sim.state.lock().unwrap(), "BIG");
    assert!(
        sent.iter().all(|l| (0..=MAX_QTY).contains(l)),
        "levels sent: {sent:?}"
    );
    d.shutdown().await;
    sim.stop().await;
}

/// The model refuses a sum past the bound; SQLite, which would store an overflowing sum as a
/// REAL and then fail every read of that sku, refuses it too (triggers, migration 7), even to a
/// raw connection; and a figure an older release left beyond the bound publishes 0.
#[test]
fn stock_figures_stay_whole_numbers_and_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::common::seeded_store(dir.path());
    let raw = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    raw.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let e = raw
        .execute(
            "UPDATE stock SET on_hand = on_hand + 9223372036854775807 WHERE sku = 'W550'",
            [],
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("whole numbers"), "{e}");
    let e = raw
        .execute("UPDATE stock SET reserved = 1.5 WHERE sku = 'W550'", [])
        .unwrap_err()
        .to_string();
    assert!(e.contains("whole numbers"), "{e}");
    // A figure from before the bounds (an integer, so the triggers let it be).
    raw.execute(
        "UPDATE stock SET on_hand = 9223372036854775806 WHERE sku = 'MILK1L'",
        [],
    )
    .unwrap();
    let op = |kind| StockOp {
        sku: flashpick::model::SkuCode::new("MILK1L"),
        kind,
        actor: "manager".into(),
        reason: Some("test".into()),
    };
    for kind in [StockOpKind::Receive(1), StockOpKind::Adjust(5)] {
        let e = store.stock_blocking(op(kind)).unwrap_err();
        assert!(
            matches!(e, StoreError::Stock(StockError::AboveMax { .. })),
            "{e}"
        );
    }
    let levels = store
        .read(|c| flashpick::store::all_levels(c, Platform::Meituan, 0))
        .unwrap();
    let milk = levels.iter().find(|l| l.code == "MILK1L").unwrap();
    assert_eq!(milk.level, 0, "an absurd figure publishes nothing");
    let (n, first) = store
        .read(|c| Ok(flashpick::store::schema::bad_stock_figures(c)?))
        .unwrap();
    assert_eq!((n, first), (1, vec!["MILK1L".to_string()]));
    // A count puts it right.
    store.stock_blocking(op(StockOpKind::Count(12))).unwrap();
    let info = store
        .read(|c| flashpick::store::sku_info(c, &flashpick::model::SkuCode::new("MILK1L")))
        .unwrap()
        .unwrap();
    assert_eq!(info.on_hand, 12);
    // A REAL left by a release before migration 7 (the trigger dropped to write one): the item
    // still reads, publishes nothing, is named, and a count makes it whole again.
    raw.execute_batch(
        "DROP TRIGGER stock_whole_update;
         UPDATE stock SET on_hand = 9.3e18 WHERE sku = 'BREAD';",
    )
    .unwrap();
    let bread = flashpick::model::SkuCode::new("BREAD");
    let info = store
        .read(|c| flashpick::store::sku_info(c, &bread))
        .unwrap()
        .unwrap();
    assert_eq!(info.on_hand, i64::MAX);
    let levels = store
        .read(|c| flashpick::store::all_levels(c, Platform::Meituan, 0))
        .unwrap();
    assert_eq!(levels.iter().find(|l| l.code == "BREAD").unwrap().level, 0);
    let (_, first) = store
        .read(|c| Ok(flashpick::store::schema::bad_stock_figures(c)?))
        .unwrap();
    assert_eq!(first, vec!["BREAD".to_string()]);
    store
        .stock_blocking(StockOp {
            sku: bread.clone(),
            kind: StockOpKind::Count(4),
            actor: "manager".into(),
            reason: Some("repair".into()),
        })
        .unwrap();
    let kind: String = raw
        .query_row(
            "SELECT typeof(on_hand) || ':' || on_hand FROM stock WHERE sku = 'BREAD'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "integer:4");
    store.close();
}

/// A catalog delta from HQ meets the same item check: a wrong check digit or a negative walk
/// position is refused with the reason, and nothing of the delta is applied.
#[test]
fn hq_item_changes_meet_the_same_check() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::common::seeded_store(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let delta = |version: i64, changes: serde_json::Value| {
        serde_json::from_value::<flashpick::store::CatalogDelta>(
            json!({"v": 1, "version": version, "changes": changes}),
        )
        .unwrap()
    };
    let cases = [
        (
            json!([{"op": "item", "sku": "TEA1", "name": "茶", "location": "A-09",
                    "barcodes": ["6921168558048"]}]),
            "check digit",
        ),
        (
            json!([{"op": "item", "sku": "TEA1", "name": "茶", "location": "A-09", "walk_seq": -4}]),
            "walk_seq -4",
        ),
        (
            json!([{"op": "price", "sku": "W550", "price_fen": -5}]),
            "price_fen -5",
        ),
        (
            json!([{"op": "move", "sku": "W550", "location": "", "walk_seq": 1}]),
            "location is empty",
        ),
    ];
    for (version, (changes, reason)) in (1..).zip(cases) {
        // Refused whole, and its version used up: the next one is not a gap.
        match rt.block_on(store.catalog_delta(delta(version, changes))) {
            Ok(flashpick::store::DeltaOutcome::Refused {
                version: v,
                reason: why,
            }) => {
                assert_eq!(v, version);
                assert!(
                    why.contains(reason) && why.contains("send the fix"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let tea = store
        .read(|c| flashpick::store::sku_info(c, &flashpick::model::SkuCode::new("TEA1")))
        .unwrap();
    assert!(tea.is_none());
    drop(rt);
    store.close();
}

/// A row at every limit still fits in one socket line, so a valid catalog always goes through
/// the daemon as it goes offline.
#[test]
fn the_largest_valid_row_fits_in_one_socket_line() {
    use flashpick::model::item::*;
    let mut r = row(1_000_000, &"S".repeat(MAX_SKU_BYTES), "x", "1", MAX_QTY);
    r.name = "长".repeat(MAX_NAME_BYTES / 3);
    r.name_en = Some("e".repeat(MAX_NAME_BYTES));
    r.spec = Some("规".repeat(MAX_SPEC_BYTES / 3));
    r.location = "L".repeat(MAX_LOCATION_BYTES);
    r.barcodes = (0..MAX_CODES)
        .map(|i| format!("{i:0>width$}", width = MAX_CODE_BYTES))
        .map(|c| c.replace('0', "A"))
        .collect();
    r.plu = Some("1234567890".into());
    r.safety_stock = Some(MAX_QTY);
    r.price = Some(flashpick::model::Fen(MAX_PRICE_FEN));
    r.check().unwrap();
    let line = serde_json::to_string(&json!({"catalog_stage": {"rows": [r]}})).unwrap();
    assert!(
        line.len() < flashpick::api::MAX_LINE / 8,
        "{} bytes",
        line.len()
    );
    // The store opened on a fresh file takes it.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.db"), crate::common::options()).unwrap();
    assert_eq!(store.import_catalog_blocking(vec![r]).unwrap(), 1);
    store.close();
}

/// An upgrade over a stock figure a release before migration 7 stored as a REAL (an overflow)
/// does not fail: the database is brought back to version 6 as that release left it (every
/// later change undone by hand), the figure written, and the store opened: it migrates, names
/// the item, and from then on refuses any new non-whole figure.
#[test]
fn an_upgrade_over_a_real_stock_figure_reports_it_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let db = dir.path().join("store.db");
    {
        let raw = rusqlite::Connection::open(&db).unwrap();
        raw.execute_batch(
            "DROP INDEX order_by_batch;
             ALTER TABLE \"order\" DROP COLUMN slot;
             ALTER TABLE \"order\" DROP COLUMN batch_id;
             DROP TABLE print_job;
             DROP TABLE day_summary;
             DROP INDEX order_transition_changes;
             DROP TABLE platform_open_log;
             DROP TABLE platform_open;
             ALTER TABLE outbox DROP COLUMN sent_at;
             ALTER TABLE outbox DROP COLUMN look;
             ALTER TABLE outbox DROP COLUMN resolved_by;
             ALTER TABLE outbox DROP COLUMN resolved_at;
             DROP INDEX sku_sold_out;
             ALTER TABLE sku DROP COLUMN sold_out_at;
             ALTER TABLE \"order\" DROP COLUMN reminded_at;
             ALTER TABLE \"order\" DROP COLUMN rider;
             ALTER TABLE order_line DROP COLUMN refunded;
             ALTER TABLE order_line DROP COLUMN put_back;
             DROP TABLE customer_request;
             ALTER TABLE \"order\" DROP COLUMN delivery;
             DROP INDEX pick_scan_by_order;
             ALTER TABLE inbox DROP COLUMN refused;
             DROP TRIGGER stock_whole_insert;
             DROP TRIGGER stock_whole_update;
             DROP TRIGGER stock_move_whole;
             UPDATE stock SET on_hand = 9.3e18 WHERE sku = 'W550';
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let store = Store::open(&db, crate::common::options()).unwrap();
    let version = store
        .read(|c| Ok(flashpick::store::schema::version(c)?))
        .unwrap();
    assert_eq!(version, flashpick::store::schema::latest());
    let (n, first) = store
        .read(|c| Ok(flashpick::store::schema::bad_stock_figures(c)?))
        .unwrap();
    assert_eq!((n, first), (1, vec!["W550".to_string()]));
    store.close();
    // The triggers stand now.
    let raw = rusqlite::Connection::open(&db).unwrap();
    let refused = raw
        .execute("UPDATE stock SET on_hand = 1.5 WHERE sku = 'BREAD'", [])
        .unwrap_err();
    assert!(refused.to_string().contains("whole numbers"), "{refused}");
}
