//! The rider of an order, as the platform reports them: assigned, at the store, picked up,
//! delivered, or the delivery cancelled. Pushes come late and out of order; [`Rider::supersedes`]
//! decides which one stands.

use super::ids::Timestamp;
use serde::{Deserialize, Serialize};

/// Where the delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiderStatus {
    /// The platform is looking for a rider.
    Dispatching,
    /// A rider took the order (or another rider replaced the first).
    Assigned,
    /// The rider is at the store, waiting for the bags.
    AtStore,
    /// The rider has the bags.
    PickedUp,
    /// Delivered to the customer.
    Delivered,
    /// The delivery was cancelled (the platform may send another rider).
    Cancelled,
}

impl RiderStatus {
    /// The name shown and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RiderStatus::Dispatching => "dispatching",
            RiderStatus::Assigned => "assigned",
            RiderStatus::AtStore => "at_store",
            RiderStatus::PickedUp => "picked_up",
            RiderStatus::Delivered => "delivered",
            RiderStatus::Cancelled => "cancelled",
        }
    }
}

/// The latest the platform said about an order's rider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rider {
    /// Where the delivery stands.
    pub status: RiderStatus,
    /// The rider's name, when sent.
    #[serde(default)]
    pub name: Option<String>,
    /// The rider's phone, masked for the screens (`138****5678`); a privacy number's extension
    /// is kept (`…_1234`).
    #[serde(default)]
    pub phone: Option<String>,
    /// When the platform says it happened (the push's own time; else when it arrived).
    pub at: Timestamp,
    /// When the rider reached the store (kept once reached: packed orders are listed by it).
    #[serde(default)]
    pub arrived_at: Option<Timestamp>,
}

impl Rider {
    /// Whether `self` (a push just received) replaces `old`. The later event wins; at the same
    /// time, the further status (a rider at the store is not "assigned" again by a late push of
    /// the same second). A cancellation and a new assignment after it are events like any other.
    pub fn supersedes(&self, old: &Rider) -> bool {
        (self.at, self.status) > (old.at, old.status)
    }

    /// `self` as it stands after `old`: the arrival time survives later statuses.
    pub fn after(mut self, old: Option<&Rider>) -> Rider {
        if self.status == RiderStatus::AtStore {
            self.arrived_at = Some(self.at);
        } else if self.status != RiderStatus::Cancelled && self.status != RiderStatus::Assigned {
            self.arrived_at = old.and_then(|o| o.arrived_at);
        }
        self
    }
}

/// A phone number as the screens may show it: the middle digits hidden, a privacy number's
/// extension kept. At most 32 characters are read.
pub fn mask_phone(raw: &str) -> String {
    let raw: String = raw.trim().chars().take(32).collect();
    let (main, ext) = match raw.split_once(['_', ',', '#']) {
        Some((m, e)) => (m.to_string(), Some(e.to_string())),
        None => (raw.clone(), None),
    };
    let digits: Vec<char> = main.chars().collect();
    let masked = if digits.len() >= 7 {
        let head: String = digits[..3].iter().collect();
        let tail: String = digits[digits.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        "*".repeat(digits.len())
    };
    match ext {
        Some(e) if !e.is_empty() => format!("{masked}_{e}"),
        _ => masked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(status: RiderStatus, at: i64) -> Rider {
        Rider {
            status,
            name: None,
            phone: None,
            at: Timestamp(at),
            arrived_at: None,
        }
    }

    #[test]
    fn the_later_push_stands_and_at_the_same_time_the_further_status() {
        use RiderStatus::*;
        assert!(r(AtStore, 2).supersedes(&r(Assigned, 1)));
        assert!(!r(Assigned, 1).supersedes(&r(AtStore, 2)), "late and older");
        assert!(r(AtStore, 5).supersedes(&r(Assigned, 5)));
        assert!(!r(Assigned, 5).supersedes(&r(AtStore, 5)));
        assert!(r(Assigned, 9).supersedes(&r(Cancelled, 8)), "a new rider");
        assert!(
            !r(AtStore, 5).supersedes(&r(AtStore, 5)),
            "a repeat is no news"
        );
    }

    #[test]
    fn the_arrival_is_kept_until_the_delivery_is_cancelled_or_reassigned() {
        use RiderStatus::*;
        let at = r(AtStore, 5).after(None);
        assert_eq!(at.arrived_at, Some(Timestamp(5)));
        let up = r(PickedUp, 7).after(Some(&at));
        assert_eq!(up.arrived_at, Some(Timestamp(5)));
        assert_eq!(r(Cancelled, 8).after(Some(&up)).arrived_at, None);
    }

    #[test]
    fn phones_are_masked_and_privacy_extensions_kept() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("13812345678_1234"), "138****5678_1234");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_phone(&"9".repeat(500)).len(), 11);
    }
}
