//! The day's numbers on a year of history: the report of one day of 5,000 orders in a database
//! holding 90 such days (365 with FLASHPICK_BENCH_DAYS=365), against the bare SQL of the same
//! rows (the same statements, every row stepped and its columns read, nothing computed).
//! Goal: < 100 ms, and ≤ 2× the bare SQL.
//!
//! The database is built once by a bulk path (plain inserts into the real schema in large
//! transactions, the rows shaped as the store writes them: an order, its lines, its history of
//! ingest, accept, claim, scans, complete, pack, hand-over; shorts, lates and cancels among
//! them) and kept under `target/` for the next run; its name carries the schema version and
//! the days, so a new migration builds a new one.
//!
//! Run: `cargo bench --bench day`.

#[path = "support/record.rs"]
mod record;

use flashpick::model::{Timestamp, china_time};
use flashpick::store::{Store, StoreOptions, report, schema};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ORDERS_PER_DAY: i64 = 5_000;
const SKUS: i64 = 2_000;
/// The bulk path's version: raise it when `day_rows` changes.
const BULK_VERSION: u32 = 2;

fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Day 0 of the history: 2026-01-01 in China.
fn first_day() -> i64 {
    china_time::parse_day("2026-01-01").unwrap()
}

/// Builds the history of `days` days into `path` (a store made by `Store::open`, so the schema
/// is the real one).
fn build(path: &Path, days: i64) {
    let tmp = path.with_extension("building");
    let _ = std::fs::remove_file(&tmp);
    Store::open_allowing_new(&tmp, StoreOptions::default())
        .unwrap()
        .close();
    let mut c = Connection::open(&tmp).unwrap();
    c.pragma_update(None, "synchronous", "OFF").unwrap();
    c.pragma_update(None, "cache_size", -262_144).unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut sku = tx
            .prepare("INSERT INTO sku (sku, name, unit, location, walk_seq, updated_at) VALUES (?1, ?2, ?3, ?4, ?1, 0)")
            .unwrap();
        for i in 0..SKUS {
            let unit = if i % 20 == 0 { "gram" } else { "piece" };
            sku.execute(params![
                format!("S{i:05}"),
                format!("商品 {i} 号"),
                unit,
                format!("A-{:02}", i % 50)
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    let started = Instant::now();
    for d in 0..days {
        let tx = c.transaction().unwrap();
        day_rows(&tx, first_day() + d);
        tx.commit().unwrap();
        if d % 30 == 29 {
            eprintln!("  {} days built in {:.0?}", d + 1, started.elapsed());
        }
    }
    drop(c);
    std::fs::rename(&tmp, path).unwrap();
}

/// One day's orders as the store writes them.
fn day_rows(tx: &rusqlite::Transaction<'_>, day: i64) {
    let start = china_time::day_start(day).0;
    let mut order = tx
        .prepare_cached(
            "INSERT INTO \"order\" (id, platform, external_id, day_seq, state, picker, placed_at,
                 pick_deadline, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7, ?7)",
        )
        .unwrap();
    let mut line = tx
        .prepare_cached(
            "INSERT INTO order_line (order_id, line_no, sku, name, qty, picked, short)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .unwrap();
    let mut history = tx
        .prepare_cached(
            "INSERT INTO order_transition (order_id, event_id, from_state, to_state, event, actor, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .unwrap();
    // The evening peak pauses Meituan by itself for 20 minutes; JD is closed by hand 30.
    let mut log = tx
        .prepare_cached(
            "INSERT INTO platform_open_log (platform, open, automatic, set_by, reason, at)
             VALUES (?1, ?2, ?3, ?4, 'bench', ?5)",
        )
        .unwrap();
    for (platform, automatic, at, mins) in
        [("meituan", true, 18 * 60, 20), ("jddj", false, 21 * 60, 30)]
    {
        let by = if automatic { "capacity" } else { "boss" };
        let close = start + at * 60_000;
        log.execute(params![platform, false, automatic, by, close])
            .unwrap();
        log.execute(params![
            platform,
            true,
            automatic,
            by,
            close + mins * 60_000
        ])
        .unwrap();
    }
    for n in 0..ORDERS_PER_DAY {
        let id = (day - first_day()) * ORDERS_PER_DAY + n + 1;
        // Spread over 08:00-23:00 China time; a little pseudo-random jitter.
        let jitter = (id * 7919) % 60_000;
        let placed = start + 8 * 3_600_000 + n * (15 * 3_600_000 / ORDERS_PER_DAY) + jitter;
        let platform = if n % 3 == 0 { "jddj" } else { "meituan" };
        let picker = format!("p{}", n % 12);
        let deadline = placed + 20 * 60_000;
        let cancelled = n % 50 == 0;
        let late = n % 20 == 0;
        let picked_at = placed
            + if late {
                22 * 60_000
            } else {
                6 * 60_000 + jitter
            };
        let state = if cancelled {
            "cancelled"
        } else {
            "handed_over"
        };
        order
            .execute(params![
                id,
                platform,
                format!("X{id}"),
                n + 1,
                state,
                picker,
                placed,
                deadline
            ])
            .unwrap();
        let lines = 1 + id % 3;
        for l in 1..=lines {
            let s = (id * 31 + l * 17) % SKUS;
            let qty = 1 + (id + l) % 3;
            let short = i64::from(!cancelled && (id + l) % 40 == 0);
            let picked = if cancelled { 0 } else { qty - short };
            line.execute(params![
                id,
                l,
                format!("S{s:05}"),
                format!("商品 {s} 号"),
                qty,
                picked,
                short
            ])
            .unwrap();
        }
        let mut k = 0;
        let mut step = |from: Option<&str>, to: &str, event: &str, at: i64| {
            k += 1;
            history
                .execute(params![id, format!("{id}-{k}"), from, to, event, "p", at])
                .unwrap();
        };
        step(None, "new", r#"{"type":"ingest","source":"bench"}"#, placed);
        step(
            Some("new"),
            "accepted",
            r#"{"type":"accept"}"#,
            placed + 5_000,
        );
        if cancelled {
            step(
                Some("accepted"),
                "cancelled",
                r#"{"type":"cancel","by":"platform","reason":"customer"}"#,
                placed + 90_000,
            );
            continue;
        }
        let claim = format!(r#"{{"type":"claim","picker":"{picker}"}}"#);
        step(Some("accepted"), "picking", &claim, placed + 60_000);
        for l in 1..=lines {
            let scan = format!(r#"{{"type":"pick","line":{l},"qty":1}}"#);
            step(
                Some("picking"),
                "picking",
                &scan,
                placed + 60_000 + l * 30_000,
            );
        }
        step(
            Some("picking"),
            "picked",
            r#"{"type":"complete_pick"}"#,
            picked_at,
        );
        step(
            Some("picked"),
            "packed",
            r#"{"type":"pack","bags":1}"#,
            picked_at + 60_000,
        );
        step(
            Some("packed"),
            "handed_over",
            r#"{"type":"hand_over"}"#,
            picked_at + 300_000,
        );
    }
}

/// The same statements the report runs, every row stepped and its columns read.
fn bare(c: &Connection, day: i64) -> usize {
    let (start, end) = (
        china_time::day_start(day).0,
        china_time::day_start(day + 1).0,
    );
    let mut rows = 0;
    for sql in [report::CHANGES_SQL, report::LINES_SQL, report::OPEN_LOG_SQL] {
        let mut stmt = c.prepare_cached(sql).unwrap();
        let cols = stmt.column_count();
        let mut q = stmt.query(params![start, end]).unwrap();
        while let Some(r) = q.next().unwrap() {
            for i in 0..cols {
                let _ = r.get_ref(i).unwrap();
            }
            rows += 1;
        }
    }
    rows
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let days: i64 = std::env::var("FLASHPICK_BENCH_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(90);
    let rounds: usize = std::env::var("FLASHPICK_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    // The schema's text and the bulk path's version: either changing builds a new database.
    let key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (schema::MIGRATIONS, BULK_VERSION).hash(&mut h);
        h.finish()
    };
    let path = target().join(format!("bench-day-{key:016x}-{days}d.db"));
    if !path.exists() {
        eprintln!(
            "building {} ({days} days of {ORDERS_PER_DAY} orders), once…",
            path.display()
        );
        let t = Instant::now();
        build(&path, days);
        eprintln!("built in {:.1?}", t.elapsed());
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let c = Connection::open(&path).unwrap();
    schema::configure(&c).unwrap();
    let day = first_day() + days / 2;
    let now = Timestamp(china_time::day_start(day + 1).0 + 3_600_000);
    // Warm the page cache (both read the same pages), and check that they read the day.
    let r = report::day_report(&c, day, now).unwrap();
    assert_eq!(r.total.received, ORDERS_PER_DAY as u32, "{}", r.date);
    let meituan = r
        .platforms
        .iter()
        .find(|p| p.platform.as_str() == "meituan");
    assert_eq!(
        meituan.map(|p| p.closed_auto_min),
        Some(20),
        "{:?}",
        r.platforms
    );
    let rows = bare(&c, day);
    let (mut full, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        let r = report::day_report(&c, day, now).unwrap();
        full.push(t.elapsed());
        std::hint::black_box(r);
        let t = Instant::now();
        std::hint::black_box(bare(&c, day));
        raw.push(t.elapsed());
    }
    let (value, base) = (median(full), median(raw));
    println!(
        "day report, {ORDERS_PER_DAY} orders in a {days}-day database ({} MB, {rows} rows read): \
         median {:.1} ms vs bare SQL {:.1} ms ({:.2}×); goal < 100 ms and ≤ 2×",
        size / 1_000_000,
        record::ms(value),
        record::ms(base),
        value.as_secs_f64() / base.as_secs_f64()
    );
    println!(
        "  on time {}/{}, pick p50 {:?} s, {} pickers",
        r.on_time,
        r.picked,
        r.pick_secs_p50,
        r.pickers.len()
    );
    record::figure(
        &format!("day report, 5,000 orders, {days}-day db (ms)"),
        record::ms(value),
        "ms",
        record::ms(base),
    );
}
