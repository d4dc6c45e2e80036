//! Random days in the store, run through the pure model: the stock invariants hold after every step.

use flashpick::model::{
    CancelSource, Fen, MoveKind, Order, OrderEvent, OrderId, OrderLine, OrderState, Platform,
    ShortReason, SkuCode, StockEffect, StockFigures, Timestamp, transition,
};
use proptest::prelude::*;

pub const SKUS: [&str; 3] = ["W550", "MILK1L", "BREAD"];

/// Safety stock per platform in these scenarios: Meituan holds 1 back, JD none.
pub fn safety(p: Platform) -> i64 {
    match p {
        Platform::Meituan => 1,
        _ => 0,
    }
}

/// What can happen to an order in a scenario.
#[derive(Debug, Clone)]
pub enum Ev {
    Accept,
    Claim,
    Release,
    Pick(usize, i64),
    Weigh(usize, i64),
    Undo(usize, i64),
    Short(usize, i64),
    Complete,
    Pack,
    HandOver,
    Cancel(CancelSource),
    ConfirmReturn,
    /// Whatever the order's state calls for next (a real day is mostly that): resolved against
    /// the model's order by [`Sim::resolve`] before the model and the store see it.
    Next,
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    Order(usize, Ev),
    Receive(usize, i64),
    Count(usize, i64),
}

/// An order in a scenario: platform and (sku index, qty) lines.
pub type OrderSpec = (Platform, Vec<(usize, i64)>);

pub fn order_specs() -> impl Strategy<Value = Vec<OrderSpec>> {
    let platform = prop_oneof![Just(Platform::Meituan), Just(Platform::Jddj)];
    let lines = prop::collection::vec((0..SKUS.len(), 1i64..4), 1..4);
    prop::collection::vec((platform, lines), 1..5)
}

pub fn steps(orders: usize, len: usize) -> impl Strategy<Value = Vec<Step>> {
    let ev = prop_oneof![
        3 => Just(Ev::Accept),
        3 => Just(Ev::Claim),
        1 => Just(Ev::Release),
        6 => (0usize..3, 1i64..3).prop_map(|(l, q)| Ev::Pick(l, q)),
        2 => (0usize..3, 1i64..5).prop_map(|(l, g)| Ev::Weigh(l, g)),
        1 => (0usize..3, 1i64..2).prop_map(|(l, q)| Ev::Undo(l, q)),
        2 => (0usize..3, 1i64..3).prop_map(|(l, q)| Ev::Short(l, q)),
        3 => Just(Ev::Complete),
        2 => Just(Ev::Pack),
        2 => Just(Ev::HandOver),
        1 => Just(Ev::Cancel(CancelSource::Platform)),
        1 => Just(Ev::Cancel(CancelSource::Store)),
        2 => Just(Ev::ConfirmReturn),
        14 => Just(Ev::Next),
    ];
    let step = prop_oneof![
        10 => (0..orders, ev).prop_map(|(o, e)| Step::Order(o, e)),
        1 => (0..SKUS.len(), 1i64..6).prop_map(|(s, q)| Step::Receive(s, q)),
        1 => (0..SKUS.len(), 0i64..12).prop_map(|(s, q)| Step::Count(s, q)),
    ];
    prop::collection::vec(step, 1..len)
}

/// Turns a scenario event into a model event for an order with `lines` lines.
pub fn to_event(ev: &Ev, lines: usize) -> OrderEvent {
    let line = |i: &usize| (i % lines) as u32 + 1;
    match ev {
        Ev::Accept => OrderEvent::Accept,
        Ev::Claim => OrderEvent::Claim {
            picker: "p1".into(),
        },
        Ev::Release => OrderEvent::Release,
        Ev::Pick(l, q) => OrderEvent::Pick {
            line: line(l),
            qty: *q,
        },
        Ev::Weigh(l, g) => OrderEvent::PickWeighed {
            line: line(l),
            grams: *g,
            tolerance_pct: 34,
        },
        Ev::Undo(l, q) => OrderEvent::UndoPick {
            line: line(l),
            qty: *q,
        },
        Ev::Short(l, q) => OrderEvent::Short {
            line: line(l),
            qty: *q,
            reason: ShortReason::OutOfStock,
        },
        Ev::Complete => OrderEvent::CompletePick,
        Ev::Pack => OrderEvent::Pack { bags: 1 },
        Ev::HandOver => OrderEvent::HandOver,
        Ev::Cancel(by) => OrderEvent::Cancel {
            by: *by,
            reason: "test".into(),
        },
        Ev::ConfirmReturn => OrderEvent::ConfirmReturn,
        // Without an order to look at: what a fresh order calls for.
        Ev::Next => OrderEvent::Accept,
    }
}

