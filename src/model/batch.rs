//! Batch picking, pure: which waiting orders a picker takes in one walk of the shelves, and
//! which order of the batch a scan goes to. A batch is a grouping of orders in picking, each in
//! a slot of the picker's cart; every order keeps its own state machine and stock arithmetic.

use super::ids::{OrderId, SkuCode, Timestamp};
use super::order::{Order, OrderState};
use super::stock::Unit;
use serde::{Deserialize, Serialize};

/// The batch rules (`[picking]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRules {
    /// Orders in one batch at most (1: no batches).
    pub max: usize,
    /// Only orders whose pick deadlines lie within this many seconds of the first (0: any).
    pub window_secs: i64,
    /// Seconds of walking and picking per line, to tell whether a batch would make its first
    /// order late.
    pub secs_per_line: i64,
}

/// An order waiting to be claimed, as the choice sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The order.
    pub id: OrderId,
    /// Its pick deadline.
    pub pick_deadline: Timestamp,
    /// Its lines.
    pub lines: u32,
}

/// Most urgent first: the earlier pick deadline, then the older order.
fn urgency(deadline: Timestamp, id: OrderId) -> (i64, i64) {
    (deadline.0, id.0)
}

/// The batch to claim now: the most urgent order, then the next most urgent ones that fit —
/// up to `max`, within the window of the first's deadline, and only while the first order's
/// time left exceeds the batch's estimated walk (`secs_per_line` × its lines). Empty when
/// nothing waits.
pub fn choose(candidates: &[Candidate], rules: &BatchRules, now: Timestamp) -> Vec<OrderId> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by_key(|c| urgency(c.pick_deadline, c.id));
    let Some(first) = sorted.first() else {
        return Vec::new();
    };
    let left_secs = (first.pick_deadline.0 - now.0).div_euclid(1000);
    let mut batch = vec![first.id];
    let mut lines = i64::from(first.lines);
    for c in &sorted[1..] {
        if batch.len() >= rules.max.max(1) {
            break;
        }
        if rules.window_secs > 0
            && c.pick_deadline.0 - first.pick_deadline.0 > rules.window_secs * 1000
        {
            // Sorted by deadline: every later one is further still.
            break;
        }
        let walk = (lines + i64::from(c.lines)) * rules.secs_per_line;
        if left_secs <= walk {
            // A smaller order further down may still fit.
            continue;
        }
        batch.push(c.id);
        lines += i64::from(c.lines);
    }
    batch
}

/// An order's place in a batch: the batch and the cart's slot it goes into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSlot {
    /// The batch (its first order's id).
    pub batch: i64,
    /// The slot's label on the cart (`A`).
    pub slot: String,
}

/// Where a scan goes in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// To this order (which still needs the item, or which the picker directed it to).
    To(OrderId),
    /// Every order of the batch with the item has all it needs: over-scan, at this order.
    Over(OrderId),
    /// No order of the batch has the item.
    WrongItem,
}

/// Which order of a batch a scan of `sku` goes to: the one the picker directed it to (a slot
/// scanned first), else the most urgent order still needing the item — for a weighed label,
/// the most urgent whose remaining weight it fits. `orders` are the batch's orders in picking.
pub fn route(
    orders: &[&Order],
    sku: &SkuCode,
    unit: Unit,
    weight_g: Option<i64>,
    tolerance_pct: u32,
    directed: Option<OrderId>,
) -> Route {
    if let Some(id) = directed.filter(|id| orders.iter().any(|o| o.id == *id)) {
        return Route::To(id);
    }
    let mut sorted: Vec<&&Order> = orders
        .iter()
        .filter(|o| o.state == OrderState::Picking)
        .collect();
    sorted.sort_by_key(|o| urgency(o.pick_deadline, o.id));
    let needs = |o: &Order| {
        o.lines.iter().any(|l| {
            &l.sku == sku
                && l.remaining() > 0
                && match (unit, weight_g) {
                    (Unit::Gram, Some(g)) => super::transition::weight_fits(l, g, tolerance_pct),
                    _ => true,
                }
        })
    };
    if let Some(o) = sorted.iter().find(|o| needs(o)) {
        return Route::To(o.id);
    }
    match sorted
        .iter()
        .find(|o| o.lines.iter().any(|l| &l.sku == sku))
    {
        Some(o) => Route::Over(o.id),
        None => Route::WrongItem,
    }
}

/// Whether every line of the order is picked or short: in a batch it completes by itself.
pub fn all_done(order: &Order) -> bool {
    order.lines.iter().all(|l| l.remaining() == 0)
}
