//! The store on real files: migrations, one transaction per transition, crashes, concurrency.

use crate::common::{new_order, options, seeded_store, small_catalog};
use flashpick::model::{OrderEvent, OrderState, Platform, ShortReason, SkuCode};
use flashpick::store::{
    self, CatalogError, Ingested, Store, StoreError,
    schema::{self, Migrated},
};
use rusqlite::Connection;
use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn ingest(store: &Store, id: &str, lines: &[(&str, i64)]) -> flashpick::model::Order {
    match store
        .ingest_blocking("meituan", id, new_order(id, lines))
        .unwrap()
    {
        Ingested::New(o) => o,
        d => panic!("expected a new order, got {d:?}"),
    }
}

#[test]
fn a_new_file_is_migrated_from_empty_and_reopens_current() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut conn = Connection::open(&path).unwrap();
    schema::configure(&conn).unwrap();
    assert_eq!(
        schema::migrate(&mut conn).unwrap(),
        Migrated::Applied {
            from: 0,
            to: schema::latest()
        }
    );
    assert_eq!(schema::migrate(&mut conn).unwrap(), Migrated::Current);
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::latest());
    for table in [
        "sku",
        "barcode",
        "stock",
        "stock_move",
        "order",
        "order_line",
        "outbox",
        "inbox",
    ] {
        let n = count(
            &conn,
            &format!("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='{table}'"),
        );
        assert_eq!(n, 1, "table {table}");
    }
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    // The store opens the migrated file without touching it again.
    let store = Store::open(&path, options()).unwrap();
    store.close();
}