/// What an order in `state` calls for next: accept, claim, pick the first line still open
/// (or complete when none is), pack, hand over, confirm the return of a cancelled one.
fn natural_next(order: &Order) -> OrderEvent {
    match order.state {
        OrderState::New => OrderEvent::Accept,
        OrderState::Accepted => OrderEvent::Claim {
            picker: "p1".into(),
        },
        OrderState::Picking => match order.lines.iter().find(|l| l.remaining() > 0) {
            Some(l) => OrderEvent::Pick {
                line: l.line_no,
                qty: 1,
            },
            None => OrderEvent::CompletePick,
        },
        OrderState::Picked => OrderEvent::Pack { bags: 1 },
        OrderState::Packed => OrderEvent::HandOver,
        OrderState::HandedOver | OrderState::Cancelled => OrderEvent::ConfirmReturn,
    }
}

/// The pure model of a store: orders and the figures of each sku.
pub struct Sim {
    pub orders: Vec<Order>,
    pub on_hand: [i64; 3],
    pub reserved: [i64; 3],
    /// Per order: on-hand moves other than write-offs (picks, undos, returns).
    pub order_moves: Vec<i64>,
}

pub fn sku_index(sku: &SkuCode) -> usize {
    SKUS.iter().position(|s| *s == sku.as_str()).unwrap()
}

impl Sim {
    pub fn new(specs: &[OrderSpec], on_hand: [i64; 3]) -> Sim {
        let orders = specs
            .iter()
            .enumerate()
            .map(|(i, (platform, lines))| Order {
                id: OrderId(i as i64 + 1),
                platform: *platform,
                external_id: format!("X{i}"),
                day_seq: i as u32 + 1,
                state: OrderState::New,
                picker: None,
                lines: lines
                    .iter()
                    .enumerate()
                    .map(|(n, (s, q))| OrderLine {
                        line_no: n as u32 + 1,
                        sku: SkuCode::new(SKUS[*s]),
                        name: SKUS[*s].into(),
                        qty: *q,
                        picked: 0,
                        short: 0,
                        short_reason: None,
                        unit_price: Fen(100),
                        weighed_g: None,
                        put_back: 0,
                    })
                    .collect(),
                return_pending: false,
                bags: None,
                cancel_reason: None,
                placed_at: Timestamp(0),
                pick_deadline: Timestamp(0),
                pickup_code: None,
                delivery: None,
                remark: None,
                unknown_items: Vec::new(),
                rider: None,
                reminded_at: None,
                batch: None,
            })
            .collect::<Vec<_>>();
        let n = orders.len();
        Sim {
            orders,
            on_hand,
            reserved: [0; 3],
            order_moves: vec![0; n],
        }
    }

    pub fn figures(&self, s: usize, p: Platform) -> StockFigures {
        StockFigures {
            on_hand: self.on_hand[s],
            reserved: self.reserved[s],
            safety: safety(p),
        }
    }

    fn effect(&mut self, e: &StockEffect, order: Option<usize>) {
        let s = sku_index(&e.sku);
        self.on_hand[s] += e.on_hand_delta;
        self.reserved[s] += e.reserved_delta;
        if let Some(o) = order
            && e.kind != MoveKind::Short
        {
            self.order_moves[o] += e.on_hand_delta;
        }
    }

    /// The model event a scenario event means for order `i` now.
    pub fn resolve(&self, i: usize, ev: &Ev) -> OrderEvent {
        let order = &self.orders[i];
        match ev {
            Ev::Next => natural_next(order),
            ev => to_event(ev, order.lines.len()),
        }
    }

