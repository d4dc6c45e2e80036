//! Batch picking through the pure model: random batches of orders sharing items, random scan
//! sequences. Every scan goes to exactly one order — the most urgent one still needing the item,
//! found here by a plain search of the orders — or to none when none needs it; no order ever
//! gets more than ordered; each order's lines stay within their bounds after every scan.

use flashpick::model::batch::{BatchRules, Candidate, Route, choose, route};
use flashpick::model::{
    Order, OrderEvent, OrderId, OrderState, SkuCode, StockFigures, Timestamp, Unit, transition,
};
use proptest::prelude::*;

const SKUS: [&str; 4] = ["W550", "MILK1L", "BREAD", "EGG6"];

/// An order of the batch: its deadline (minutes from now) and (sku index, qty) lines.
type Spec = (i64, Vec<(usize, i64)>);

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    let lines = prop::collection::vec((0..SKUS.len(), 1i64..4), 1..4);
    prop::collection::vec((5i64..60, lines), 1..5)
}

fn order(i: usize, (minutes, lines): &Spec) -> Order {
    let lines: Vec<(&str, i64, i64, i64)> =
        lines.iter().map(|(s, q)| (SKUS[*s], *q, 0, 0)).collect();
    let mut o = crate::common::model_order(OrderState::Picking, &lines);
    o.id = OrderId(i as i64 + 1);
    o.day_seq = i as u32 + 1;
    o.external_id = format!("B{i}");
    o.pick_deadline = Timestamp(minutes * 60_000);
    o
}

/// The most urgent order still needing `sku`, by a plain search: earliest deadline, then lowest
/// id, among orders with a line of it not yet picked.
fn expected(orders: &[Order], sku: &SkuCode) -> Option<OrderId> {
    let mut best: Option<&Order> = None;
    for o in orders {
        let needs = o.lines.iter().any(|l| &l.sku == sku && l.picked < l.qty);
        let better = best.is_none_or(|b| {
            o.pick_deadline.0 < b.pick_deadline.0
                || (o.pick_deadline == b.pick_deadline && o.id.0 < b.id.0)
        });
        if needs && better {
            best = Some(o);
        }
    }
    best.map(|o| o.id)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn each_scan_goes_to_the_most_urgent_order_still_needing_it(
        batch in specs(),
        scans in prop::collection::vec(0..SKUS.len() + 1, 0..40),
    ) {
        let mut orders: Vec<Order> = batch.iter().enumerate().map(|(i, s)| order(i, s)).collect();
        let ordered: i64 = orders.iter().flat_map(|o| &o.lines).map(|l| l.qty).sum();
        let mut applied = 0i64;
        for s in scans {
            // One index past the catalog: an item no order has.
            let sku = SkuCode::new(SKUS.get(s).copied().unwrap_or("NOPE"));
            let want = expected(&orders, &sku);
            let refs: Vec<&Order> = orders.iter().collect();
            let got = route(&refs, &sku, Unit::Piece, None, 0, None);
            match (got, want) {
                (Route::To(id), Some(w)) => {
                    prop_assert_eq!(id, w);
                    let o = orders.iter_mut().find(|o| o.id == id).unwrap();
                    let line = o.lines.iter().find(|l| l.sku == sku && l.picked < l.qty).unwrap().line_no;
                    let t = transition(o, &OrderEvent::Pick { line, qty: 1 }, &|_| StockFigures::default());
                    let t = t.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    *o = t.order;
                    applied += 1;
                }
                (Route::Over(id), None) => {
                    // Some order has the item, all of them have every unit of it.
                    let o = orders.iter().find(|o| o.id == id).unwrap();
                    prop_assert!(o.lines.iter().any(|l| l.sku == sku));
                    prop_assert!(orders.iter().flat_map(|o| &o.lines).filter(|l| l.sku == sku).all(|l| l.picked == l.qty));
                }
                (Route::WrongItem, None) => {
                    prop_assert!(orders.iter().flat_map(|o| &o.lines).all(|l| l.sku != sku));
                }
                (got, want) => prop_assert!(false, "scan of {} went {:?}, expected {:?}", sku.as_str(), got, want),
            }
            // Per order, per line: never more than ordered.
            for o in &orders {
                for l in &o.lines {
                    prop_assert!(l.picked >= 0 && l.picked <= l.qty, "{:?}", l);
                }
            }
        }
        // Every applied scan is one unit in exactly one order.
        let picked: i64 = orders.iter().flat_map(|o| &o.lines).map(|l| l.picked).sum();
        prop_assert_eq!(picked, applied);
        prop_assert!(picked <= ordered);
    }

    #[test]
    fn a_batch_never_makes_its_first_order_late_by_its_walk(
        waiting in prop::collection::vec((1i64..3600, 1u32..8), 1..12),
        max in 1usize..5,
        window in prop_oneof![Just(0i64), 60i64..1200],
        per_line in 5i64..60,
    ) {
        let now = Timestamp(0);
        let candidates: Vec<Candidate> = waiting
            .iter()
            .enumerate()
            .map(|(i, (secs, lines))| Candidate {
                id: OrderId(i as i64 + 1),
                pick_deadline: Timestamp(secs * 1000),
                lines: *lines,
            })
            .collect();
        let rules = BatchRules { max, window_secs: window, secs_per_line: per_line };
        let batch = choose(&candidates, &rules, now);
        prop_assert!(!batch.is_empty() && batch.len() <= max);
        let of = |id: OrderId| candidates.iter().find(|c| c.id == id).unwrap();
        // The first is the most urgent of all.
        let first = of(batch[0]);
        prop_assert!(candidates.iter().all(|c| (c.pick_deadline.0, c.id.0) >= (first.pick_deadline.0, first.id.0)));
        if batch.len() > 1 {
            let lines: i64 = batch.iter().map(|id| i64::from(of(*id).lines)).sum();
            prop_assert!(first.pick_deadline.0 / 1000 > lines * per_line);
        }
        for id in &batch[1..] {
            let c = of(*id);
            if window > 0 {
                prop_assert!(c.pick_deadline.0 - first.pick_deadline.0 <= window * 1000);
            }
        }
        let mut unique = batch.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(unique.len(), batch.len());
    }
}
