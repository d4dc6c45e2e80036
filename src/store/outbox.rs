//! Writes made by the delivery side: settling outbox rows after a platform answered, queueing an
//! order fetch for a push that carried only an id, remembering polling positions.

use super::{StoreError, StoreEvent};
use crate::model::{EventId, Platform, Timestamp};
use rusqlite::{OptionalExtension, Transaction, params};

/// What became of outbox rows that were sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// The platform took them: never send again.
    Done,
    /// Send again at `next_at`; `error` is shown in status.
    Retry {
        /// Not before.
        next_at: Timestamp,
        /// Why the last try failed.
        error: String,
    },
    /// The platform will never take them: keep them for a person, with the platform's reason.
    Park {
        /// Why.
        reason: String,
    },
}

/// Settles rows given as (id, event_id). A row whose event id changed since it was read was
/// overwritten by a newer coalesced value while in flight: it stays pending, so the newer value
/// still goes out.
pub(super) fn settle(
    tx: &Transaction<'_>,
    rows: &[(i64, String)],
    settle: &Settle,
    now: Timestamp,
) -> Result<(usize, Vec<StoreEvent>), StoreError> {
    let mut changed = 0;
    for (id, event_id) in rows {
        changed += match settle {
            Settle::Done => tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'done', done_at = ?3, attempts = attempts + 1
                     WHERE id = ?1 AND event_id = ?2 AND state = 'pending'",
                )?
                .execute(params![id, event_id, now.0])?,
            // A retry keeps the row whatever its event id: a newer coalesced value goes out then.
            Settle::Retry { next_at, error } => tx
                .prepare_cached(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
                     WHERE id = ?1 AND state = 'pending'",
                )?
                .execute(params![id, next_at.0, error])?,
            Settle::Park { reason } => tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ?3
                     WHERE id = ?1 AND event_id = ?2 AND state = 'pending'",
                )?
                .execute(params![id, event_id, reason])?,
        };
    }
    Ok((changed, vec![]))
}

/// A JD push named an order: remember the push (dedupe) and, when the order is new to us, queue
/// one fetch of its details. Returns whether a fetch was queued.
pub(super) fn enqueue_fetch(
    tx: &Transaction<'_>,
    source: &str,
    message_id: &str,
    platform: Platform,
    external_id: &str,
    now: Timestamp,
) -> Result<(bool, Vec<StoreEvent>), StoreError> {
    let fresh = tx
        .prepare_cached(
            "INSERT INTO inbox (source, message_id, received_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![source, message_id, now.0])?
        == 1;
    if !fresh || super::read::order_id_by_external(tx, platform, external_id)?.is_some() {
        return Ok((false, vec![]));
    }
    let event_id = EventId::new();
    let key = format!("fetch:{}:{external_id}", platform.as_str());
    let payload = serde_json::to_value(crate::store::payload::PlatformPayload::FetchOrder(
        crate::store::payload::FetchPayload {
            v: 1,
            platform,
            external_id: external_id.into(),
            at: now.0,
            event_id: event_id.0.clone(),
        },
    ))
    .expect("payloads serialise");
    // Coalesced: however many pushes name the order before it is fetched, one fetch goes out.
    let n = tx
        .prepare_cached(
            "INSERT INTO outbox (event_id, destination, kind, coalesce_key, payload, next_attempt_at, created_at)
             VALUES (?1, ?2, 'fetch_order', ?3, ?4, ?5, ?5)
             ON CONFLICT (coalesce_key) WHERE state = 'pending' AND coalesce_key IS NOT NULL DO NOTHING",
        )?
        .execute(params![event_id.0, platform.as_str(), key, payload.to_string(), now.0])?;
    Ok((n == 1, vec![StoreEvent::OutboxChanged]))
}

/// Records a message refused for good (acknowledged, never taken) in the inbox with the reason.
/// Returns whether it was new.
pub(super) fn refuse_message(
    tx: &Transaction<'_>,
    source: &str,
    message_id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<(bool, Vec<StoreEvent>), StoreError> {
    let fresh = tx
        .prepare_cached(
            "INSERT INTO inbox (source, message_id, received_at, refused)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?
        .execute(params![source, message_id, now.0, reason])?
        == 1;
    Ok((fresh, vec![]))
}

/// Remembers a polling position.
pub(in crate::store) fn set_sync_state(
    tx: &Transaction<'_>,
    key: &str,
    value: &str,
) -> Result<((), Vec<StoreEvent>), StoreError> {
    tx.prepare_cached(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(((), vec![]))
}

/// Forgets a remembered value (a mark lifted).
pub(in crate::store) fn forget_sync_state(
    tx: &Transaction<'_>,
    key: &str,
) -> Result<((), Vec<StoreEvent>), StoreError> {
    tx.prepare_cached("DELETE FROM sync_state WHERE key = ?1")?
        .execute(params![key])?;
    Ok(((), vec![]))
}

/// Marks a row about to be sent (a change the platform may not dedupe): the time, and what the
/// platform showed before the first send. Committed before the request leaves, so a crash
/// mid-send leaves a row that is looked up, not sent again blindly.
pub(super) fn mark_sending(
    tx: &Transaction<'_>,
    id: i64,
    look: &serde_json::Value,
    now: Timestamp,
) -> Result<(usize, Vec<StoreEvent>), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE outbox SET sent_at = ?2, look = COALESCE(look, ?3)
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id, now.0, look.to_string()])?;
    Ok((n, vec![]))
}

/// A manager settles a parked row by hand, recorded with who and when: `done` (the change is at
/// the platform, or needs nothing more) or sent again from scratch (what the platform showed
/// before is looked at afresh). Returns the row's new state; refused for a row not parked.
pub(super) fn resolve_parked(
    tx: &Transaction<'_>,
    id: i64,
    resend: bool,
    by: &str,
    now: Timestamp,
) -> Result<(&'static str, Vec<StoreEvent>), StoreError> {
    let state: Option<String> = tx
        .prepare_cached("SELECT state FROM outbox WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    match state.as_deref() {
        Some("parked") => {}
        Some(other) => {
            return Err(StoreError::NotParked(format!(
                "outbox row {id} is {other}, not parked: nothing to resolve"
            )));
        }
        None => return Err(StoreError::NotParked(format!("no outbox row {id}"))),
    }
    let sql = if resend {
        "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, attempts = 0, sent_at = NULL,
             look = NULL, last_error = NULL, resolved_by = ?3, resolved_at = ?2 WHERE id = ?1"
    } else {
        "UPDATE outbox SET state = 'done', done_at = ?2, resolved_by = ?3, resolved_at = ?2
         WHERE id = ?1"
    };
    tx.prepare_cached(sql)?.execute(params![id, now.0, by])?;
    // The workers hear of a row to send again at once, not at their next idle look.
    let events = if resend {
        vec![StoreEvent::OutboxChanged]
    } else {
        vec![]
    };
    Ok((if resend { "pending" } else { "done" }, events))
}
