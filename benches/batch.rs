//! Why batch picking exists: the walk. 100 orders drawn from the demo catalog (1 to 6 lines,
//! popular items more often, an order every 36 s) are picked one by one, then in batches of 2, 3
//! and 4 chosen by the store's own rule (`model::batch::choose`). The walk is the sum of
//! walk-sequence distances between consecutive picks (what the issue asks), and, beside it, the
//! round trip from the packing station (the front of the store, the first walk position) that
//! each trip also costs. Printed with
//! the ratio to single picking.
//!
//! Run: `cargo bench --bench batch`.

use flashpick::model::batch::{BatchRules, Candidate, choose};
use flashpick::model::{OrderId, Timestamp};

#[path = "support/record.rs"]
mod record;

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
}
