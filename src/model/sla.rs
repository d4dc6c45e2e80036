//! The SLA clock: when picking must be finished and how close the order is to missing it.

use super::ids::Timestamp;
use serde::{Deserialize, Serialize};

/// How deadlines are derived and when an order turns amber or red. From `[sla]` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaPolicy {
    /// Time the rider needs from store to customer, taken off the promised time.
    pub travel_buffer_secs: i64,
    /// Pick time allowed when the platform gives neither a deadline nor a promised time.
    pub default_pick_secs: i64,
    /// An order is at risk when this much time or less is left.
    pub at_risk_secs: i64,
    /// An order is late when this much time or less is left (0: at the deadline).
    pub late_secs: i64,
    /// A booked order (预订单) waits in the scheduled list until this long before its pick
    /// deadline, then joins the live queue.
    pub release_before_secs: i64,
    /// How far ahead a delivery may be booked; an order further out is refused.
    pub max_schedule_days: i64,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            travel_buffer_secs: 1200,
            default_pick_secs: 600,
            at_risk_secs: 120,
            late_secs: 0,
            release_before_secs: 2700,
            max_schedule_days: 7,
        }
    }
}

/// How an order stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// Comfortably inside the deadline (green).
    OnTime,
    /// Close to the deadline (amber).
    AtRisk,
    /// Past it (red).
    Late,
}

impl SlaPolicy {
    /// The pick deadline: the platform's own when it gives one (JD `pickDeadline`), else the
    /// promised delivery time minus the travel buffer, else the default pick time after payment.
    pub fn pick_deadline(
        &self,
        platform_deadline: Option<Timestamp>,
        promised_at: Option<Timestamp>,
        placed_at: Timestamp,
    ) -> Timestamp {
        platform_deadline
            .or_else(|| promised_at.map(|p| p.plus_secs(-self.travel_buffer_secs)))
            .unwrap_or_else(|| placed_at.plus_secs(self.default_pick_secs))
    }

    /// When an order with this pick deadline joins the live queue.
    pub fn release_at(&self, deadline: Timestamp) -> Timestamp {
        deadline.plus_secs(-self.release_before_secs)
    }

    /// Whether an order with this pick deadline still waits in the scheduled list at `now`.
    pub fn scheduled(&self, deadline: Timestamp, now: Timestamp) -> bool {
        self.release_at(deadline) > now
    }

    /// The state of an order with this deadline at `now`.
    pub fn state(&self, deadline: Timestamp, now: Timestamp) -> SlaState {
        let left_ms = deadline.0 - now.0;
        if left_ms <= self.late_secs * 1000 {
            SlaState::Late
        } else if left_ms <= self.at_risk_secs * 1000 {
            SlaState::AtRisk
        } else {
            SlaState::OnTime
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_700_000_000_000);

    #[test]
    fn deadline_prefers_the_platforms_then_promised_minus_travel_then_default() {
        let p = SlaPolicy::default();
        let jd = T0.plus_secs(300);
        assert_eq!(p.pick_deadline(Some(jd), Some(T0.plus_secs(1800)), T0), jd);
        assert_eq!(
            p.pick_deadline(None, Some(T0.plus_secs(1800)), T0),
            T0.plus_secs(600)
        );
        assert_eq!(p.pick_deadline(None, None, T0), T0.plus_secs(600));
    }

    #[test]
    fn state_turns_amber_then_red_at_the_thresholds() {
        let p = SlaPolicy {
            at_risk_secs: 120,
            late_secs: 0,
            ..SlaPolicy::default()
        };
        let d = T0.plus_secs(600);
        let cases = [
            (T0, SlaState::OnTime),
            (d.plus_secs(-121), SlaState::OnTime),
            (d.plus_secs(-120), SlaState::AtRisk),
            (d.plus_secs(-1), SlaState::AtRisk),
            (d, SlaState::Late),
            (d.plus_secs(60), SlaState::Late),
        ];
        for (now, want) in cases {
            assert_eq!(p.state(d, now), want, "at {now:?}");
        }
    }
}
