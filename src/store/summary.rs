//! HQ's daily summary: each business day's numbers, queued once for HQ (the `day_summary` table
//! remembers which days went, in the same transaction as the outbox row), from the first day
//! the store has any history.

use super::payload::{DaySummaryPayload, HqPayload};
use super::write::emit::hq_row;
use super::{StoreError, StoreEvent};
use crate::model::{EventId, Timestamp, china_time};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// The first business day with any order history (none: an empty store).
pub fn first_day(conn: &Connection) -> Result<Option<i64>, StoreError> {
    let at: Option<i64> = conn
        .query_row(
            "SELECT at FROM order_transition WHERE from_state IS NOT to_state ORDER BY at LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(at.map(|t| china_time::day_number(Timestamp(t))))
}

/// Whether the day's summary was queued already.
pub fn sent(conn: &Connection, day: i64) -> Result<bool, StoreError> {
    let date = china_time::date(china_time::day_start(day));
    Ok(conn
        .query_row("SELECT 1 FROM day_summary WHERE day = ?1", [date], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}

/// Queues the day's summary for HQ unless it went already: true when queued now.
pub(super) fn queue(
    tx: &Transaction<'_>,
    day: i64,
    now: Timestamp,
) -> Result<(bool, Vec<StoreEvent>), StoreError> {
    let date = china_time::date(china_time::day_start(day));
    let fresh = tx
        .prepare_cached("INSERT OR IGNORE INTO day_summary (day, queued_at) VALUES (?1, ?2)")?
        .execute(params![date, now.0])?
        == 1;
    if !fresh {
        return Ok((false, Vec::new()));
    }
    let report = super::report::day_report(tx, day, now)?;
    let event_id = EventId::new();
    let payload = HqPayload::DaySummary(DaySummaryPayload {
        v: 1,
        date,
        report,
        at: now.0,
        event_id: event_id.0.clone(),
    });
    hq_row(tx, &event_id, &payload, now)?;
    Ok((true, vec![StoreEvent::OutboxChanged]))
}
