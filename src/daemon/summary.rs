//! HQ's daily summary: at 00:05 China time the day before's numbers go to HQ, and at start-up
//! every day missed (the machine was off at 00:05) is caught up, up to a week back and never
//! before the store's first order. Followed by the store's clock, checked every second of real
//! time, so a clock moved by hand is followed at once; a day is queued once (the store remembers).

use super::Shared;
use crate::model::china_time;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Seconds after midnight (China time) the day before is summed up: late events of the day
/// (a hand-over at 23:59:59 told a moment later) are in by then.
pub const SUMMARY_AT_SECS: u32 = 5 * 60;

/// Days back a start-up catches up (a store off for longer sends the last week).
const CATCH_UP_DAYS: i64 = 7;

/// The days whose summary is due at `now`, oldest first: the week before yesterday, and
/// yesterday once it is 00:05.
pub fn due_days(now: crate::model::Timestamp) -> std::ops::Range<i64> {
    let today = china_time::day_number(now);
    let last = if china_time::civil_of(now).secs_of_day >= SUMMARY_AT_SECS {
        today
    } else {
        today - 1
    };
    today - CATCH_UP_DAYS..last
}

/// Queues each due day's summary, until shutdown.
pub(super) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut done_before: Option<i64> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let due = due_days(shared.clock.now());
        if done_before == Some(due.end) {
            continue;
        }
        let range = due.clone();
        let wanted = shared
            .store
            .read_async(move |c| {
                let Some(first) = crate::store::summary::first_day(c)? else {
                    return Ok(Vec::new());
                };
                let mut days = Vec::new();
                for day in range.start.max(first)..range.end {
                    if !crate::store::summary::sent(c, day)? {
                        days.push(day);
                    }
                }
                Ok(days)
            })
            .await;
        let days = match wanted {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell which daily summaries are due");
                continue;
            }
        };
        let mut all_went = true;
        for day in days {
            match shared.store.queue_day_summary(day).await {
                Ok(true) => tracing::info!(
                    day = %china_time::date(china_time::day_start(day)),
                    "the day's numbers are queued for HQ"
                ),
                Ok(false) => {}
                Err(e) => {
                    all_went = false;
                    tracing::warn!(error = %e, "cannot queue the daily summary for HQ");
                }
            }
        }
        if all_went {
            done_before = Some(due.end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yesterday_is_due_from_five_past_midnight_in_china() {
        let day = china_time::parse_day("2026-12-01").unwrap();
        let midnight = china_time::day_start(day);
        let before = due_days(crate::model::Timestamp(midnight.0 + 299_000));
        assert_eq!(before, day - 7..day - 1);
        let at = due_days(crate::model::Timestamp(midnight.0 + 300_000));
        assert_eq!(at, day - 7..day);
    }
}