#[test]
fn a_database_from_a_newer_release_is_refused_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    Store::open(&path, options()).unwrap().close();
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let e = Store::open(&path, options()).err().expect("must refuse");
    assert!(
        matches!(
            e,
            StoreError::Migrate(schema::MigrateError::TooNew { found: 99, .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("newer"), "{e}");
}

#[test]
fn the_ledger_is_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    store.close();
    let conn = Connection::open(dir.path().join("store.db")).unwrap();
    let e = conn
        .execute("UPDATE stock_move SET delta = 0", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = conn.execute("DELETE FROM stock_move", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[test]
fn a_pick_writes_state_ledger_history_and_outbox_in_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let order = ingest(&store, "MT-1", &[("W550", 2), ("MILK1L", 1)]);
    assert_eq!(order.day_seq, 1);
    store
        .apply_blocking(order.id, OrderEvent::Accept, "auto")
        .unwrap();
    store
        .apply_blocking(
            order.id,
            OrderEvent::Claim {
                picker: "p1".into(),
            },
            "p1",
        )
        .unwrap();
    let applied = store
        .apply_blocking(order.id, OrderEvent::Pick { line: 1, qty: 1 }, "p1")
        .unwrap();
    store.close();
    let conn = Connection::open(dir.path().join("store.db")).unwrap();
    let ev = &applied.event_id.0;
    let moves: (i64, String, String) = conn
        .query_row(
            "SELECT delta, kind, actor FROM stock_move WHERE event_id = ?1",
            [ev],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(moves, (-1, "pick".into(), "p1".into()));
    let (on_hand, reserved): (i64, i64) = conn
        .query_row(
            "SELECT on_hand, reserved FROM stock WHERE sku = 'W550'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((on_hand, reserved), (19, 1));
    assert_eq!(
        count(
            &conn,
            &format!("SELECT COUNT(*) FROM order_transition WHERE event_id = '{ev}'")
        ),
        1
    );
    assert_eq!(
        count(
            &conn,
            &format!("SELECT COUNT(*) FROM outbox WHERE event_id = '{ev}' AND destination = 'hq'")
        ),
        1
    );
    // Stock levels coalesce: however many changes, one pending level per (platform, sku).
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'stock_level' AND payload LIKE '%\"W550\"%'"
        ),
        2
    );
    let level: String = conn
        .query_row(
            "SELECT payload FROM outbox WHERE coalesce_key = 'stock:jddj:W550' AND state = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let level: serde_json::Value = serde_json::from_str(&level).unwrap();
    assert_eq!(level["level"], 18, "19 on hand − 1 reserved");
    // The accept was reported to Meituan, once.
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM outbox WHERE destination = 'meituan' AND kind = 'report' AND payload LIKE '%\"confirm\"%'"
        ),
        1
    );
}

#[test]
fn a_refused_event_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let order = ingest(&store, "MT-2", &[("BREAD", 2)]);
    let before = count_all(&store);
    let e = store
        .apply_blocking(order.id, OrderEvent::Pick { line: 1, qty: 1 }, "p1")
        .unwrap_err();
    assert!(e.is_refusal());
    assert_eq!(e.to_string(), "cannot pick an order that is new");
    assert_eq!(count_all(&store), before);
    // Bread: 2 on hand, Meituan safety 0 → the order fits exactly; a second one does not.
    store
        .apply_blocking(order.id, OrderEvent::Accept, "auto")
        .unwrap();
    let second = ingest(&store, "MT-3", &[("BREAD", 1)]);
    let e = store
        .apply_blocking(second.id, OrderEvent::Accept, "auto")
        .unwrap_err();
    assert!(e.to_string().contains("not enough BREAD"), "{e}");
    let inv = store.read(store::check_invariants).unwrap();
    assert!(inv.hold(), "{inv:?}");
}

fn count_all(store: &Store) -> (i64, i64, i64) {
    store
        .read(|c| {
            Ok((
                count(c, "SELECT COUNT(*) FROM stock_move"),
                count(c, "SELECT COUNT(*) FROM outbox"),
                count(c, "SELECT COUNT(*) FROM order_transition"),
            ))
        })
        .unwrap()
}

#[test]
fn a_platform_pushing_twice_creates_one_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let order = new_order("MT-9", &[("W550", 1)]);
    let Ingested::New(first) = store
        .ingest_blocking("meituan", "MT-9", order.clone())
        .unwrap()
    else {
        panic!("not new")
    };
    let again = store
        .ingest_blocking("meituan", "MT-9", order.clone())
        .unwrap();
    assert_eq!(again, Ingested::Duplicate(first.id));
    let other_message = store
        .ingest_blocking("meituan", "push-2", order.clone())
        .unwrap();
    assert_eq!(other_message, Ingested::Duplicate(first.id));
    // A status or rider re-push changes what does not decide the picking: no change.
    let mut repushed = order.clone();
    repushed.remark = Some("骑手已到店".into());
    repushed.day_seq = Some(77);
    assert_eq!(
        store
            .ingest_blocking("meituan", "push-3b", repushed)
            .unwrap(),
        Ingested::Duplicate(first.id)
    );
    // The same id with other lines is a change someone must look at, told once; the store
    // keeps what it has.
    let mut changed = order.clone();
    changed.lines[0].qty = 5;
    let told = store
        .ingest_blocking("meituan", "push-4", changed.clone())
        .unwrap();
    assert!(
        matches!(&told, Ingested::Changed { id, what } if *id == first.id && what.contains("W550×1@350 became W550×5@350")),
        "{told:?}"
    );
    assert_eq!(
        store.ingest_blocking("meituan", "push-5", changed).unwrap(),
        Ingested::Duplicate(first.id),
        "told once"
    );
    let unknown = store
        .ingest_blocking("meituan", "push-3", new_order("MT-10", &[("NOPE", 1)]))
        .unwrap_err();
    assert!(matches!(unknown, StoreError::NoSuchSku(ref s) if s.as_str() == "NOPE"));
    let n = store
        .read(|c| Ok(count(c, "SELECT COUNT(*) FROM \"order\"")))
        .unwrap();
    assert_eq!(n, 1, "the failed order left nothing behind");
}

