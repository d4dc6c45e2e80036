//! The scan log: every scan, good or refused, with who and where (below both the order writes and
//! the scan writes, which each log scans).

use super::ScanLog;
use crate::store::StoreError;
use rusqlite::{Transaction, params};

/// Appends one scan to `pick_scan`.
pub(in crate::store) fn log_scan(tx: &Transaction<'_>, s: &ScanLog) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO pick_scan (order_id, line_no, code, result, qty, actor, scanner, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        s.order_id.map(|o| o.0),
        s.line_no,
        s.code,
        s.result,
        s.qty,
        s.actor,
        s.scanner,
        s.at.0
    ])?;
    Ok(())
}
