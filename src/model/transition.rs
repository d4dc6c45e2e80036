//! The order state machine's one entry: which event each state takes (a routing table), and
//! what each event does, in a function of its own. Pure, like the rest of the model.

use super::ids::SkuCode;
use super::order::{
    AdjustLine, CancelSource, MAX_BAGS, MAX_REASON_BYTES, Order, OrderEvent, OrderLine, OrderState,
    RefundLine, Report, ShortReason, Transition, TransitionError,
};
use super::stock::{MAX_QTY, MoveKind, StockEffect, StockFigures};
use std::collections::BTreeMap;

/// Applies `event` to `order`. `stock` gives the current figures of a sku as seen by the order's
/// platform (only `Accept` and `Short` look at them).
pub fn transition(
    order: &Order,
    event: &OrderEvent,
    stock: &dyn Fn(&SkuCode) -> StockFigures,
) -> Result<Transition, TransitionError> {
    use OrderState as S;
    let refuse = || TransitionError::NotAllowed {
        state: order.state,
        event: event.name(),
    };
    // Absurd parameters are refused whatever the state: they are wrong in any.
    match event {
        OrderEvent::Pack { bags } if *bags > MAX_BAGS => {
            return Err(TransitionError::TooManyBags(*bags));
        }
        OrderEvent::Cancel {
            by: CancelSource::Store,
            reason,
        } if reason.trim().is_empty() || reason.len() > MAX_REASON_BYTES => {
            return Err(TransitionError::NoReason);
        }
        _ => {}
    }
    let mut step = Step {
        next: order.clone(),
        stock: Vec::new(),
        reports: Vec::new(),
    };
    // Which event each state takes; what each does is in a function of its own below.
    match (order.state, event) {
        (S::New, OrderEvent::Accept) => accept(order, stock, &mut step)?,
        (S::Accepted, OrderEvent::Claim { picker }) => {
            step.next.state = S::Picking;
            step.next.picker = Some(picker.clone());
        }
        (S::Picking, OrderEvent::Claim { .. }) => {
            return Err(TransitionError::AlreadyClaimed {
                by: order.picker.clone().unwrap_or_default(),
            });
        }
        (S::Picking, OrderEvent::Release) => {
            step.next.state = S::Accepted;
            step.next.picker = None;
        }
        (S::Picking, OrderEvent::Pick { line, qty }) => pick(&mut step, *line, *qty)?,
        (
            S::Picking,
            OrderEvent::PickWeighed {
                line,
                grams,
                tolerance_pct,
            },
        ) => pick_weighed(&mut step, *line, *grams, *tolerance_pct)?,
        (S::Picking, OrderEvent::UndoPick { line, qty }) => undo_pick(&mut step, *line, *qty)?,
        (S::Picking, OrderEvent::Short { line, qty, reason }) => {
            short(&mut step, stock, *line, *qty, *reason)?
        }
        (S::Picking, OrderEvent::CompletePick) => complete_pick(order, &mut step)?,
        (S::Picked, OrderEvent::Pack { bags }) => {
            if *bags == 0 {
                return Err(TransitionError::NoBags);
            }
            step.next.state = S::Packed;
            step.next.bags = Some(*bags);
        }
        (S::Packed, OrderEvent::HandOver) => step.next.state = S::HandedOver,
        (
            S::New | S::Accepted | S::Picking | S::Picked | S::Packed,
            OrderEvent::Cancel { by, reason },
        ) => cancel(order, *by, reason, &mut step),
        (S::Cancelled, OrderEvent::ConfirmReturn) if order.return_pending => {
            confirm_return(order, &mut step)
        }
        (_, OrderEvent::ConfirmReturn) if order.return_pending => put_back(order, &mut step),
        (
            S::New | S::Accepted | S::Picking | S::Picked | S::Packed | S::HandedOver,
            OrderEvent::Refund { lines, .. },
        ) => refund(order, lines, &mut step)?,
        _ => return Err(refuse()),
    }
    Ok(Transition {
        order: step.next,
        stock: step.stock,
        reports: step.reports,
    })
}

/// What a transition builds: the order afterwards, its stock effects and its reports.
struct Step {
    next: Order,
    stock: Vec<StockEffect>,
    reports: Vec<Report>,
}

/// Accept: reserve every line, or refuse naming the first item short of stock.
fn accept(
    order: &Order,
    stock: &dyn Fn(&SkuCode) -> StockFigures,
    step: &mut Step,
) -> Result<(), TransitionError> {
    use OrderState as S;
    // The safety buffer belongs to the platform: a burst on this platform stops at it and
    // cannot eat the stock another platform has already sold.
    let mut wanted: BTreeMap<&SkuCode, i64> = BTreeMap::new();
    for l in &order.lines {
        let w = wanted.entry(&l.sku).or_default();
        *w = w.saturating_add(l.qty);
    }
    for (sku, qty) in wanted {
        let available = stock(sku).available();
        if available < qty {
            return Err(TransitionError::InsufficientStock {
                sku: sku.clone(),
                wanted: qty,
                available,
            });
        }
    }
    for l in &order.lines {
        step.stock.push(reserve(&l.sku, l.qty));
    }
    step.next.state = S::Accepted;
    step.reports.push(Report::Confirm);
    Ok(())
}

