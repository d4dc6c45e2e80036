//! The floor: which picker holds which scanner, and whose badge is whose.

use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension};

/// Scanner → picker bindings made by scanning badges.
pub fn scanner_bindings(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT scanner, picker FROM scanner_binding")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The picker a badge code stands for: the picker table's id when the badge is registered, else
/// the badge code itself.
pub fn picker_for_badge(conn: &Connection, badge: &str) -> Result<String, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM picker WHERE badge = ?1")?
        .query_row([badge], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| badge.to_string()))
}
