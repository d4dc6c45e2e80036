//! What a scan should do to the order being picked: a pure decision over the order, the decoded
//! code and the item it names. The store carries the plan out in one transaction.

use super::barcode::{BarcodeError, Decoded};
use super::ids::SkuCode;
use super::order::{Order, OrderEvent, ScanMatch, match_scan};
use super::stock::Unit;
use serde::{Deserialize, Serialize};

/// The outcome of a scan, as staff see it. The snake_case names are stored and sent (frozen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanOutcome {
    /// Counted into a line.
    Ok,
    /// An item this order does not contain.
    WrongItem,
    /// The line already has all it needs (or the label is too heavy).
    Over,
    /// No item has this code.
    Unknown,
    /// The code itself is bad (check digit, damaged label, a weighed item without its label…).
    Invalid,
    /// The scanner has no picker, or the picker no order in picking.
    NoOrder,
    /// A picker badge: the scanner now belongs to that picker.
    Badge,
    /// A cart slot's label: the next unit goes into that slot's order.
    Slot,
}

impl ScanOutcome {
    /// Every outcome.
    pub const ALL: [ScanOutcome; 8] = [
        ScanOutcome::Ok,
        ScanOutcome::WrongItem,
        ScanOutcome::Over,
        ScanOutcome::Unknown,
        ScanOutcome::Invalid,
        ScanOutcome::NoOrder,
        ScanOutcome::Badge,
        ScanOutcome::Slot,
    ];

    /// The stable name (also the `pick_scan.result` column).
    pub fn as_str(self) -> &'static str {
        match self {
            ScanOutcome::Ok => "ok",
            ScanOutcome::WrongItem => "wrong_item",
            ScanOutcome::Over => "over",
            ScanOutcome::Unknown => "unknown",
            ScanOutcome::Invalid => "invalid",
            ScanOutcome::NoOrder => "no_order",
            ScanOutcome::Badge => "badge",
            ScanOutcome::Slot => "slot",
        }
    }
}

/// The catalog item a code named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedItem {
    /// Store code.
    pub sku: SkuCode,
    /// Name, for messages.
    pub name: String,
    /// Pieces or grams.
    pub unit: Unit,
}

/// What to do with a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanPlan {
    /// Apply this event to the order (it counts for `line`).
    Apply {
        /// The line.
        line: u32,
        /// `Pick` or `PickWeighed`.
        event: OrderEvent,
    },
    /// Move nothing; tell the picker why.
    Refuse {
        /// Why, in one word.
        outcome: ScanOutcome,
        /// The line it would have counted for.
        line: Option<u32>,
        /// Why, in a sentence.
        message: String,
    },
}

/// Decides what a scan of `code` does to `order` (in picking).
pub fn plan_scan(
    order: &Order,
    code: &str,
    decoded: &Result<Decoded, BarcodeError>,
    item: Option<&ScannedItem>,
    tolerance_pct: u32,
) -> ScanPlan {
    let refuse = |outcome, line, message| ScanPlan::Refuse {
        outcome,
        line,
        message,
    };
    let seq = order.day_seq;
    let Some(item) = item else {
        return match decoded {
            Err(e) if !matches!(e, BarcodeError::NotRecognized(_)) => {
                refuse(ScanOutcome::Invalid, None, e.to_string())
            }
            _ => refuse(
                ScanOutcome::Unknown,
                None,
                format!("unknown code {code}: no item in the catalog has it"),
            ),
        };
    };
    match match_scan(order, &item.sku) {
        ScanMatch::WrongItem => refuse(
            ScanOutcome::WrongItem,
            None,
            format!("wrong item: {} ({code}) is not in order #{seq}", item.name),
        ),
        ScanMatch::Over(line) => refuse(
            ScanOutcome::Over,
            Some(line),
            format!(
                "over: order #{seq} already has every {} it needs",
                item.name
            ),
        ),
        ScanMatch::Line(line) => {
            let weight = decoded.as_ref().ok().and_then(|d| d.weight_g);
            match (item.unit, weight) {
                (Unit::Gram, Some(grams)) => ScanPlan::Apply {
                    line,
                    event: OrderEvent::PickWeighed {
                        line,
                        grams,
                        tolerance_pct,
                    },
                },
                (Unit::Gram, None) => refuse(
                    ScanOutcome::Invalid,
                    Some(line),
                    format!(
                        "{} is weighed: scan the scale label, not the item code",
                        item.name
                    ),
                ),
                (Unit::Piece, _) => ScanPlan::Apply {
                    line,
                    event: OrderEvent::Pick { line, qty: 1 },
                },
            }
        }
    }
}