/// A unit (or units) of a counted line taken from the shelf.
fn pick(step: &mut Step, line: u32, qty: i64) -> Result<(), TransitionError> {
    let l = line_mut(&mut step.next, line)?;
    positive(qty)?;
    if l.weighed_g.is_some() {
        return Err(TransitionError::MixedPick(line));
    }
    if qty > l.remaining() {
        return Err(TransitionError::OverPick {
            line,
            qty,
            remaining: l.remaining(),
        });
    }
    l.picked += qty;
    step.stock.push(StockEffect {
        sku: l.sku.clone(),
        kind: MoveKind::Pick,
        on_hand_delta: -qty,
        reserved_delta: -qty,
    });
    Ok(())
}

/// A scale label on a weighed line: within the tolerance of what is left, the line is done.
fn pick_weighed(
    step: &mut Step,
    line: u32,
    grams: i64,
    tolerance_pct: u32,
) -> Result<(), TransitionError> {
    let l = line_mut(&mut step.next, line)?;
    positive(grams)?;
    if l.picked > 0 && l.weighed_g.is_none() {
        return Err(TransitionError::MixedPick(line));
    }
    let remaining = l.remaining();
    if remaining == 0 {
        return Err(TransitionError::OverPick {
            line,
            qty: grams,
            remaining,
        });
    }
    let slack = remaining.saturating_mul(i64::from(tolerance_pct)) / 100;
    if grams > remaining.saturating_add(slack) {
        return Err(TransitionError::OverWeight {
            line,
            grams,
            remaining,
            tolerance_pct,
        });
    }
    // Within tolerance of what is left, the line is done; lighter, it takes another label.
    let counted = if grams >= remaining - slack {
        remaining
    } else {
        grams
    };
    l.picked += counted;
    l.weighed_g = Some(l.weighed_g.unwrap_or(0) + grams);
    step.stock.push(StockEffect {
        sku: l.sku.clone(),
        kind: MoveKind::Pick,
        on_hand_delta: -grams,
        reserved_delta: -counted,
    });
    Ok(())
}

/// Units put back on the shelf (a weighed line goes back whole).
fn undo_pick(step: &mut Step, line: u32, qty: i64) -> Result<(), TransitionError> {
    let l = line_mut(&mut step.next, line)?;
    positive(qty)?;
    // Weighed labels cannot be split: undoing a weighed line puts all of it back.
    let whole = l.weighed_g.is_some();
    if qty > l.picked || (whole && qty != l.picked) {
        return Err(TransitionError::UndoTooMuch {
            line,
            qty,
            picked: l.picked,
        });
    }
    let back = l.weighed_g.take().unwrap_or(qty);
    l.picked -= qty;
    step.stock.push(StockEffect {
        sku: l.sku.clone(),
        kind: MoveKind::PickUndo,
        on_hand_delta: back,
        reserved_delta: qty,
    });
    Ok(())
}

/// Units that are not there: written off (never below zero) and reported at completion.
fn short(
    step: &mut Step,
    stock: &dyn Fn(&SkuCode) -> StockFigures,
    line: u32,
    qty: i64,
    reason: ShortReason,
) -> Result<(), TransitionError> {
    let l = line_mut(&mut step.next, line)?;
    positive(qty)?;
    if qty > l.remaining() {
        return Err(TransitionError::OverPick {
            line,
            qty,
            remaining: l.remaining(),
        });
    }
    l.short += qty;
    l.short_reason = Some(reason);
    // The units the system believed were there are not: write them off, but never below
    // zero, so that the platforms stop selling what the shelf does not have.
    let on_hand = stock(&l.sku).on_hand.max(0);
    step.stock.push(StockEffect {
        sku: l.sku.clone(),
        kind: MoveKind::Short,
        on_hand_delta: -(qty).min(on_hand),
        reserved_delta: -qty,
    });
    Ok(())
}

/// Picking done: every line picked or short, something picked; adjustments before completion.
fn complete_pick(order: &Order, step: &mut Step) -> Result<(), TransitionError> {
    use OrderState as S;
    let open: Vec<u32> = order
        .lines
        .iter()
        .filter(|l| l.remaining() > 0)
        .map(|l| l.line_no)
        .collect();
    if !open.is_empty() {
        return Err(TransitionError::LinesOpen(open));
    }
    if order.lines.iter().all(|l| l.picked == 0) {
        return Err(TransitionError::NothingPicked);
    }
    let short: Vec<AdjustLine> = order
        .lines
        .iter()
        .filter(|l| l.short > 0)
        .map(|l| AdjustLine {
            line_no: l.line_no,
            sku: l.sku.clone(),
            short: l.short,
            refund: l.unit_price.times(l.short),
        })
        .collect();
    if !short.is_empty() {
        step.reports.push(Report::Adjust { lines: short });
    }
    step.reports.push(Report::PickComplete);
    step.next.state = S::Picked;
    Ok(())
}