    /// Applies a step; `Ok(true)` when it changed something, `Ok(false)` when it was refused.
    pub fn step(&mut self, step: &Step) -> Result<bool, TestCaseError> {
        match step {
            Step::Receive(s, q) => {
                self.on_hand[*s] += q;
                Ok(true)
            }
            Step::Count(s, q) => {
                self.on_hand[*s] = *q;
                Ok(true)
            }
            Step::Order(i, ev) => {
                let order = self.orders[*i].clone();
                let event = self.resolve(*i, ev);
                let p = order.platform;
                let held_before = order.reserved_qty();
                let t = match transition(&order, &event, &|sku| self.figures(sku_index(sku), p)) {
                    Ok(t) => t,
                    Err(_) => return Ok(false),
                };
                for e in &t.stock {
                    self.effect(e, Some(*i));
                }
                self.orders[*i] = t.order.clone();
                if matches!(event, OrderEvent::Accept) {
                    for l in &t.order.lines {
                        let f = self.figures(sku_index(&l.sku), p);
                        prop_assert!(
                            f.available() >= 0,
                            "accept took {} below zero: {f:?}",
                            l.sku
                        );
                    }
                }
                if let OrderEvent::Cancel { .. } = event {
                    let released: i64 = t.stock.iter().map(|e| e.reserved_delta).sum();
                    prop_assert_eq!(released, -held_before);
                    prop_assert_eq!(t.order.reserved_qty(), 0);
                }
                if t.order.state == OrderState::Cancelled && !t.order.return_pending {
                    prop_assert_eq!(
                        self.order_moves[*i],
                        0,
                        "a cancelled order gave back everything it took"
                    );
                }
                Ok(true)
            }
        }
    }

    /// `reserved == Σ unpicked quantity of open orders`, per sku, and never negative.
    pub fn check(&self) -> Result<(), TestCaseError> {
        for (s, name) in SKUS.iter().enumerate() {
            let open: i64 = self
                .orders
                .iter()
                .filter(|o| o.state.holds_reservation())
                .flat_map(|o| &o.lines)
                .filter(|l| sku_index(&l.sku) == s)
                .map(|l| l.remaining())
                .sum();
            prop_assert_eq!(self.reserved[s], open, "reserved of {}", name);
            prop_assert!(self.reserved[s] >= 0);
        }
        Ok(())
    }
}

/// Steps generated and steps applied over a whole property run: a model (or a store) that
/// refused everything would pass every invariant, so the run must show it did something.
#[derive(Default)]
pub struct Progress {
    steps: std::cell::Cell<u64>,
    applied: std::cell::Cell<u64>,
}

impl Progress {
    /// Counts one step.
    pub fn count(&self, applied: bool) {
        self.steps.set(self.steps.get() + 1);
        self.applied.set(self.applied.get() + u64::from(applied));
    }

    /// Prints the share and fails unless at least `min_steps` ran and 30 % of them applied.
    pub fn require(&self, what: &str, min_steps: u64) {
        let (steps, applied) = (self.steps.get(), self.applied.get());
        let share = applied as f64 / steps.max(1) as f64;
        println!(
            "{what}: {steps} steps, {applied} applied ({:.0} %)",
            share * 100.0
        );
        assert!(steps >= min_steps, "{what}: only {steps} steps generated");
        assert!(
            share >= 0.30,
            "{what}: only {:.0} % of the steps applied; the generator mostly makes refusals",
            share * 100.0
        );
    }
}

/// A property runner that keeps its failures in `proptest-regressions/` beside this file, as
/// the `proptest!` macro does.
pub fn runner(cases: u32, source: &'static str) -> proptest::test_runner::TestRunner {
    proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        source_file: Some(source),
        ..ProptestConfig::default()
    })
}

#[test]
fn random_days_keep_the_stock_invariants() {
    let progress = Progress::default();
    let strategy = (
        order_specs().prop_flat_map(|s| {
            let n = s.len();
            (Just(s), steps(n, 80))
        }),
        prop::array::uniform3(0i64..12),
    );
    let result = runner(512, file!()).run(&strategy, |((specs, steps), on_hand)| {
        let mut sim = Sim::new(&specs, on_hand);
        for step in &steps {
            progress.count(sim.step(step)?);
            sim.check()?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    progress.require("model days", 1000);
}
