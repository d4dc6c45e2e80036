//! Every (state, event) pair of the order state machine, allowed and refused.

use crate::common::model_order;
use flashpick::model::{
    CancelSource, OrderEvent, OrderState, Report, ShortReason, SkuCode, StockFigures,
    TransitionError, transition,
};

fn plenty(_: &SkuCode) -> StockFigures {
    StockFigures {
        on_hand: 100,
        reserved: 0,
        safety: 0,
    }
}

fn err_name(e: &TransitionError) -> &'static str {
    match e {
        TransitionError::NotAllowed { .. } => "not_allowed",
        TransitionError::AlreadyClaimed { .. } => "already_claimed",
        TransitionError::NotYours { .. } => "not_yours",
        TransitionError::TooManyBags(_) => "too_many_bags",
        TransitionError::NoReason => "no_reason",
        TransitionError::NoSuchLine(_) => "no_such_line",
        TransitionError::NonPositive(_) => "non_positive",
        TransitionError::OverPick { .. } => "over_pick",
        TransitionError::UndoTooMuch { .. } => "undo_too_much",
        TransitionError::LinesOpen(_) => "lines_open",
        TransitionError::NothingPicked => "nothing_picked",
        TransitionError::InsufficientStock { .. } => "insufficient_stock",
        TransitionError::NoBags => "no_bags",
        TransitionError::TooLarge(_) => "too_large",
        TransitionError::OverWeight { .. } => "over_weight",
        TransitionError::MixedPick(_) => "mixed_pick",
    }
}

/// The order each state is tested from: line 1 wants 2, line 2 wants 1. While picking, one unit
/// of line 1 is in the tote; once picked, everything is.
fn fixture(state: OrderState) -> flashpick::model::Order {
    use OrderState as S;
    let lines: &[(&str, i64, i64, i64)] = match state {
        S::New | S::Accepted => &[("A", 2, 0, 0), ("B", 1, 0, 0)],
        S::Picking => &[("A", 2, 1, 0), ("B", 1, 0, 0)],
        S::Picked | S::Packed | S::HandedOver | S::Cancelled => &[("A", 2, 2, 0), ("B", 1, 1, 0)],
    };
    let mut o = model_order(state, lines);
    if state == S::Packed || state == S::HandedOver {
        o.bags = Some(1);
    }
    o
}

fn events() -> Vec<OrderEvent> {
    vec![
        OrderEvent::Accept,
        OrderEvent::Claim {
            picker: "p2".into(),
        },
        OrderEvent::Release,
        OrderEvent::Pick { line: 1, qty: 1 },
        OrderEvent::UndoPick { line: 1, qty: 1 },
        OrderEvent::Short {
            line: 2,
            qty: 1,
            reason: ShortReason::OutOfStock,
        },
        OrderEvent::CompletePick,
        OrderEvent::Pack { bags: 2 },
        OrderEvent::HandOver,
        OrderEvent::Cancel {
            by: CancelSource::Store,
            reason: "顾客要求".into(),
        },
        OrderEvent::ConfirmReturn,
        // A scale label for line 2 (nothing picked on it yet).
        OrderEvent::PickWeighed {
            line: 2,
            grams: 1,
            tolerance_pct: 10,
        },
        // A customer's partial refund of one unit of line 1.
        OrderEvent::Refund {
            refund_id: "R1".into(),
            lines: vec![flashpick::model::RefundLine { line: 1, qty: 1 }],
        },
    ]
}

