//! The rows of a day's numbers: a day's state changes found through their own partial index,
//! the whole state history of the orders they belong to, the lines of the orders picked that
//! day, and the open/close log. Plain reads; `model::report` computes.

use crate::model::report::{Change, DayRows, LineRow, OpenRow, OrderRow};
use crate::model::{OrderState, Platform, Timestamp, china_time};
use crate::store::StoreError;
use rusqlite::{Connection, params};

/// The state changes of every order changed that day (scans that leave the state as it was are
/// skipped), with the claim's picker.
pub const CHANGES_SQL: &str = "SELECT t.order_id, o.platform, o.day_seq, o.pick_deadline,
            t.from_state, t.to_state, t.at,
            CASE WHEN t.to_state = 'picking' THEN json_extract(t.event, '$.picker') END
     FROM order_transition t JOIN \"order\" o ON o.id = t.order_id
     WHERE t.order_id IN (SELECT order_id FROM order_transition
                          WHERE from_state IS NOT to_state AND at >= ?1 AND at < ?2)
       AND t.from_state IS NOT t.to_state
     ORDER BY t.order_id, t.id";

/// The lines of the orders picked that day.
pub const LINES_SQL: &str = "SELECT ol.order_id, ol.sku, ol.name, ol.qty, ol.picked, ol.short,
            k.unit = 'gram'
     FROM order_line ol JOIN sku k ON k.sku = ol.sku
     WHERE ol.order_id IN (SELECT order_id FROM order_transition
                           WHERE from_state IS NOT to_state AND to_state = 'picked'
                             AND at >= ?1 AND at < ?2)";

/// The open/close log of the day, and the last change before it per platform (the latest by
/// time: SQLite gives a bare column the values of the row `max` picked).
pub const OPEN_LOG_SQL: &str = "SELECT platform, open, automatic, at FROM platform_open_log
     WHERE at >= ?1 AND at < ?2
     UNION ALL
     SELECT platform, open, automatic, max(at) FROM platform_open_log WHERE at < ?1
     GROUP BY platform";

/// The rows of a business day (China time).
pub fn day_rows(conn: &Connection, day: i64) -> Result<DayRows, StoreError> {
    let (start, end) = (
        china_time::day_start(day).0,
        china_time::day_start(day + 1).0,
    );
    let mut rows = DayRows {
        day,
        ..DayRows::default()
    };
    let bad = |what: &str, v: &str| StoreError::Bug(format!("unknown {what} `{v}` in the history"));
    let mut stmt = conn.prepare_cached(CHANGES_SQL)?;
    let mut q = stmt.query(params![start, end])?;
    while let Some(r) = q.next()? {
        let id: i64 = r.get(0)?;
        let from: Option<String> = r.get(4)?;
        let to: String = r.get(5)?;
        let change = Change {
            from: match from {
                Some(f) => Some(f.parse::<OrderState>().map_err(|_| bad("state", &f))?),
                None => None,
            },
            to: to.parse::<OrderState>().map_err(|_| bad("state", &to))?,
            at: Timestamp(r.get(6)?),
            picker: r.get(7)?,
        };
        match rows.orders.last_mut() {
            Some(o) if o.id == id => o.changes.push(change),
            _ => {
                let platform: String = r.get(1)?;
                rows.orders.push(OrderRow {
                    id,
                    platform: platform
                        .parse::<Platform>()
                        .map_err(|_| bad("platform", &platform))?,
                    day_seq: r.get(2)?,
                    pick_deadline: Timestamp(r.get(3)?),
                    changes: vec![change],
                });
            }
        }
    }
    let mut stmt = conn.prepare_cached(LINES_SQL)?;
    rows.lines = stmt
        .query_map(params![start, end], |r| {
            Ok(LineRow {
                order_id: r.get(0)?,
                sku: r.get(1)?,
                name: r.get(2)?,
                qty: r.get(3)?,
                picked: r.get(4)?,
                short: r.get(5)?,
                weighed: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(OPEN_LOG_SQL)?;
    let log = stmt.query_map(params![start, end], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in log {
        let (p, open, automatic, at) = row?;
        rows.open_log.push(OpenRow {
            platform: p.parse().map_err(|_| bad("platform", &p))?,
            open,
            automatic,
            at: Timestamp(at),
        });
    }
    Ok(rows)
}

/// The day's numbers as of `now`.
pub fn day_report(
    conn: &Connection,
    day: i64,
    now: Timestamp,
) -> Result<crate::model::report::DayReport, StoreError> {
    Ok(crate::model::report::compute(&day_rows(conn, day)?, now))
}