#[test]
fn cancelled_while_picking_returns_stock_only_when_staff_confirm() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let o = ingest(&store, "MT-4", &[("MILK1L", 3)]);
    for ev in [
        OrderEvent::Accept,
        OrderEvent::Claim {
            picker: "p1".into(),
        },
        OrderEvent::Pick { line: 1, qty: 2 },
        OrderEvent::Cancel {
            by: flashpick::model::CancelSource::Platform,
            reason: "用户取消".into(),
        },
    ] {
        store.apply_blocking(o.id, ev, "p1").unwrap();
    }
    let figures = |s: &Store| {
        s.read(|c| store::stock_figures(c, &SkuCode::new("MILK1L"), Platform::Jddj, 0))
            .unwrap()
    };
    assert_eq!((figures(&store).on_hand, figures(&store).reserved), (3, 0));
    let back = store
        .apply_blocking(o.id, OrderEvent::ConfirmReturn, "p1")
        .unwrap();
    assert_eq!(back.order.state, OrderState::Cancelled);
    assert!(!back.order.return_pending);
    assert_eq!(figures(&store).on_hand, 5);
    assert!(store.read(store::check_invariants).unwrap().hold());
}

#[test]
fn short_pick_writes_off_the_missing_units_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let o = ingest(&store, "MT-5", &[("W550", 2)]);
    for ev in [
        OrderEvent::Accept,
        OrderEvent::Claim {
            picker: "p1".into(),
        },
        OrderEvent::Pick { line: 1, qty: 1 },
        OrderEvent::Short {
            line: 1,
            qty: 1,
            reason: ShortReason::Damaged,
        },
        OrderEvent::CompletePick,
    ] {
        store.apply_blocking(o.id, ev, "p1").unwrap();
    }
    let (reason, delta): (String, i64) = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT reason, delta FROM stock_move WHERE kind = 'short'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!((reason.as_str(), delta), ("damaged", -1));
    // Adjustment first, then pick-complete, in outbox order for Meituan.
    let actions: Vec<String> = store
        .read(|c| {
            let mut st = c.prepare(
                "SELECT json_extract(payload, '$.action') FROM outbox
                 WHERE destination = 'meituan' AND kind = 'report' ORDER BY id",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    assert_eq!(actions, ["confirm", "adjust", "pick_complete"]);
}

#[test]
fn catalog_import_updates_in_place_and_a_bad_row_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let moves = |s: &Store| {
        s.read(|c| Ok(count(c, "SELECT COUNT(*) FROM stock_move")))
            .unwrap()
    };
    let after_first = moves(&store);
    assert_eq!(after_first, 3);
    assert_eq!(store.import_catalog_blocking(small_catalog()).unwrap(), 3);
    assert_eq!(
        moves(&store),
        after_first,
        "same file again: no new ledger rows"
    );
    let mut bad = small_catalog();
    bad[0].name = "改名".into();
    bad.push(crate::common::row(5, "EGG", "鸡蛋", "6901234567892", 1));
    let e = store.import_catalog_blocking(bad).unwrap_err();
    assert!(
        matches!(e, StoreError::Catalog(CatalogError::Row { line: 5, .. })),
        "{e}"
    );
    let name: String = store
        .read(|c| Ok(c.query_row("SELECT name FROM sku WHERE sku = 'W550'", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(name, "农夫山泉 550ml", "the failed import changed nothing");

    // A changed file: a new name, a counted level and a new barcode, each updated in place.
    let mut changed = small_catalog();
    changed[0].name = "农夫山泉 550ml 新包装".into();
    changed[0].on_hand = 25;
    changed[2].barcodes = vec!["6920152400012".into()];
    assert_eq!(store.import_catalog_blocking(changed).unwrap(), 3);
    let (name, on_hand, skus, moved): (String, i64, i64, i64) = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT name, (SELECT on_hand FROM stock WHERE sku = 'W550'), (SELECT COUNT(*) FROM sku),
                        (SELECT SUM(delta) FROM stock_move WHERE sku = 'W550' AND kind = 'import')
                 FROM sku WHERE sku = 'W550'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .unwrap();
    assert_eq!(name, "农夫山泉 550ml 新包装");
    assert_eq!(
        (on_hand, moved),
        (25, 25),
        "the level moved by a ledger row, not overwritten"
    );
    assert_eq!(skus, 3, "updated in place, nothing added");
    assert_eq!(moves(&store), after_first + 1);
    let by_code = |code: &str| {
        let code = code.to_string();
        store
            .read(move |c| store::sku_by_code(c, &code))
            .unwrap()
            .map(|s| s.0)
    };
    assert_eq!(by_code("6920152400012").as_deref(), Some("BREAD"));
    assert_eq!(
        by_code("96385074"),
        None,
        "the file's barcodes replace the old ones"
    );
}

#[test]
fn a_connection_dropped_mid_transaction_leaves_no_partial_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let o = ingest(&store, "MT-6", &[("W550", 1)]);
    store.close();
    let path = dir.path().join("store.db");
    {
        let conn = Connection::open(&path).unwrap();
        schema::configure(&conn).unwrap();
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             UPDATE \"order\" SET state = 'accepted';
             UPDATE stock SET reserved = reserved + 1 WHERE sku = 'W550';
             INSERT INTO outbox (event_id, destination, kind, payload, next_attempt_at, created_at)
                 VALUES ('x', 'hq', 'test', '{}', 0, 0);",
        )
        .unwrap();
        // The connection closes here without COMMIT, as when a process dies mid-write.
    }
    let store = Store::open(&path, options()).unwrap();
    let order = store.read(|c| store::load_order(c, o.id)).unwrap().unwrap();
    assert_eq!(order.state, OrderState::New);
    assert_eq!(
        store
            .read(|c| Ok(count(c, "SELECT COUNT(*) FROM outbox WHERE event_id = 'x'")))
            .unwrap(),
        0
    );
    assert!(store.read(store::check_invariants).unwrap().hold());
}

/// Runs as the parent (kills a writer process at a random moment) or, when re-executed with
/// `FLASHPICK_CRASH_DB` set, as that writer, which picks and un-picks units forever.
#[test]
fn a_writer_process_killed_mid_stream_loses_no_committed_pick() {
    if let Ok(path) = std::env::var("FLASHPICK_CRASH_DB") {
        crash_child(std::path::Path::new(&path));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    for i in 0..10 {
        let o = ingest(&store, &format!("MT-C{i}"), &[("W550", 1)]);
        store
            .apply_blocking(o.id, OrderEvent::Accept, "auto")
            .unwrap();
        store
            .apply_blocking(
                o.id,
                OrderEvent::Claim {
                    picker: "p1".into(),
                },
                "p1",
            )
            .unwrap();
    }
    store.close();
    let path = dir.path().join("store.db");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store_tests::a_writer_process_killed_mid_stream_loses_no_committed_pick",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FLASHPICK_CRASH_DB", &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Kill after a varying number of commits, so the kill lands anywhere in a transaction.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let kill_after = 50 + (nanos % 350) as usize;
    let mut told: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    let mut steps = 0;
    // Every line the child printed was told to the picker, those still in the pipe when the
    // kill lands included: read to the end (the child runs ahead of this reader). A line cut
    // by the kill is the step whose telling was interrupted: its order may be one step ahead.
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let Ok(line) = line else { break };
        let Some((id, picked)) = line.strip_prefix("STEP ").and_then(|r| r.split_once(' ')) else {
            continue;
        };
        let (Ok(id), Ok(picked)) = (id.parse(), picked.parse()) else {
            continue;
        };
        told.insert(id, picked);
        steps += 1;
        if steps == kill_after {
            child.kill().unwrap(); // SIGKILL: no destructor, no rollback, no clean close.
        }
    }
    child.wait().unwrap();
    assert!(
        steps >= kill_after,
        "the child reported commits until it was killed ({steps} of {kill_after})"
    );
    let store = Store::open(&path, options()).unwrap();
    let ok: String = store
        .read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(ok, "ok");
    // Every state the picker was told about is on disk; at most one order, the one whose
    // transition was in flight, may be one step further.
    let mut ahead = 0;
    for (id, picked) in told {
        let o = store
            .read(move |c| store::load_order(c, flashpick::model::OrderId(id)))
            .unwrap()
            .unwrap();
        if o.lines[0].picked != picked {
            ahead += 1;
            assert_eq!((o.lines[0].picked - picked).abs(), 1, "order {id}");
        }
    }
    assert!(ahead <= 1, "{ahead} orders differ from what was confirmed");
    let inv = store.read(store::check_invariants).unwrap();
    assert!(inv.hold(), "{inv:?}");
}

fn crash_child(path: &std::path::Path) {
    let store = Store::open(path, options()).unwrap();
    let ids: Vec<i64> = store
        .read(|c| {
            let mut st =
                c.prepare("SELECT id FROM \"order\" WHERE state = 'picking' ORDER BY id")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    let mut picked = vec![0i64; ids.len()];
    // Until killed: pick a unit, then put it back, order after order.
    for i in (0..ids.len()).cycle() {
        let ev = if picked[i] == 0 {
            OrderEvent::Pick { line: 1, qty: 1 }
        } else {
            OrderEvent::UndoPick { line: 1, qty: 1 }
        };
        store
            .apply_blocking(flashpick::model::OrderId(ids[i]), ev, "p1")
            .unwrap();
        picked[i] = 1 - picked[i];
        // Printed only after the commit returned: this is what the picker was told.
        println!("STEP {} {}", ids[i], picked[i]);
    }
}

#[test]
fn two_readers_see_consistent_snapshots_while_the_writer_works() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let mut orders = Vec::new();
    for i in 0..10 {
        orders.push(ingest(&store, &format!("MT-R{i}"), &[("W550", 2)]).id);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writing = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, reads, writing) = (stop.clone(), reads.clone(), writing.clone());
            let path = dir.path().join("store.db");
            std::thread::spawn(move || {
                // A second process's view: its own connection, not the store's pool.
                let conn = Connection::open(&path).unwrap();
                schema::configure(&conn).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let inv = store::check_invariants(&conn).unwrap();
                    assert!(
                        inv.hold(),
                        "a reader saw a half-written transition: {inv:?}"
                    );
                    if writing.load(Ordering::Relaxed) {
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    writing.store(true, Ordering::Relaxed);
    for id in &orders {
        for ev in [
            OrderEvent::Accept,
            OrderEvent::Claim {
                picker: "p1".into(),
            },
            OrderEvent::Pick { line: 1, qty: 1 },
            OrderEvent::Pick { line: 1, qty: 1 },
            OrderEvent::CompletePick,
        ] {
            store.apply_blocking(*id, ev, "p1").unwrap();
        }
    }
    writing.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader thread");
    }
    let during = reads.load(Ordering::Relaxed);
    assert!(
        during >= 1,
        "readers checked {during} snapshots while the writer committed"
    );
}

/// Stock levels for weighed goods go out in whole portions; an item imported before portions
/// existed is shown as 0 (the platform may still hold a level in grams, which would sell a
/// hundred times the shelf), and the store refuses a weighed row without its portion.
#[test]
fn weighed_levels_go_out_in_portions_and_never_in_grams() {
    use flashpick::model::{Platform, Unit};
    use flashpick::store::{StockOp, StockOpKind};
    let dir = tempfile::tempdir().unwrap();
    let store = crate::common::seeded_store(dir.path());
    let weighed = |line, sku: &str, code: &str, g: i64, portion| {
        let mut r = crate::common::row(line, sku, "称重", code, g);
        r.unit = Unit::Gram;
        r.sale_unit_g = portion;
        r
    };
    let e = store
        .import_catalog_blocking(vec![weighed(5, "FR003", "2000000000015", 5300, None)])
        .unwrap_err();
    assert!(e.to_string().contains("set sale_unit_g"), "{e}");
    store
        .import_catalog_blocking(vec![
            weighed(5, "FR003", "2000000000015", 5300, Some(500)),
            weighed(6, "PORK", "2000000000022", 8000, Some(1000)),
        ])
        .unwrap();
    // PORK as a store upgraded from before portions has it.
    rusqlite::Connection::open(dir.path().join("store.db"))
        .unwrap()
        .execute("UPDATE sku SET sale_unit_g = NULL WHERE sku = 'PORK'", [])
        .unwrap();
    let levels: std::collections::HashMap<String, i64> = store
        .read(|c| flashpick::store::all_levels(c, Platform::Meituan, 0))
        .unwrap()
        .into_iter()
        .map(|l| (l.code, l.level))
        .collect();
    assert_eq!(levels.get("FR003"), Some(&10), "{levels:?}");
    assert_eq!(levels.get("W550"), Some(&20), "{levels:?}");
    assert_eq!(levels.get("PORK"), Some(&0), "{levels:?}");
    // One level at a time, the same.
    for sku in ["FR003", "PORK"] {
        store
            .stock_blocking(StockOp {
                sku: flashpick::model::SkuCode::new(sku),
                kind: StockOpKind::Receive(700),
                actor: "test".into(),
                reason: None,
            })
            .unwrap();
    }
    let queued: Vec<(String, i64)> = store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT json_extract(payload, '$.sku'), json_extract(payload, '$.level')
                 FROM outbox WHERE kind = 'stock_level' AND destination = 'meituan'
                 ORDER BY 1",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    assert_eq!(
        queued,
        vec![("FR003".to_string(), 12), ("PORK".to_string(), 0)],
        "6,000 g in 500 g portions; none known for PORK"
    );
    store.close();
}

/// HQ's catalog deltas and weighed items: an item change without a portion (HQ software from
/// before the field) keeps the portion the item has rather than stalling the deltas behind it;
/// a nonsense portion is refused with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_item_changes_keep_a_weighed_items_portion() {
    use flashpick::store::CatalogDelta;
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let store = Store::open(&dir.path().join("store.db"), crate::common::options()).unwrap();
    let delta = |version: i64, portion: serde_json::Value| -> CatalogDelta {
        serde_json::from_value(serde_json::json!({"v": 1, "version": version, "changes": [
            {"op": "item", "sku": "FR003", "name": "香蕉", "unit": "gram", "location": "F-02",
             "sale_unit_g": portion}
        ]}))
        .unwrap()
    };
    let portion = |store: &Store| {
        store
            .read(|c| flashpick::store::sale_unit(c, &flashpick::model::SkuCode::new("FR003")))
            .unwrap()
            .1
    };
    store.catalog_delta(delta(1, 500.into())).await.unwrap();
    assert_eq!(portion(&store), Some(500));
    store
        .catalog_delta(delta(2, serde_json::Value::Null))
        .await
        .unwrap();
    assert_eq!(portion(&store), Some(500), "kept");
    let e = match store.catalog_delta(delta(3, 0.into())).await.unwrap() {
        flashpick::store::DeltaOutcome::Refused { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    assert!(
        e.contains("catalog delta 3 change 0") && e.contains("between 1 and 100000"),
        "{e}"
    );
    assert_eq!(portion(&store), Some(500), "nothing of it applied");
    store.close_async().await;
}

/// `list_orders` of every state gives the latest orders taken when there are more than it may
/// list (a store's history grows by hundreds a day; an order booked for tomorrow does not push
/// out today's), open-only gives the most urgent; both by deadline.
#[test]
fn all_orders_are_the_latest_and_open_orders_the_most_urgent() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let now = flashpick::model::Timestamp::now();
    for (ext, deadline) in [("A", 3_000), ("B", 1_000), ("C", 2_000), ("D", 4_000)] {
        let mut o = new_order(ext, &[("W550", 1)]);
        o.platform_deadline = Some(now.plus_secs(deadline));
        let Ingested::New(_) = store.ingest_blocking("meituan", ext, o).unwrap() else {
            panic!("duplicate")
        };
    }
    let listed = |open_only| {
        store
            .read(|c| store::list_orders(c, open_only, 2))
            .unwrap()
            .into_iter()
            .map(|o| o.external_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(false),
        ["C", "D"],
        "the two latest taken, by deadline"
    );
    assert_eq!(listed(true), ["B", "C"], "the two most urgent");
    store.close();
}

/// A platform sells the water under its own code, "P-WATER": the first order teaches the store
/// that code (and the platform's item id), drops the level still waiting under "W550" and queues
/// it under the code at once. When the catalog later moves that barcode to another item, the
/// barcode wins over what was learned: the code follows it, and both items' levels go out again.
#[test]
fn platform_codes_are_learned_from_orders_and_follow_the_barcode() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let pending = |s: &Store| -> Vec<(String, String, Option<String>)> {
        s.read(|c| {
            let mut st = c.prepare(
                "SELECT coalesce_key, json_extract(payload, '$.sku'), json_extract(payload, '$.item')
                 FROM outbox WHERE destination = 'meituan' AND kind = 'stock_level'
                   AND state = 'pending' ORDER BY coalesce_key",
            )?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .unwrap()
    };
    let order = |ext: &str| {
        let sku = store
            .read(|c| {
                store::resolve_item(c, Platform::Meituan, Some("P-WATER"), Some("6901234567892"))
            })
            .unwrap()
            .expect("matched by barcode");
        let mut o = crate::common::new_order(ext, &[(sku.0.as_str(), 1)]);
        o.lines[0].merchant_code = Some("P-WATER".into());
        o.lines[0].platform_item = Some("P-WATER-1".into());
        let Ingested::New(o) = store.ingest_blocking("meituan", ext, o).unwrap() else {
            panic!("duplicate")
        };
        o
    };
    // Six bottles arrive before the platform's first order: their level waits under "W550".
    store
        .stock_blocking(store::StockOp {
            sku: SkuCode::new("W550"),
            kind: store::StockOpKind::Receive(6),
            actor: "p1".into(),
            reason: None,
        })
        .unwrap();
    assert!(
        pending(&store)
            .iter()
            .any(|(k, ..)| k == "stock:meituan:W550")
    );
    assert_eq!(order("MT-1").lines[0].sku.0, "W550");
    assert_eq!(
        pending(&store)
            .into_iter()
            .filter(|(_, sku, _)| sku == "W550")
            .collect::<Vec<_>>(),
        [(
            "stock:meituan:P-WATER".to_string(),
            "W550".to_string(),
            Some("P-WATER-1".to_string())
        )],
        "W550's level waits under the platform's code only, with its item id"
    );
    let levels = |s: &Store| -> Vec<(String, i64)> {
        s.read(|c| store::all_levels(c, Platform::Meituan, 0))
            .unwrap()
            .into_iter()
            .map(|l| (l.code, l.level))
            .collect()
    };
    assert!(levels(&store).contains(&("P-WATER".to_string(), 26)));
    assert!(!levels(&store).iter().any(|(c, _)| c == "W550"));

    // The barcode moves to the milk (a relabelled product): the next order's barcode wins.
    let mut rows = crate::common::small_catalog();
    rows[0].barcodes = vec!["6920152400012".into()];
    rows[1].barcodes = vec!["6901234567892".into()];
    store.import_catalog_blocking(rows).unwrap();
    assert_eq!(order("MT-2").lines[0].sku.0, "MILK1L");
    let all = levels(&store);
    assert!(all.contains(&("P-WATER".to_string(), 5)), "{all:?}");
    // (The file counted the water back to 20.)
    assert!(all.contains(&("W550".to_string(), 20)), "{all:?}");
    let waiting: Vec<(String, String)> = pending(&store)
        .into_iter()
        .map(|(k, sku, _)| (k, sku))
        .collect();
    assert!(
        waiting.contains(&("stock:meituan:W550".into(), "W550".into()))
            && waiting.contains(&("stock:meituan:P-WATER".into(), "MILK1L".into())),
        "{waiting:?}"
    );
    store.close();
}
