//! Stock arithmetic: one pool of stock (一盘货) for every platform, each with its own safety buffer.
//!
//! `on_hand` is what is on the shelf and changes only through ledger moves; `reserved` is what open
//! orders still have to pick. `available(platform) = on_hand − reserved − safety(platform)`.

use super::ids::SkuCode;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How an item is counted: pieces, or grams for weighed goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Counted in whole pieces (件).
    #[default]
    Piece,
    /// Weighed, counted in grams.
    Gram,
}

impl Unit {
    /// The stable name stored in the database (frozen).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Piece => "piece",
            Unit::Gram => "gram",
        }
    }
}

impl FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "piece" | "pc" | "件" | "" => Ok(Unit::Piece),
            "gram" | "g" | "克" => Ok(Unit::Gram),
            other => Err(format!("unknown unit `{other}` (use piece or gram)")),
        }
    }
}

/// The largest quantity one operation may carry: a billion pieces, or 1,000 tonnes in grams.
/// Anything bigger is a typo or an attack, and would overflow the sums downstream.
pub const MAX_QTY: i64 = 1_000_000_000;

/// The figures of one sku as seen by one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StockFigures {
    /// On the shelf, by the ledger.
    pub on_hand: i64,
    /// Still to be picked for open orders.
    pub reserved: i64,
    /// Held back from this platform so that a burst elsewhere cannot oversell it.
    pub safety: i64,
}

impl StockFigures {
    /// What this platform may still sell. Negative when the shelf holds less than is promised.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved - self.safety
    }

    /// The level to publish to a platform: never below zero.
    pub fn publishable(&self) -> i64 {
        self.available().max(0)
    }

    /// The level in the platform's sale units: pieces as they are; weighed goods in whole
    /// portions of `sale_unit_g` grams (rounded down: a part portion cannot be sold). Weighed
    /// goods whose portion is not known show 0: the platform may still hold a level in grams
    /// from before portions existed, and not selling beats selling a hundred times the shelf.
    ///
    /// The last guard before a figure leaves the store: a negative safety stock counts as none,
    /// and figures beyond [`MAX_QTY`] (only a database written before the bounds existed can
    /// hold them) publish 0 — not sold rather than oversold.
    pub fn platform_level(&self, unit: Unit, sale_unit_g: Option<i64>) -> i64 {
        let available = self
            .on_hand
            .saturating_sub(self.reserved.max(0))
            .saturating_sub(self.safety.max(0));
        if self.on_hand > MAX_QTY || available > MAX_QTY {
            return 0;
        }
        let publishable = available.max(0);
        match (unit, sale_unit_g) {
            (Unit::Piece, _) => publishable,
            (Unit::Gram, Some(g)) if g > 0 => publishable / g,
            (Unit::Gram, _) => 0,
        }
    }
}

/// Why the on-hand quantity of a sku changed. Stored in the ledger (frozen names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    /// Goods arrived (收货).
    Receive,
    /// A unit was picked into an order.
    Pick,
    /// A pick was undone; the unit went back to the shelf.
    PickUndo,
    /// A short pick wrote the missing units off.
    Short,
    /// Picked units of a cancelled order went back to the shelf.
    CancelReturn,
    /// A shelf count found a different figure (盘点).
    Count,
    /// A manual correction with a reason.
    Adjust,
    /// A catalog import set the figure.
    Import,
}

impl MoveKind {
    /// The stable name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            MoveKind::Receive => "receive",
            MoveKind::Pick => "pick",
            MoveKind::PickUndo => "pick_undo",
            MoveKind::Short => "short",
            MoveKind::CancelReturn => "cancel_return",
            MoveKind::Count => "count",
            MoveKind::Adjust => "adjust",
            MoveKind::Import => "import",
        }
    }
}

impl fmt::Display for MoveKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change to a sku's figures. A non-zero `on_hand_delta` becomes a ledger row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockEffect {
    /// The item.
    pub sku: SkuCode,
    /// Why (for the ledger).
    pub kind: MoveKind,
    /// Change of on_hand.
    pub on_hand_delta: i64,
    /// Change of reserved.
    pub reserved_delta: i64,
}

/// A stock operation that cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    /// Quantities must be positive.
    #[error("quantity must be positive, got {0}")]
    NonPositive(i64),
    /// Counts cannot be negative.
    #[error("a counted quantity cannot be negative, got {0}")]
    NegativeCount(i64),
    /// An adjustment would leave less than nothing on the shelf.
    #[error("adjusting {sku} by {delta} would leave {result} on hand; count the shelf instead")]
    BelowZero {
        /// The item.
        sku: SkuCode,
        /// The requested change.
        delta: i64,
        /// What would be left.
        result: i64,
    },
    /// A zero adjustment is a no-op that would still write a ledger row.
    #[error("an adjustment of zero changes nothing")]
    ZeroAdjust,
    /// The change would leave more than [`MAX_QTY`] on the shelf.
    #[error(
        "{sku} has {current} on hand: changing it by {delta} would make {result}, more than 1000000000; check the number, or count the shelf"
    )]
    AboveMax {
        /// The item.
        sku: SkuCode,
        /// On hand now.
        current: i64,
        /// The requested change.
        delta: i64,
        /// What it would make (wide, so that it can show an overflow).
        result: i128,
    },
    /// A quantity beyond [`MAX_QTY`].
    #[error("quantity {0} is too large (at most 1000000000); check the number")]
    TooLarge(i64),
}

