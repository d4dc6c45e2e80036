//! Store benchmarks, each beside a raw baseline run in the same process on the same disk.
//!
//! 1. One order transition (a pick: order + line + stock + ledger + history + outbox rows) through
//!    the store's writer thread, against a bare rusqlite transaction writing the same rows with
//!    the same pragmas. Goal: ratio of medians ≤ 1.5.
//! 2. Catalog import of 100,000 skus (CSV text → parsed → one transaction), against the same
//!    file read with the csv crate and upserted by bare rusqlite. Goal: < 2 s.
//!
//! Run: `cargo bench --bench store` (FLASHPICK_BENCH_ROUNDS to change the rounds).

#[path = "support/record.rs"]
mod record;

use flashpick::model::{Fen, OrderEvent, OrderId, Platform, SkuCode, Timestamp, Unit};
use flashpick::store::{
    CatalogRow, Ingested, NewLine, NewOrder, Store, StoreOptions, catalog, schema,
};
use rusqlite::{Connection, TransactionBehavior, params};
use std::time::{Duration, Instant};

fn options() -> StoreOptions {
    StoreOptions {
        selling: vec![(Platform::Meituan, 1), (Platform::Jddj, 1)],
        hq_events: true,
        ..StoreOptions::default()
    }
}

fn row(i: usize, on_hand: i64) -> CatalogRow {
    CatalogRow {
        line: i as u64 + 2,
        sku: SkuCode(format!("S{i:06}")),
        name: format!("商品{i} 农夫山泉饮用天然水"),
        name_en: None,
        spec: Some("550ml".into()),
        unit: Unit::Piece,
        location: format!("A-{:02}-{}", i % 40, i % 7),
        walk_seq: i as i64,
        price: Some(Fen(200)),
        safety_stock: None,
        on_hand,
        barcodes: vec![with_check(&format!("69{i:010}"))],
        plu: None,
        sale_unit_g: None,
    }
}

/// A GTIN body with its check digit: the catalog refuses a wrong one.
fn with_check(body: &str) -> String {
    let d = flashpick::model::barcode::gtin::check_digit(body.as_bytes());
    format!("{body}{d}")
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p90(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() * 9 / 10]
}

/// Prepares `n` orders in picking state, each one line of 1000 units, so every pick is allowed.
fn store_with_orders(dir: &std::path::Path, n: usize) -> (Store, Vec<OrderId>) {
    let store = Store::open(&dir.join("store.db"), options()).unwrap();
    store
        .import_catalog_blocking((0..n).map(|i| row(i, 1_000_000)).collect())
        .unwrap();
    let ids = (0..n)
        .map(|i| {
            let new = NewOrder {
                platform: Platform::Meituan,
                external_id: format!("MT{i}"),
                day_seq: None,
                placed_at: Timestamp::now(),
                promised_at: None,
                platform_deadline: None,
                pickup_code: None,
                delivery: None,
                remark: None,
                unknown_items: Vec::new(),
                lines: vec![NewLine {
                    sku: SkuCode(format!("S{i:06}")),
                    name: None,
                    qty: 1000,
                    unit_price: Fen(200),
                    platform_item: None,
                    merchant_code: None,
                    unit_g: None,
                }],
            };
            let Ingested::New(o) = store
                .ingest_blocking("bench", &format!("m{i}"), new)
                .unwrap()
            else {
                panic!("duplicate")
            };
            store
                .apply_blocking(o.id, OrderEvent::Accept, "bench")
                .unwrap();
            store
                .apply_blocking(
                    o.id,
                    OrderEvent::Claim {
                        picker: "p1".into(),
                    },
                    "bench",
                )
                .unwrap();
            o.id
        })
        .collect();
    (store, ids)
}