/// Cancelled before hand-over: reservations released, picked goods to be put back.
fn cancel(order: &Order, by: CancelSource, reason: &str, step: &mut Step) {
    use OrderState as S;
    if order.state.holds_reservation() {
        for l in order.lines.iter().filter(|l| l.remaining() > 0) {
            step.stock.push(reserve(&l.sku, -l.remaining()));
        }
    }
    step.next.return_pending = order.lines.iter().any(|l| l.picked > 0 || l.put_back > 0);
    step.next.state = S::Cancelled;
    step.next.cancel_reason = Some(reason.to_string());
    if by == CancelSource::Store {
        step.reports.push(Report::Cancel {
            reason: reason.to_string(),
        });
    }
}

/// Staff put a cancelled order's picked goods back on the shelf (and what a refund took off it
/// before).
fn confirm_return(order: &Order, step: &mut Step) {
    for l in order
        .lines
        .iter()
        .filter(|l| l.picked > 0 || l.put_back > 0)
    {
        step.stock.push(StockEffect {
            sku: l.sku.clone(),
            kind: MoveKind::CancelReturn,
            // What physically left the shelf: the labels' weight for weighed lines.
            on_hand_delta: l.weighed_g.unwrap_or(l.picked) + l.put_back,
            reserved_delta: 0,
        });
    }
    for l in &mut step.next.lines {
        l.put_back = 0;
    }
    step.next.return_pending = false;
}

/// Staff put back what a refund took out of a live order's tote.
fn put_back(order: &Order, step: &mut Step) {
    for l in order.lines.iter().filter(|l| l.put_back > 0) {
        step.stock.push(StockEffect {
            sku: l.sku.clone(),
            kind: MoveKind::CancelReturn,
            on_hand_delta: l.put_back,
            reserved_delta: 0,
        });
    }
    for l in &mut step.next.lines {
        l.put_back = 0;
    }
    step.next.return_pending = false;
}

/// A customer's partial refund, granted: the units leave the order. What was still to pick is
/// released; units already reported short need nothing more; units already picked go on the
/// put-back list. After hand-over the goods are gone: the refund is only recorded.
fn refund(order: &Order, lines: &[RefundLine], step: &mut Step) -> Result<(), TransitionError> {
    if order.state == OrderState::HandedOver {
        return Ok(());
    }
    let holds = order.state.holds_reservation();
    for r in lines {
        let l = line_mut(&mut step.next, r.line)?;
        positive(r.qty)?;
        if r.qty > l.qty {
            return Err(TransitionError::OverPick {
                line: r.line,
                qty: r.qty,
                remaining: l.qty,
            });
        }
        let mut left = r.qty;
        let from_remaining = left.min(l.remaining());
        left -= from_remaining;
        let from_short = left.min(l.short);
        left -= from_short;
        l.short -= from_short;
        if l.short == 0 {
            l.short_reason = None;
        }
        // What is left came out of the tote.
        l.picked -= left;
        l.put_back += left;
        if let Some(g) = l.weighed_g.as_mut() {
            *g = (*g - left).max(0);
        }
        l.qty -= r.qty;
        if holds && from_remaining > 0 {
            let sku = l.sku.clone();
            step.stock.push(reserve(&sku, -from_remaining));
        }
    }
    step.next.return_pending = step.next.lines.iter().any(|l| l.put_back > 0);
    Ok(())
}

fn reserve(sku: &SkuCode, qty: i64) -> StockEffect {
    StockEffect {
        sku: sku.clone(),
        kind: MoveKind::Pick,
        on_hand_delta: 0,
        reserved_delta: qty,
    }
}

fn line_mut(order: &mut Order, line: u32) -> Result<&mut OrderLine, TransitionError> {
    order
        .lines
        .iter_mut()
        .find(|l| l.line_no == line)
        .ok_or(TransitionError::NoSuchLine(line))
}

fn positive(qty: i64) -> Result<(), TransitionError> {
    if qty <= 0 {
        Err(TransitionError::NonPositive(qty))
    } else if qty > MAX_QTY {
        Err(TransitionError::TooLarge(qty))
    } else {
        Ok(())
    }
}

/// Whether a scale label of `grams` fits what the line still needs (within the tolerance, as a
/// weighed pick counts it): a batch sends such a label to the order it fits.
pub fn weight_fits(l: &crate::model::OrderLine, grams: i64, tolerance_pct: u32) -> bool {
    let remaining = l.remaining();
    let slack = remaining.saturating_mul(i64::from(tolerance_pct)) / 100;
    remaining > 0
        && grams > 0
        && grams <= remaining.saturating_add(slack)
        && !(l.picked > 0 && l.weighed_g.is_none())
}
