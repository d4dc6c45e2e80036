//! Outbox rows: written in the same transaction as the change that causes them.

use super::super::StoreError;
use crate::model::{EventId, Timestamp};
use rusqlite::{Transaction, params};
use serde_json::json;

pub(super) fn outbox(
    tx: &Transaction<'_>,
    destination: &str,
    kind: &str,
    coalesce_key: Option<&str>,
    payload: serde_json::Value,
    now: Timestamp,
) -> Result<(), StoreError> {
    outbox_with_id(
        tx,
        &EventId::new(),
        destination,
        kind,
        coalesce_key,
        payload,
        now,
    )
}

pub(super) fn outbox_with_id(
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