/// The baseline: the same rows a pick writes, by hand, in one immediate transaction.
fn raw_pick(conn: &mut Connection, order: i64, sku: &str, n: i64) {
    let now = Timestamp::now().0;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.prepare_cached("UPDATE \"order\" SET state = 'picking', updated_at = ?2, version = version + 1 WHERE id = ?1")
        .unwrap()
        .execute(params![order, now])
        .unwrap();
    tx.prepare_cached(
        "UPDATE order_line SET picked = picked + 1 WHERE order_id = ?1 AND line_no = 1",
    )
    .unwrap()
    .execute(params![order])
    .unwrap();
    tx.prepare_cached(
        "UPDATE stock SET on_hand = on_hand - 1, reserved = reserved - 1 WHERE sku = ?1",
    )
    .unwrap()
    .execute(params![sku])
    .unwrap();
    let ev = format!("raw-{order}-{n}");
    tx.prepare_cached(
        "INSERT INTO stock_move (sku, delta, kind, reason, actor, order_id, event_id, at) VALUES (?1, -1, 'pick', NULL, 'p1', ?2, ?3, ?4)",
    )
    .unwrap()
    .execute(params![sku, order, ev, now])
    .unwrap();
    tx.prepare_cached(
        "INSERT INTO order_transition (order_id, event_id, from_state, to_state, event, actor, at) VALUES (?1, ?2, 'picking', 'picking', '{\"type\":\"pick\"}', 'p1', ?3)",
    )
    .unwrap()
    .execute(params![order, ev, now])
    .unwrap();
    let mut outbox = tx
        .prepare_cached(
            "INSERT INTO outbox (event_id, destination, kind, coalesce_key, payload, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (coalesce_key) WHERE state = 'pending' AND coalesce_key IS NOT NULL
             DO UPDATE SET event_id = excluded.event_id, payload = excluded.payload, created_at = excluded.created_at",
        )
        .unwrap();
    let payload =
        "{\"v\":1,\"type\":\"order_transition\",\"order_id\":1,\"sku\":\"S000001\",\"level\":10}";
    outbox
        .execute(params![
            format!("{ev}-h"),
            "hq",
            "order_transition",
            None::<String>,
            payload,
            now
        ])
        .unwrap();
    outbox
        .execute(params![
            format!("{ev}-m"),
            "hq",
            "stock_move",
            None::<String>,
            payload,
            now
        ])
        .unwrap();
    for p in ["meituan", "jddj"] {
        let key = format!("stock:{p}:{sku}");
        outbox
            .execute(params![
                format!("{ev}-{p}"),
                p,
                "stock_level",
                key,
                payload,
                now
            ])
            .unwrap();
    }
    drop(outbox);
    tx.commit().unwrap();
}

fn bench_transition(rounds: usize) {
    const PER_ROUND: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let raw_dir = dir.path().join("raw");
    std::fs::create_dir_all(&store_dir).unwrap();
    std::fs::create_dir_all(&raw_dir).unwrap();
    let (store, ids) = store_with_orders(&store_dir, 50);
    // The baseline database: same schema, same pragmas, same seed rows.
    let (seed, _) = store_with_orders(&raw_dir, 50);
    seed.close();
    let mut raw = Connection::open(raw_dir.join("store.db")).unwrap();
    schema::configure(&raw).unwrap();

    let (mut ours, mut base) = (Vec::new(), Vec::new());
    let mut n = 0i64;
    for _ in 0..rounds {
        // Alternate the two in rounds so that noise on the shared machine hits both alike.
        for i in 0..PER_ROUND {
            let id = ids[i % ids.len()];
            let t = Instant::now();
            store
                .apply_blocking(id, OrderEvent::Pick { line: 1, qty: 1 }, "p1")
                .unwrap();
            ours.push(t.elapsed());
        }
        for i in 0..PER_ROUND {
            n += 1;
            let id = ids[i % ids.len()];
            let sku = format!("S{:06}", i % ids.len());
            let t = Instant::now();
            raw_pick(&mut raw, id.0, &sku, n);
            base.push(t.elapsed());
        }
    }
    store.close();
    let (m_ours, m_base) = (median(&mut ours), median(&mut base));
    println!(
        "order transition commit (pick: order + line + stock + ledger + history + 4 outbox rows), synchronous=FULL, {} samples each:",
        ours.len()
    );
    println!(
        "  flashpick store (writer thread, model, reads) median {:>9.3?}  p90 {:>9.3?}",
        m_ours,
        p90(&mut ours)
    );
    println!(
        "  bare rusqlite transaction, same rows          median {:>9.3?}  p90 {:>9.3?}",
        m_base,
        p90(&mut base)
    );
    println!(
        "  ratio of medians: {:.2}x (goal <= 1.5x)",
        m_ours.as_secs_f64() / m_base.as_secs_f64()
    );
    record::figure(
        "order transition commit, median",
        record::ms(m_ours),
        "ms",
        record::ms(m_base),
    );
}

fn catalog_csv(n: usize) -> String {
    let mut s = String::from("sku,name,barcode,location,on_hand,price_fen,spec,walk_seq\n");
    for i in 0..n {
        let r = row(i, 10 + (i % 50) as i64);
        s.push_str(&format!(
            "{},{},{},{},{},200,550ml,{}\n",
            r.sku, r.name, r.barcodes[0], r.location, r.on_hand, r.walk_seq
        ));
    }
    s
}

