//! The outbox as the workers and `status` see it: depth, pending rows, parked orders, polling
//! positions.

use crate::model::Timestamp;
use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// How much is waiting to leave for one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxDepth {
    /// `meituan`, `jddj` or `hq`.
    pub destination: String,
    /// Rows still to be delivered.
    pub pending: i64,
    /// Rows permanently refused, waiting for a person.
    pub parked: i64,
    /// When the oldest pending row was written.
    pub oldest_pending_at: Option<Timestamp>,
    /// The latest parked rows (at most five), with the platform's reason.
    #[serde(default)]
    pub parked_rows: Vec<ParkedRow>,
}

/// A row a destination refused for good, as `status` shows it to whoever must settle it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedRow {
    /// The row (what `flashpick outbox resolve` names).
    pub id: i64,
    /// `report`, `stock_level`, `fetch_order`, …
    pub kind: String,
    /// What the report did (`confirm`, `adjust`, `pick_complete`, `cancel`), for reports.
    pub action: Option<String>,
    /// The platform's order id, for rows about an order.
    pub order: Option<String>,
    /// The platform's answer.
    pub reason: String,
    /// When the row was queued.
    pub queued_at: Timestamp,
}

/// Outbox depth per destination.
pub fn outbox_depth(conn: &Connection) -> Result<Vec<OutboxDepth>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT destination,
                SUM(state = 'pending'), SUM(state = 'parked'),
                MIN(CASE WHEN state = 'pending' THEN created_at END)
         FROM outbox WHERE state != 'done' GROUP BY destination ORDER BY destination",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(OutboxDepth {
            destination: r.get(0)?,
            pending: r.get(1)?,
            parked: r.get(2)?,
            oldest_pending_at: r.get::<_, Option<i64>>(3)?.map(Timestamp),
            parked_rows: Vec::new(),
        })
    })?;
    let mut depths: Vec<OutboxDepth> = rows.collect::<Result<_, _>>()?;
    let mut latest = conn.prepare_cached(
        "SELECT kind, json_extract(payload, '$.action'), json_extract(payload, '$.external_id'),
                COALESCE(last_error, ''), created_at, id
         FROM outbox WHERE destination = ?1 AND state = 'parked' ORDER BY id DESC LIMIT 5",
    )?;
    for d in depths.iter_mut().filter(|d| d.parked > 0) {
        d.parked_rows = latest
            .query_map([&d.destination], |r| {
                Ok(ParkedRow {
                    id: r.get(5)?,
                    kind: r.get(0)?,
                    action: r.get(1)?,
                    order: r.get(2)?,
                    reason: r.get(3)?,
                    queued_at: Timestamp(r.get(4)?),
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(depths)
}

/// A pending outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Row id (delivery order).
    pub id: i64,
    /// Its event id; changes when a coalesced row is overwritten by a newer value.
    pub event_id: String,
    /// `report`, `stock_level`, `stock_full_sync`, `fetch_order`, …
    pub kind: String,
    /// What to send.
    pub payload: serde_json::Value,
    /// Tries so far.
    pub attempts: i64,
    /// Not before.
    pub next_attempt_at: Timestamp,
    /// A change the platform may not dedupe, sent (or about to be) at this time without an
    /// answer yet: look at the platform before sending again.
    pub sent_at: Option<Timestamp>,
    /// What the platform showed before the first send, to compare with after.
    pub look: Option<serde_json::Value>,
}

/// Pending rows for one destination, in delivery order.
pub fn pending_outbox(
    conn: &Connection,
    destination: &str,
    limit: usize,
) -> Result<Vec<OutboxRow>, StoreError> {
    pending_outbox_after(conn, destination, 0, limit)
}

/// Pending rows for one destination after row `after`, in delivery order (the HQ link reads
/// on from what it already has in flight).
pub fn pending_outbox_after(
    conn: &Connection,
    destination: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<OutboxRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, event_id, kind, payload, attempts, next_attempt_at, sent_at, look FROM outbox
         WHERE destination = ?1 AND state = 'pending' AND id > ?3 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![destination, limit as i64, after], |r| {
        let payload: String = r.get(3)?;
        Ok(OutboxRow {
            id: r.get(0)?,
            event_id: r.get(1)?,
            kind: r.get(2)?,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            attempts: r.get(4)?,
            next_attempt_at: Timestamp(r.get(5)?),
            sent_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
            look: r
                .get::<_, Option<String>>(7)?
                .and_then(|l| serde_json::from_str(&l).ok()),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A value remembered by the platform channels (last polled day sequence, …).
pub fn sync_state(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM sync_state WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Orders of a destination with a parked report: nothing more of theirs is sent until a person
/// has looked (a refused adjustment must not be followed by "pick complete").
pub fn parked_orders(
    conn: &Connection,
    destination: &str,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT json_extract(payload, '$.external_id') FROM outbox
         WHERE destination = ?1 AND state = 'parked' AND kind IN ('report', 'fetch_order')",
    )?;
    let rows = stmt.query_map([destination], |r| r.get::<_, Option<String>>(0))?;
    let mut out = std::collections::HashSet::new();
    for r in rows {
        if let Some(id) = r? {
            out.insert(id);
        }
    }
    Ok(out)
}
