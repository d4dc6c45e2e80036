//! Why batch picking exists: the walk. 100 orders drawn from the demo catalog (1 to 6 lines,
//! popular items more often, an order every 36 s) are picked one by one, then in batches of 2, 3
//! and 4 chosen by the store's own rule (`model::batch::choose`). The walk is the sum of
//! walk-sequence distances between consecutive picks (what the issue asks), and, beside it, the
//! round trip from the packing station (the front of the store, the first walk position) that
//! each trip also costs. Printed with
//! the ratio to single picking.
//!
//! Then the time of a scan in a batch of four (routed inside the writer's transaction among the
//! batch's orders) against a scan into one order, each through the store's writer, in the same
//! run (goal ≤ 1.2×).
//!
//! Run: `cargo bench --bench batch` (FLASHPICK_BENCH_SCANS to change the scan count).

use flashpick::model::batch::{BatchRules, Candidate, choose};
use flashpick::model::{OrderId, Timestamp};

#[path = "support/record.rs"]
mod record;
// The seeding and percentiles; not the daemon config.
#[allow(dead_code)]
mod support;

/// A small deterministic generator (the bench must print the same figures every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The walk positions of the demo catalog's items.
fn catalog() -> Vec<i64> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-catalog.csv"),
    )
    .expect("the demo catalog");
    let rows = flashpick::store::catalog::parse(text.as_bytes(), |_| {}).expect("it parses");
    rows.iter().map(|r| r.walk_seq).collect()
}

/// Sum of distances between consecutive picks, and the round trip from the station (at the
/// front of the store: the first walk position).
fn walk(mut positions: Vec<i64>, station: i64) -> (i64, i64) {
    positions.sort();
    let (first, last) = (positions[0], *positions.last().unwrap());
    (
        last - first,
        (first - station) + (last - first) + (last - station),
    )
}

fn main() {
    let walk_seq = catalog();
    let station = *walk_seq.iter().min().unwrap();
    let mut rng = Lcg(20261130);
    let n = 100;
    // Popular items first: an item's index drawn as the smaller of two uniform draws.
    let orders: Vec<Vec<i64>> = (0..n)
        .map(|_| {
            let lines = 1 + [0, 1, 1, 2, 2, 3, 4, 5][rng.below(8) as usize];
            (0..lines)
                .map(|_| {
                    let a = rng.below(walk_seq.len() as u64);
                    let b = rng.below(walk_seq.len() as u64);
                    walk_seq[a.min(b) as usize]
                })
                .collect()
        })
        .collect();
    let single = orders.iter().fold((0, 0), |(a, b), o| {
        let (x, y) = walk(o.clone(), station);
        (a + x, b + y)
    });
    println!(
        "walk for {n} demo orders (walk-sequence units; the demo catalog spans {}..{})",
        walk_seq.iter().min().unwrap(),
        walk_seq.iter().max().unwrap()
    );
    println!(
        "  one by one            between picks {:>8}   round trip {:>8}",
        single.0, single.1
    );
    for max in [2usize, 3, 4] {
        let rules = BatchRules {
            max,
            window_secs: 0,
            secs_per_line: 20,
        };
        let mut waiting: Vec<Candidate> = orders
            .iter()
            .enumerate()
            .map(|(i, o)| Candidate {
                id: OrderId(i as i64),
                pick_deadline: Timestamp(i as i64 * 36_000 + 1_800_000),
                lines: o.len() as u32,
            })
            .collect();
        let (mut between, mut round, mut batches) = (0, 0, 0);
        while let Some(first) = waiting.first().copied() {
            // The picker comes back when the first waiting order has 25 minutes left.
            let now = Timestamp(first.pick_deadline.0 - 1_500_000);
            let batch = choose(&waiting, &rules, now);
            let picks: Vec<i64> = batch
                .iter()
                .flat_map(|id| orders[id.0 as usize].iter().copied())
                .collect();
            let (x, y) = walk(picks, station);
            between += x;
            round += y;
            batches += 1;
            waiting.retain(|c| !batch.contains(&c.id));
        }
        println!(
            "  batches of up to {max}   between picks {between:>8}   round trip {round:>8}   ({batches} walks; {:.2}x and {:.2}x of one by one)",
            between as f64 / single.0 as f64,
            round as f64 / single.1 as f64
        );
        record::figure(
            &format!("walk, batches of {max} (round trip)"),
            round as f64,
            "walk units",
            single.1 as f64,
        );
    }
    scan_time();
}

/// Median writer time of a scan into one order and into a batch of four.
fn scan_time() {
    use flashpick::model::OrderEvent;
    use flashpick::store::{Ingested, ScanRequest, Store, StoreOptions};
    use std::time::Instant;
    let scans: usize = std::env::var("FLASHPICK_BENCH_SCANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            1000
        } else {
            40
        });
    let dir = tempfile::tempdir().unwrap();
    let (one_dir, batch_dir) = (dir.path().join("one"), dir.path().join("batch"));
    std::fs::create_dir_all(&one_dir).unwrap();
    std::fs::create_dir_all(&batch_dir).unwrap();
    let single = support::seed(&one_dir, scans as i64);
    support::seed(&batch_dir, 1);
    let mut options = StoreOptions::default();
    options.batch.rules.max = 4;
    let store = Store::open(&batch_dir.join("store.db"), options).unwrap();
    for i in 0..4 {
        let new = support::new_order(&format!("MT-BATCH-{i}"), i + 10, scans as i64);
        let Ingested::New(o) = store
            .ingest_blocking("bench", &format!("b{i}"), new)
            .unwrap()
        else {
            panic!("duplicate")
        };
        store
            .apply_blocking(o.id, OrderEvent::Accept, "p1")
            .unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let batch = rt.block_on(store.claim_batch("p1", "p1", None)).unwrap();
    assert_eq!(batch.len(), 4);
    let rules = flashpick::model::barcode::DecodeRules::default();
    let time = |store: &Store, order: i64| -> Vec<std::time::Duration> {
        (0..scans)
            .map(|_| {
                let t = Instant::now();
                let done = rt
                    .block_on(store.scan(ScanRequest {
                        order: OrderId(order),
                        code: support::CODE.into(),
                        decoded: flashpick::model::barcode::decode(support::CODE, &rules),
                        scanner: None,
                        actor: "p1".into(),
                        tolerance_pct: 5,
                        slot: None,
                    }))
                    .unwrap();
                assert_eq!(
                    done.outcome,
                    flashpick::model::ScanOutcome::Ok,
                    "{}",
                    done.message
                );
                t.elapsed()
            })
            .collect()
    };
    let mut in_batch = time(&store, batch[0].order.id.0);
    store.close();
    let one = Store::open(&one_dir.join("store.db"), StoreOptions::default()).unwrap();
    let mut alone = time(&one, single);
    one.close();
    let (b, s) = (
        support::percentile(&mut in_batch, 0.5),
        support::percentile(&mut alone, 0.5),
    );
    println!("scan time through the writer, {scans} scans, medians");
    println!("  in a batch of four     {b:>9.3?}");
    println!("  into one order         {s:>9.3?}");
    println!(
        "  ratio: {:.2}x (goal <= 1.2x)",
        b.as_secs_f64() / s.as_secs_f64()
    );
    record::figure(
        "scan in a batch of four, median",
        record::ms(b),
        "ms",
        record::ms(s),
    );
}
