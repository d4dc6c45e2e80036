//! The scan log: every scan, good or refused, with who and where (below both the order writes and
//! the scan writes, which each log scans); and which picker holds which scanner.

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

/// Binds a scanner to a picker (a badge was scanned); the binding survives restarts.
pub(in crate::store) fn bind_scanner(
    tx: &Transaction<'_>,
    options: &crate::store::StoreOptions,
    scanner: &str,
    picker: &str,
) -> super::Out<()> {
    tx.prepare_cached(
        "INSERT INTO scanner_binding (scanner, picker, bound_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (scanner) DO UPDATE SET picker = excluded.picker,
             bound_at = excluded.bound_at",
    )?
    .execute(params![scanner, picker, options.clock.now().0])?;
    Ok(((), vec![]))
}
