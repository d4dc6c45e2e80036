//! What the delivery worker sends next: a pure function of the pending rows and the clock.
//!
//! Reports and fetches go strictly in order per order (a row waits while an earlier row of the
//! same order is pending, even if that one is backing off); stock levels are independent and go
//! in batches; a full-sync marker sends every level.

use crate::model::Timestamp;
use crate::store::OutboxRow;
use std::collections::HashSet;
use std::time::Duration;

/// One unit of work.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// A report or fetch for one order.
    Order(OutboxRow),
    /// Up to a batch of stock levels.
    Levels(Vec<OutboxRow>),
    /// Every level again.
    FullSync(OutboxRow),
}

/// The work due now, in order, and when the next not-yet-due row falls due.
/// A stock level is held back `level_delay` after it was first queued, so that a burst of
/// changes leaves in a few batches instead of one call per change (coalescing keeps only the
/// newest level per sku meanwhile).
/// Orders in `parked` have a row a person must look at: nothing more of theirs goes out.
pub fn next(
    rows: &[OutboxRow],
    parked: &HashSet<String>,
    now: Timestamp,
    batch: usize,
    level_delay: Duration,
) -> (Vec<Work>, Option<Timestamp>) {
    let mut work = Vec::new();
    let mut blocked: HashSet<String> = parked.clone();
    let mut levels = Vec::new();
    let mut any_level_due = false;
    let mut wake: Option<Timestamp> = None;
    let mut later = |t: Timestamp| {
        wake = Some(wake.map_or(t, |w: Timestamp| w.min(t)));
    };
    for row in rows {
        let held = if row.kind == "stock_level" && row.attempts == 0 {
            row.next_attempt_at.0 + level_delay.as_millis() as i64
        } else {
            row.next_attempt_at.0
        };
        let due = held <= now.0;
        match row.kind.as_str() {
            "stock_level" => {
                any_level_due |= due;
                if !due {
                    later(Timestamp(held));
                }
                // Fresh levels may go early with a due one; a level backing off keeps waiting.
                if due || row.attempts == 0 {
                    levels.push(row.clone());
                }
            }
            "stock_full_sync" if due => work.push(Work::FullSync(row.clone())),
            "stock_full_sync" => later(Timestamp(held)),
            _ => {
                // A row that cannot be read stands alone (it goes to be parked with the reason).
                let order = crate::store::payload::PlatformPayload::read(&row.payload)
                    .ok()
                    .and_then(|p| p.external_id().map(str::to_string))
                    .unwrap_or_else(|| format!("row {}", row.id));
                // Only the first pending row of an order may go; the rest wait behind it.
                if !blocked.insert(order) {
                    continue;
                }
                if due {
                    work.push(Work::Order(row.clone()));
                } else {
                    later(row.next_attempt_at);
                }
            }
        }
    }
    // Once one level is due, every pending level goes with it: they would each cost a call
    // of their own a moment later.
    if any_level_due {
        for chunk in levels.chunks(batch.max(1)) {
            work.push(Work::Levels(chunk.to_vec()));
        }
        wake = rows
            .iter()
            .filter(|r| r.kind != "stock_level" && r.next_attempt_at > now)
            .map(|r| r.next_attempt_at)
            .min();
    }
    (work, wake)
}

/// How long to wait before try number `attempts + 1`: exponential from half a second up to
/// `max`, with ±25 % jitter so that a store's rows (and 5,000 stores) do not retry in step.
pub fn backoff(attempts: i64, jitter_seed: u64, max: Duration) -> Duration {
    let policy = crate::backoff::Backoff::new(
        Duration::from_millis(500),
        max.max(Duration::from_millis(100)),
    );
    let base = policy.nth(attempts.clamp(0, 20) as u32);
    crate::backoff::spread(base, jitter_seed, 250).max(Duration::from_millis(100))
}

/// How long a rate-limited platform is left alone.
pub fn rate_limit_pause(consecutive: u32) -> Duration {
    Duration::from_secs(1u64 << consecutive.min(6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(id: i64, kind: &str, order: &str, due: i64) -> OutboxRow {
        OutboxRow {
            id,
            sent_at: None,
            look: None,
            event_id: format!("e{id}"),
            kind: kind.into(),
            // Each kind as the store writes it.
            payload: match kind {
                "report" => json!({"v": 1, "type": "report", "caused_by": "c", "order_id": 1,
                    "platform": "jddj", "external_id": order, "from_state": "new",
                    "action": "confirm", "at": 0}),
                "fetch_order" => json!({"v": 1, "type": "fetch_order", "platform": "jddj",
                    "external_id": order, "at": 0}),
                "stock_level" => json!({"v": 1, "type": "stock_level", "platform": "jddj",
                    "sku": "W550", "level": 1, "at": 0}),
                _ => json!({"v": 1, "type": kind, "platform": "jddj", "at": 0}),
            },
            attempts: 0,
            next_attempt_at: Timestamp(due),
        }
    }

    #[test]
    fn reports_wait_behind_their_order_and_levels_go_in_batches() {
        let rows = vec![
            row(1, "report", "A", 500), // backing off
            row(2, "report", "A", 0),   // must wait behind 1
            row(3, "report", "B", 0),
            row(4, "stock_level", "", 0),
            row(5, "stock_level", "", 0),
            row(6, "stock_level", "", 0),
            row(7, "fetch_order", "C", 0),
            row(8, "stock_level", "", 900),
        ];
        let none = HashSet::new();
        let (work, wake) = next(&rows, &none, Timestamp(100), 2, Duration::ZERO);
        let ids: Vec<Vec<i64>> = work
            .iter()
            .map(|w| match w {
                Work::Order(r) | Work::FullSync(r) => vec![r.id],
                Work::Levels(rs) => rs.iter().map(|r| r.id).collect(),
            })
            .collect();
        assert_eq!(
            ids,
            vec![vec![3], vec![7], vec![4, 5], vec![6, 8]],
            "row 8 goes early with the due ones"
        );
        assert_eq!(wake, Some(Timestamp(500)));
        // Held back: levels queued at 0 wait 150 ms.
        let (work, wake) = next(
            &rows[3..6],
            &none,
            Timestamp(100),
            2,
            Duration::from_millis(150),
        );
        assert!(work.is_empty());
        assert_eq!(wake, Some(Timestamp(150)));
        // An order with a parked row sends nothing more.
        let parked: HashSet<String> = ["B".to_string()].into();
        let (work, _) = next(&rows[2..3], &parked, Timestamp(100), 2, Duration::ZERO);
        assert!(work.is_empty());
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let max = Duration::from_secs(300);
        assert_eq!(backoff(0, 250, max), Duration::from_millis(500));
        assert_eq!(backoff(3, 250, max), Duration::from_millis(4000));
        assert_eq!(backoff(40, 250, max), Duration::from_millis(300_000));
        assert_eq!(
            backoff(40, 250, Duration::from_secs(2)),
            Duration::from_millis(2000)
        );
        assert_eq!(backoff(1, 0, max), Duration::from_millis(750));
        assert_eq!(backoff(1, 500, max), Duration::from_millis(1250));
    }
}
