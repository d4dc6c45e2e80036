//! Outbox rows: written in the same transaction as the change that causes them, typed by
//! destination and kind (`store::payload`).

use super::super::StoreError;
use super::super::payload::{HqPayload, PlatformPayload};
use crate::model::{EventId, Platform, Timestamp};
use rusqlite::{Transaction, params};
use serde_json::json;

/// Queues a row for the payload's platform, under a fresh event id.
pub(in crate::store) fn platform_row(
    tx: &Transaction<'_>,
    platform: Platform,
    coalesce_key: Option<&str>,
    payload: &PlatformPayload,
    now: Timestamp,
) -> Result<(), StoreError> {
    let value = serde_json::to_value(payload).expect("payloads serialise");
    insert(
        tx,
        &EventId::new(),
        platform.as_str(),
        payload.kind(),
        coalesce_key,
        value,
        now,
    )
}

/// Queues an event for HQ under `event_id`.
pub(in crate::store) fn hq_row(
    tx: &Transaction<'_>,
    event_id: &EventId,
    payload: &HqPayload,
    now: Timestamp,
) -> Result<(), StoreError> {
    let value = serde_json::to_value(payload).expect("payloads serialise");
    insert(tx, event_id, "hq", payload.kind(), None, value, now)
}

fn insert(
    tx: &Transaction<'_>,
    event_id: &EventId,
    destination: &str,
    kind: &str,
    coalesce_key: Option<&str>,
    mut payload: serde_json::Value,
    now: Timestamp,
) -> Result<(), StoreError> {
    if let Some(obj) = payload.as_object_mut() {
        obj.insert("event_id".into(), json!(event_id.0));
    }
    tx.prepare_cached(
        "INSERT INTO outbox (event_id, destination, kind, coalesce_key, payload, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (coalesce_key) WHERE state = 'pending' AND coalesce_key IS NOT NULL
         DO UPDATE SET event_id = excluded.event_id, payload = excluded.payload,
                       created_at = excluded.created_at",
    )?
    .execute(params![event_id.0, destination, kind, coalesce_key, payload.to_string(), now.0])?;
    Ok(())
}