/// The baseline: the same file read with the csv crate alone (no checks of ours) and upserted
/// row by row in one transaction, as an import into an existing catalog must (sku, barcode,
/// stock, a ledger row, the sync markers).
fn raw_import(path: &std::path::Path, csv_text: &str) {
    let mut conn = Connection::open(path).unwrap();
    schema::configure(&conn).unwrap();
    schema::migrate(&mut conn).unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (c_sku, c_name, c_code, c_loc) = (col("sku"), col("name"), col("barcode"), col("location"));
    let (c_on, c_price, c_spec, c_walk) = (
        col("on_hand"),
        col("price_fen"),
        col("spec"),
        col("walk_seq"),
    );
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    {
        let mut sku = tx.prepare("INSERT INTO sku (sku, name, name_en, spec, unit, location, walk_seq, price_fen, safety_stock, updated_at) VALUES (?1, ?2, NULL, ?3, 'piece', ?4, ?5, ?6, NULL, 0) ON CONFLICT (sku) DO UPDATE SET name = excluded.name, spec = excluded.spec, location = excluded.location, walk_seq = excluded.walk_seq, price_fen = excluded.price_fen").unwrap();
        let mut code = tx
            .prepare("INSERT INTO barcode (code, sku) VALUES (?1, ?2) ON CONFLICT (code) DO UPDATE SET sku = excluded.sku")
            .unwrap();
        let mut stock = tx
            .prepare("INSERT INTO stock (sku, on_hand, reserved) VALUES (?1, ?2, 0) ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand")
            .unwrap();
        let mut mv = tx.prepare("INSERT INTO stock_move (sku, delta, kind, reason, actor, order_id, event_id, at) VALUES (?1, ?2, 'import', NULL, 'raw', NULL, 'e', 0)").unwrap();
        for rec in reader.records() {
            let rec = rec.unwrap();
            let on_hand: i64 = rec[c_on].parse().unwrap();
            let walk: i64 = rec[c_walk].parse().unwrap();
            let price: i64 = rec[c_price].parse().unwrap();
            sku.execute(params![
                &rec[c_sku],
                &rec[c_name],
                &rec[c_spec],
                &rec[c_loc],
                walk,
                price
            ])
            .unwrap();
            code.execute(params![&rec[c_code], &rec[c_sku]]).unwrap();
            stock.execute(params![&rec[c_sku], on_hand]).unwrap();
            mv.execute(params![&rec[c_sku], on_hand]).unwrap();
        }
        let mut outbox = tx.prepare("INSERT INTO outbox (event_id, destination, kind, coalesce_key, payload, next_attempt_at, created_at) VALUES (?1, ?2, 'stock_full_sync', ?3, '{}', 0, 0)").unwrap();
        for p in ["meituan", "jddj", "hq"] {
            outbox
                .execute(params![format!("sync-{p}"), p, format!("stock:{p}:*")])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn bench_import(rounds: usize) {
    const N: usize = 100_000;
    let csv = catalog_csv(N);
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for r in 0..rounds.min(3) {
        let dir = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let rows = catalog::parse(csv.as_bytes(), |_| {}).unwrap();
        let parsed = t.elapsed();
        let store = Store::open(&dir.path().join("store.db"), options()).unwrap();
        let n = store.import_catalog_blocking(rows).unwrap();
        if std::env::var_os("FLASHPICK_BENCH_PHASES").is_some() {
            println!("  (parse {parsed:.3?}, write {:.3?})", t.elapsed() - parsed);
        }
        store.close();
        ours.push(t.elapsed());
        assert_eq!(n, N);
        let t = Instant::now();
        raw_import(&dir.path().join(format!("raw{r}.db")), &csv);
        base.push(t.elapsed());
    }
    let (m_ours, m_base) = (median(&mut ours), median(&mut base));
    println!(
        "catalog import of {N} skus ({} MB of CSV), {} runs each:",
        csv.len() / 1_000_000,
        ours.len()
    );
    println!(
        "  flashpick (parse + validate + one transaction: sku, barcode, stock, ledger, sync markers) median {m_ours:>9.3?} (goal < 2 s)"
    );
    println!(
        "  the file read with the csv crate, upserted by bare rusqlite      median {m_base:>9.3?}"
    );
    println!(
        "  ratio of medians: {:.2}x",
        m_ours.as_secs_f64() / m_base.as_secs_f64()
    );
    record::figure(
        "catalog import, 100,000 skus, median",
        record::ms(m_ours),
        "ms",
        record::ms(m_base),
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep that path short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = std::env::var("FLASHPICK_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 5 });
    bench_transition(rounds);
    if !quick {
        bench_import(rounds);
    }
}