#[test]
fn every_state_and_event_is_allowed_or_refused_as_specified() {
    use OrderState::*;
    // Rows: states; columns: the events above, in order. `Ok(state)` or the refusal's name.
    type E = Result<OrderState, &'static str>;
    const N: E = Err("not_allowed");
    let table: [(OrderState, [E; 13]); 7] = [
        (
            New,
            [
                Ok(Accepted),
                N,
                N,
                N,
                N,
                N,
                N,
                N,
                N,
                Ok(Cancelled),
                N,
                N,
                Ok(New),
            ],
        ),
        (
            Accepted,
            [
                N,
                Ok(Picking),
                N,
                N,
                N,
                N,
                N,
                N,
                N,
                Ok(Cancelled),
                N,
                N,
                Ok(Accepted),
            ],
        ),
        (
            Picking,
            [
                N,
                Err("already_claimed"),
                Ok(Accepted),
                Ok(Picking),
                Ok(Picking),
                Ok(Picking),
                Err("lines_open"),
                N,
                N,
                Ok(Cancelled),
                N,
                Ok(Picking),
                Ok(Picking),
            ],
        ),
        (
            Picked,
            [
                N,
                N,
                N,
                N,
                N,
                N,
                N,
                Ok(Packed),
                N,
                Ok(Cancelled),
                N,
                N,
                Ok(Picked),
            ],
        ),
        (
            Packed,
            [
                N,
                N,
                N,
                N,
                N,
                N,
                N,
                N,
                Ok(HandedOver),
                Ok(Cancelled),
                N,
                N,
                Ok(Packed),
            ],
        ),
        (
            HandedOver,
            [N, N, N, N, N, N, N, N, N, N, N, N, Ok(HandedOver)],
        ),
        (Cancelled, [N, N, N, N, N, N, N, N, N, N, N, N, N]),
    ];
    let mut checked = 0;
    for (state, row) in table {
        let order = fixture(state);
        for (event, want) in events().iter().zip(row) {
            let got = transition(&order, event, &plenty)
                .map(|t| t.order.state)
                .map_err(|e| err_name(&e));
            assert_eq!(got, want, "{state} + {}", event.name());
            if got.is_err() {
                // A refusal is total: the order a caller holds is untouched by construction, and
                // the message says what to do, naming the state.
                let e = transition(&order, event, &plenty).unwrap_err();
                assert!(!e.to_string().is_empty());
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 7 * 13);
}

#[test]
fn accept_reserves_every_line_and_reports_confirm() {
    let order = fixture(OrderState::New);
    let t = transition(&order, &OrderEvent::Accept, &plenty).unwrap();
    let reserved: i64 = t.stock.iter().map(|e| e.reserved_delta).sum();
    assert_eq!(reserved, 3);
    assert!(t.stock.iter().all(|e| e.on_hand_delta == 0));
    assert_eq!(t.reports, vec![Report::Confirm]);
}

#[test]
fn accept_is_refused_when_the_platform_would_go_below_its_safety_stock() {
    let order = fixture(OrderState::New);
    let tight = |sku: &SkuCode| StockFigures {
        on_hand: if sku.as_str() == "A" { 3 } else { 10 },
        reserved: 0,
        safety: 2,
    };
    let e = transition(&order, &OrderEvent::Accept, &tight).unwrap_err();
    assert_eq!(
        e,
        TransitionError::InsufficientStock {
            sku: SkuCode::new("A"),
            wanted: 2,
            available: 1
        }
    );
}

#[test]
fn picker_cannot_pick_more_than_the_line_needs_or_undo_more_than_picked() {
    let order = fixture(OrderState::Picking);
    let over = transition(&order, &OrderEvent::Pick { line: 1, qty: 2 }, &plenty).unwrap_err();
    assert_eq!(
        over,
        TransitionError::OverPick {
            line: 1,
            qty: 2,
            remaining: 1
        }
    );
    let undo = transition(&order, &OrderEvent::UndoPick { line: 2, qty: 1 }, &plenty);
    assert!(matches!(undo, Err(TransitionError::UndoTooMuch { .. })));
    let zero = transition(&order, &OrderEvent::Pick { line: 1, qty: 0 }, &plenty);
    assert_eq!(zero.unwrap_err(), TransitionError::NonPositive(0));
    let huge = transition(
        &order,
        &OrderEvent::Short {
            line: 1,
            qty: i64::MAX,
            reason: ShortReason::Other,
        },
        &plenty,
    );
    assert_eq!(huge.unwrap_err(), TransitionError::TooLarge(i64::MAX));
    let missing = transition(&order, &OrderEvent::Pick { line: 9, qty: 1 }, &plenty);
    assert_eq!(missing.unwrap_err(), TransitionError::NoSuchLine(9));
}

#[test]
fn short_line_makes_complete_pick_report_the_adjustment_first() {
    let mut order = fixture(OrderState::Picking);
    for ev in [
        OrderEvent::Pick { line: 1, qty: 1 },
        OrderEvent::Short {
            line: 2,
            qty: 1,
            reason: ShortReason::Damaged,
        },
    ] {
        order = transition(&order, &ev, &plenty).unwrap().order;
    }
    let t = transition(&order, &OrderEvent::CompletePick, &plenty).unwrap();
    assert_eq!(t.order.state, OrderState::Picked);
    match &t.reports[..] {
        [Report::Adjust { lines }, Report::PickComplete] => {
            assert_eq!(lines.len(), 1);
            assert_eq!(lines[0].line_no, 2);
            assert_eq!(lines[0].short, 1);
            assert_eq!(lines[0].refund.0, 100);
        }
        other => panic!("expected adjust then pick-complete, got {other:?}"),
    }
}

#[test]
fn short_writes_off_at_most_what_the_shelf_holds() {
    let order = fixture(OrderState::Picking);
    let empty = |_: &SkuCode| StockFigures {
        on_hand: 0,
        reserved: 1,
        safety: 0,
    };
    let ev = OrderEvent::Short {
        line: 2,
        qty: 1,
        reason: ShortReason::OutOfStock,
    };
    let t = transition(&order, &ev, &empty).unwrap();
    assert_eq!(t.stock[0].on_hand_delta, 0);
    assert_eq!(t.stock[0].reserved_delta, -1);
}

#[test]
fn all_short_cannot_complete_the_pick() {
    let order = flashpick::model::Order {
        lines: fixture(OrderState::Picking)
            .lines
            .into_iter()
            .map(|mut l| {
                l.picked = 0;
                l.short = l.qty;
                l
            })
            .collect(),
        ..fixture(OrderState::Picking)
    };
    let e = transition(&order, &OrderEvent::CompletePick, &plenty).unwrap_err();
    assert_eq!(e, TransitionError::NothingPicked);
}

#[test]
fn cancel_while_picking_releases_the_rest_and_waits_for_the_put_back() {
    let order = fixture(OrderState::Picking);
    let by_platform = OrderEvent::Cancel {
        by: CancelSource::Platform,
        reason: "用户取消".into(),
    };
    let t = transition(&order, &by_platform, &plenty).unwrap();
    assert!(t.reports.is_empty(), "the platform already knows");
    assert!(t.order.return_pending);
    let released: i64 = t.stock.iter().map(|e| e.reserved_delta).sum();
    assert_eq!(
        released, -2,
        "one unit of A and one of B were still reserved"
    );
    let back = transition(&t.order, &OrderEvent::ConfirmReturn, &plenty).unwrap();
    assert!(!back.order.return_pending);
    let returned: i64 = back.stock.iter().map(|e| e.on_hand_delta).sum();
    assert_eq!(returned, 1, "the one picked unit goes back to the shelf");
    assert!(transition(&back.order, &OrderEvent::ConfirmReturn, &plenty).is_err());
}

#[test]
fn store_cancel_is_reported_to_the_platform_and_packed_goods_must_go_back() {
    let order = fixture(OrderState::Packed);
    let ev = OrderEvent::Cancel {
        by: CancelSource::Store,
        reason: "骑手未到".into(),
    };
    let t = transition(&order, &ev, &plenty).unwrap();
    assert_eq!(
        t.reports,
        vec![Report::Cancel {
            reason: "骑手未到".into()
        }]
    );
    assert!(t.order.return_pending);
    assert!(t.stock.is_empty(), "a packed order holds no reservation");
}

#[test]
fn weighed_lines_take_labels_until_within_tolerance() {
    // 500 g of pork; labels of 250 g then 260 g: the second is within 10% of the 250 g left.
    let mut order = model_order(OrderState::Picking, &[("PORK", 500, 0, 0)]);
    let weigh = |grams| OrderEvent::PickWeighed {
        line: 1,
        grams,
        tolerance_pct: 10,
    };
    let over = transition(&order, &weigh(600), &plenty).unwrap_err();
    assert!(
        matches!(over, TransitionError::OverWeight { remaining: 500, .. }),
        "{over}"
    );
    let first = transition(&order, &weigh(250), &plenty).unwrap();
    assert_eq!(first.order.lines[0].picked, 250);
    assert_eq!(
        (first.stock[0].on_hand_delta, first.stock[0].reserved_delta),
        (-250, -250)
    );
    order = first.order;
    let second = transition(&order, &weigh(260), &plenty).unwrap();
    let l = &second.order.lines[0];
    assert_eq!((l.picked, l.weighed_g), (500, Some(510)));
    assert_eq!(
        (
            second.stock[0].on_hand_delta,
            second.stock[0].reserved_delta
        ),
        (-260, -250)
    );
    order = second.order;
    assert_eq!(
        transition(&order, &OrderEvent::Pick { line: 1, qty: 1 }, &plenty).unwrap_err(),
        TransitionError::MixedPick(1)
    );
    // Undo puts back every gram the labels said, and only as a whole.
    assert!(transition(&order, &OrderEvent::UndoPick { line: 1, qty: 100 }, &plenty).is_err());
    let undone = transition(&order, &OrderEvent::UndoPick { line: 1, qty: 500 }, &plenty).unwrap();
    assert_eq!(
        (
            undone.stock[0].on_hand_delta,
            undone.stock[0].reserved_delta
        ),
        (510, 500)
    );
    assert_eq!(undone.order.lines[0].weighed_g, None);
    // Cancelled after weighing: the put-back returns the labels' grams.
    let cancelled = transition(
        &order,
        &OrderEvent::Cancel {
            by: CancelSource::Platform,
            reason: "x".into(),
        },
        &plenty,
    )
    .unwrap();
    let back = transition(&cancelled.order, &OrderEvent::ConfirmReturn, &plenty).unwrap();
    assert_eq!(back.stock[0].on_hand_delta, 510);
}

#[test]
fn a_scan_is_planned_from_the_order_the_code_and_the_item() {
    use flashpick::model::barcode::{DecodeRules, decode};
    use flashpick::model::{ScanOutcome, ScanPlan, ScannedItem, Unit, plan_scan};
    let order = model_order(
        OrderState::Picking,
        &[("A", 2, 1, 0), ("PORK", 500, 0, 0), ("B", 1, 1, 0)],
    );
    let item = |sku: &str, unit| ScannedItem {
        sku: SkuCode::new(sku),
        name: sku.into(),
        unit,
    };
    let rules = DecodeRules::default();
    let gtin = decode("6901234567892", &rules);
    let label = decode("(01)09520123456788(3103)000495", &rules);
    let refused = |plan: ScanPlan| match plan {
        ScanPlan::Refuse { outcome, .. } => outcome,
        ScanPlan::Apply { .. } => panic!("{plan:?} should be refused"),
    };
    let cases = [
        (
            plan_scan(&order, "x", &gtin, Some(&item("A", Unit::Piece)), 10),
            Ok(OrderEvent::Pick { line: 1, qty: 1 }),
        ),
        (
            plan_scan(&order, "x", &label, Some(&item("PORK", Unit::Gram)), 10),
            Ok(OrderEvent::PickWeighed {
                line: 2,
                grams: 495,
                tolerance_pct: 10,
            }),
        ),
        (
            plan_scan(&order, "x", &gtin, Some(&item("PORK", Unit::Gram)), 10),
            Err(ScanOutcome::Invalid),
        ),
        (
            plan_scan(&order, "x", &gtin, Some(&item("B", Unit::Piece)), 10),
            Err(ScanOutcome::Over),
        ),
        (
            plan_scan(&order, "x", &gtin, Some(&item("Z", Unit::Piece)), 10),
            Err(ScanOutcome::WrongItem),
        ),
        (
            plan_scan(&order, "x", &gtin, None, 10),
            Err(ScanOutcome::Unknown),
        ),
        (
            plan_scan(&order, "HELLO", &decode("HELLO", &rules), None, 10),
            Err(ScanOutcome::Unknown),
        ),
        (
            plan_scan(&order, "x", &decode("6901234567893", &rules), None, 10),
            Err(ScanOutcome::Invalid),
        ),
    ];
    for (i, (plan, want)) in cases.into_iter().enumerate() {
        match want {
            Ok(event) => assert_eq!(
                plan,
                ScanPlan::Apply {
                    line: match event {
                        OrderEvent::Pick { line, .. } | OrderEvent::PickWeighed { line, .. } =>
                            line,
                        _ => 0,
                    },
                    event
                },
                "case {i}"
            ),
            Err(outcome) => assert_eq!(refused(plan), outcome, "case {i}"),
        }
    }
}

/// The store reads stock figures only for events that say they need them (a scan is the hottest
/// write): every other event, in every state, must decide without them.
#[test]
fn only_accept_and_short_read_stock_figures() {
    use OrderState::*;
    let mut read = 0;
    for state in [
        New, Accepted, Picking, Picked, Packed, HandedOver, Cancelled,
    ] {
        let order = fixture(state);
        for event in events() {
            if event.reads_stock() {
                read += 1;
                continue;
            }
            let no_figures = |sku: &SkuCode| -> StockFigures {
                panic!("{state} + {} read the figures of {sku}", event.name())
            };
            let _ = transition(&order, &event, &no_figures);
        }
    }
    assert_eq!(read, 7 * 2, "accept and short, in every state");
}

fn refund_of(line: u32, qty: i64) -> OrderEvent {
    OrderEvent::Refund {
        refund_id: "R1".into(),
        lines: vec![flashpick::model::RefundLine { line, qty }],
    }
}

/// A customer's granted partial refund while picking: what was still to pick is released, what
/// was picked goes on the put-back list (booked back when staff confirm), the platform is told
/// nothing (it granted the refund); more than the line holds is refused; after hand-over the
/// refund is only recorded.
#[test]
fn a_refund_releases_what_was_to_pick_and_puts_back_what_was_picked() {
    // Line 1: 2 ordered, 1 picked.
    let order = fixture(OrderState::Picking);
    let t = transition(&order, &refund_of(1, 2), &plenty).unwrap();
    assert!(t.reports.is_empty());
    let l = &t.order.lines[0];
    assert_eq!((l.qty, l.picked, l.short, l.put_back), (0, 0, 0, 1));
    assert!(t.order.return_pending);
    let reserved: i64 = t.stock.iter().map(|e| e.reserved_delta).sum();
    let on_hand: i64 = t.stock.iter().map(|e| e.on_hand_delta).sum();
    assert_eq!((reserved, on_hand), (-1, 0), "the unit to pick is released");
    assert_eq!(t.order.reserved_qty(), 1, "line 2 still holds its unit");
    let back = transition(&t.order, &OrderEvent::ConfirmReturn, &plenty).unwrap();
    assert_eq!(back.order.state, OrderState::Picking);
    assert!(!back.order.return_pending);
    assert_eq!(back.order.lines[0].put_back, 0);
    let returned: i64 = back.stock.iter().map(|e| e.on_hand_delta).sum();
    assert_eq!(returned, 1, "the picked unit is back on the shelf");

    // One unit of two, nothing picked yet: only released.
    let t = transition(&order, &refund_of(2, 1), &plenty).unwrap();
    assert_eq!(t.order.lines[1].qty, 0);
    assert!(!t.order.return_pending);
    // More than the line holds.
    assert_eq!(
        err_name(&transition(&order, &refund_of(1, 3), &plenty).unwrap_err()),
        "over_pick"
    );
    // Units already reported short are refunded without a put-back.
    let short = transition(
        &order,
        &OrderEvent::Short {
            line: 1,
            qty: 1,
            reason: ShortReason::OutOfStock,
        },
        &plenty,
    )
    .unwrap()
    .order;
    let t = transition(&short, &refund_of(1, 1), &plenty).unwrap();
    let l = &t.order.lines[0];
    assert_eq!((l.qty, l.picked, l.short, l.put_back), (1, 1, 0, 0));
    assert!(t.stock.is_empty());
    // Handed over: recorded, nothing moves.
    let gone = fixture(OrderState::HandedOver);
    let t = transition(&gone, &refund_of(1, 1), &plenty).unwrap();
    assert_eq!(t.order, gone);
    assert!(t.stock.is_empty());
    // Packed: the bag is opened, the unit goes back.
    let packed = fixture(OrderState::Packed);
    let t = transition(&packed, &refund_of(1, 1), &plenty).unwrap();
    assert_eq!(t.order.lines[0].put_back, 1);
    assert!(t.order.return_pending);
}