/// Goods received: on_hand grows by `qty`, and may not grow past [`MAX_QTY`].
pub fn receive(sku: &SkuCode, current: i64, qty: i64) -> Result<StockEffect, StockError> {
    if qty <= 0 {
        return Err(StockError::NonPositive(qty));
    }
    if qty > MAX_QTY {
        return Err(StockError::TooLarge(qty));
    }
    within_max(sku, current, qty)?;
    Ok(on_hand(sku, MoveKind::Receive, qty))
}

/// Refuses a change that would take on_hand past [`MAX_QTY`] (or overflow on the way).
fn within_max(sku: &SkuCode, current: i64, delta: i64) -> Result<i64, StockError> {
    match current.checked_add(delta) {
        Some(result) if result <= MAX_QTY => Ok(result),
        result => Err(StockError::AboveMax {
            sku: sku.clone(),
            current,
            delta,
            result: result
                .map(i128::from)
                .unwrap_or(i128::from(current) + i128::from(delta)),
        }),
    }
}

/// A shelf count: on_hand becomes `counted`; the difference is the ledger move. `None` when equal.
pub fn count(sku: &SkuCode, current: i64, counted: i64) -> Result<Option<StockEffect>, StockError> {
    if counted < 0 {
        return Err(StockError::NegativeCount(counted));
    }
    if counted > MAX_QTY {
        return Err(StockError::TooLarge(counted));
    }
    let delta = counted
        .checked_sub(current)
        .ok_or(StockError::TooLarge(counted))?;
    Ok((delta != 0).then(|| on_hand(sku, MoveKind::Count, delta)))
}

/// A manual correction by `delta`; refused when it would leave a negative figure.
pub fn adjust(sku: &SkuCode, current: i64, delta: i64) -> Result<StockEffect, StockError> {
    if delta == 0 {
        return Err(StockError::ZeroAdjust);
    }
    if delta.unsigned_abs() > MAX_QTY as u64 {
        return Err(StockError::TooLarge(delta));
    }
    let result = within_max(sku, current, delta)?;
    if result < 0 {
        return Err(StockError::BelowZero {
            sku: sku.clone(),
            delta,
            result,
        });
    }
    Ok(on_hand(sku, MoveKind::Adjust, delta))
}

fn on_hand(sku: &SkuCode, kind: MoveKind, delta: i64) -> StockEffect {
    StockEffect {
        sku: sku.clone(),
        kind,
        on_hand_delta: delta,
        reserved_delta: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku() -> SkuCode {
        SkuCode::new("A1")
    }

    #[test]
    fn available_subtracts_reserved_and_the_platforms_safety() {
        let f = StockFigures {
            on_hand: 10,
            reserved: 3,
            safety: 2,
        };
        assert_eq!(f.available(), 5);
        let short = StockFigures {
            on_hand: 1,
            reserved: 3,
            safety: 0,
        };
        assert_eq!(short.available(), -2);
        assert_eq!(short.publishable(), 0);
    }

    #[test]
    fn receive_count_and_adjust_give_ledger_moves() {
        assert_eq!(receive(&sku(), 0, 5).unwrap().on_hand_delta, 5);
        assert_eq!(receive(&sku(), 0, 0), Err(StockError::NonPositive(0)));
        assert_eq!(count(&sku(), 7, 4).unwrap().unwrap().on_hand_delta, -3);
        assert_eq!(count(&sku(), 7, 7).unwrap(), None);
        assert_eq!(count(&sku(), 7, -1), Err(StockError::NegativeCount(-1)));
        assert_eq!(adjust(&sku(), 2, -2).unwrap().on_hand_delta, -2);
        assert!(matches!(
            adjust(&sku(), 2, -3),
            Err(StockError::BelowZero { result: -1, .. })
        ));
        assert_eq!(adjust(&sku(), 2, 0), Err(StockError::ZeroAdjust));
        assert_eq!(
            adjust(&sku(), 2, i64::MAX),
            Err(StockError::TooLarge(i64::MAX))
        );
        assert_eq!(
            adjust(&sku(), 2, i64::MIN),
            Err(StockError::TooLarge(i64::MIN))
        );
        assert_eq!(
            receive(&sku(), 0, MAX_QTY + 1),
            Err(StockError::TooLarge(MAX_QTY + 1))
        );
        assert_eq!(
            count(&sku(), -5, i64::MAX),
            Err(StockError::TooLarge(i64::MAX))
        );
    }

    #[test]
    fn on_hand_never_grows_past_the_bound_nor_wraps() {
        assert!(receive(&sku(), MAX_QTY - 1, 1).is_ok());
        assert!(matches!(
            receive(&sku(), MAX_QTY, 1),
            Err(StockError::AboveMax { result, .. }) if result == i128::from(MAX_QTY) + 1
        ));
        // A figure from before the bounds: the sum would overflow, and is refused, not wrapped.
        assert!(matches!(
            receive(&sku(), i64::MAX, 1),
            Err(StockError::AboveMax { result, .. }) if result == i128::from(i64::MAX) + 1
        ));
        assert!(matches!(
            adjust(&sku(), MAX_QTY, 5),
            Err(StockError::AboveMax { .. })
        ));
    }

    #[test]
    fn absurd_figures_publish_nothing_and_negative_safety_counts_as_none() {
        let level = |on_hand, reserved, safety| {
            StockFigures {
                on_hand,
                reserved,
                safety,
            }
            .platform_level(Unit::Piece, None)
        };
        assert_eq!(level(5, 0, -100), 5, "a safety of -100 must not sell 105");
        assert_eq!(level(i64::MAX - 1, 0, 0), 0);
        assert_eq!(level(MAX_QTY, 0, 0), MAX_QTY);
        assert_eq!(level(3, i64::MIN, 0), 3);
        assert_eq!(level(i64::MIN, 0, i64::MAX), 0);
    }
}
