//! Orders: one with its lines, lists for the screens, counts, walk order, claims left idle.

use crate::model::{
    Fen, Order, OrderId, OrderLine, OrderState, Platform, SkuCode, Timestamp, Unit,
};
use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

const ORDER_COLUMNS: &str = "id, platform, external_id, day_seq, state, picker, return_pending, \
    bags, cancel_reason, placed_at, pick_deadline, pickup_code, remark, unknown_items, delivery, \
    rider, reminded_at, batch_id, slot";

fn order_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Order> {
    let text = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let parse_err = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    Ok(Order {
        id: OrderId(r.get(0)?),
        platform: text(1)?.parse().map_err(|e| parse_err(1, format!("{e}")))?,
        external_id: r.get(2)?,
        day_seq: r.get(3)?,
        state: text(4)?.parse().map_err(|e| parse_err(4, e))?,
        picker: r.get(5)?,
        lines: Vec::new(),
        return_pending: r.get(6)?,
        bags: r.get(7)?,
        cancel_reason: r.get(8)?,
        placed_at: Timestamp(r.get(9)?),
        pick_deadline: Timestamp(r.get(10)?),
        pickup_code: r.get(11)?,
        remark: r.get(12)?,
        // Written by ingest from the same type; unreadable text is shown as nothing rather than
        // hiding the whole order.
        unknown_items: r
            .get::<_, Option<String>>(13)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        // The column's CHECK keeps it to the three names.
        delivery: r
            .get::<_, Option<String>>(14)?
            .and_then(|d| crate::model::Delivery::parse(&d)),
        // Written from the same type; unreadable is shown as no rider.
        rider: r
            .get::<_, Option<String>>(15)?
            .and_then(|t| serde_json::from_str(&t).ok()),
        reminded_at: r.get::<_, Option<i64>>(16)?.map(Timestamp),
        batch: match (
            r.get::<_, Option<i64>>(17)?,
            r.get::<_, Option<String>>(18)?,
        ) {
            (Some(batch), Some(slot)) => {
                Some(Box::new(crate::model::batch::BatchSlot { batch, slot }))
            }
            _ => None,
        },
    })
}

fn load_lines(conn: &Connection, order: &mut Order) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT line_no, sku, name, qty - refunded, picked, short, short_reason, unit_price_fen,
                weighed_g, put_back
         FROM order_line WHERE order_id = ?1 ORDER BY line_no",
    )?;
    let lines = stmt.query_map([order.id.0], |r| {
        let reason: Option<String> = r.get(6)?;
        Ok(OrderLine {
            line_no: r.get(0)?,
            sku: SkuCode(r.get(1)?),
            name: r.get(2)?,
            qty: r.get(3)?,
            picked: r.get(4)?,
            short: r.get(5)?,
            short_reason: reason.and_then(|s| s.parse().ok()),
            unit_price: Fen(r.get(7)?),
            weighed_g: r.get(8)?,
            put_back: r.get(9)?,
        })
    })?;
    order.lines = lines.collect::<Result<_, _>>()?;
    Ok(())
}

/// One order with its lines, or `None`.
pub fn load_order(conn: &Connection, id: OrderId) -> Result<Option<Order>, StoreError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM \"order\" WHERE id = ?1");
    let order = conn
        .prepare_cached(&sql)?
        .query_row([id.0], order_from_row)
        .optional()?;
    match order {
        Some(mut o) => {
            load_lines(conn, &mut o)?;
            Ok(Some(o))
        }
        None => Ok(None),
    }
}

/// The order a platform knows by `external_id`.
pub fn order_id_by_external(
    conn: &Connection,
    platform: Platform,
    external_id: &str,
) -> Result<Option<OrderId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM \"order\" WHERE platform = ?1 AND external_id = ?2")?
        .query_row(params![platform.as_str(), external_id], |r| {
            r.get(0).map(OrderId)
        })
        .optional()?)
}

/// Orders by pick deadline, most urgent first: the open ones, or the latest `limit` of all.
pub fn list_orders(
    conn: &Connection,
    open_only: bool,
    limit: usize,
) -> Result<Vec<Order>, StoreError> {
    let filter = if open_only {
        "WHERE state NOT IN ('handed_over', 'cancelled') OR return_pending = 1"
    } else {
        ""
    };
    // The open orders are few; of all orders, the latest are the ones anybody looks for.
    let sql = if open_only {
        format!(
            "SELECT {ORDER_COLUMNS} FROM \"order\" {filter} ORDER BY pick_deadline, id LIMIT ?1"
        )
    } else {
        format!(
            "SELECT * FROM (SELECT {ORDER_COLUMNS} FROM \"order\" ORDER BY id DESC LIMIT ?1)
             ORDER BY pick_deadline, id"
        )
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut orders: Vec<Order> = stmt
        .query_map([limit as i64], order_from_row)?
        .collect::<Result<_, _>>()?;
    for o in &mut orders {
        load_lines(conn, o)?;
    }
    Ok(orders)
}

/// Counts of orders per state (open ones and today's totals for the status screen).
pub fn order_counts(conn: &Connection) -> Result<Vec<(OrderState, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT state, COUNT(*) FROM \"order\" GROUP BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (state, n) = row?;
        if let Ok(s) = state.parse() {
            out.push((s, n));
        }
    }
    Ok(out)
}

/// The picker's order in picking (the latest claimed, should there be several).
pub fn current_order(conn: &Connection, picker: &str) -> Result<Option<Order>, StoreError> {
    match current_order_id(conn, picker)? {
        Some(id) => load_order(conn, id),
        None => Ok(None),
    }
}

/// The id of [`current_order`], without loading the order.
pub fn current_order_id(conn: &Connection, picker: &str) -> Result<Option<OrderId>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM \"order\" WHERE state = 'picking' AND picker = ?1
             ORDER BY updated_at DESC, id DESC LIMIT 1",
        )?
        .query_row([picker], |r| r.get(0).map(OrderId))
        .optional()?)
}

/// Where a line's item is on the shelves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineWalk {
    /// Line.
    pub line_no: u32,
    /// Shelf location.
    pub location: String,
    /// Walk position.
    pub walk_seq: i64,
    /// Pieces or grams.
    pub unit: Unit,
    /// Specification.
    pub spec: Option<String>,
}

/// Where each line's item is, in shelf walk order.
pub fn walk(conn: &Connection, order: &Order) -> Result<Vec<LineWalk>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT location, walk_seq, unit, spec FROM sku WHERE sku = ?1")?;
    let mut walk = Vec::with_capacity(order.lines.len());
    for l in &order.lines {
        let w = stmt.query_row(params![l.sku.0], |r| {
            let unit: String = r.get(2)?;
            Ok(LineWalk {
                line_no: l.line_no,
                location: r.get(0)?,
                walk_seq: r.get(1)?,
                unit: unit.parse().unwrap_or_default(),
                spec: r.get(3)?,
            })
        })?;
        walk.push(w);
    }
    walk.sort_by(|a, b| {
        (a.walk_seq, &a.location, a.line_no).cmp(&(b.walk_seq, &b.location, b.line_no))
    });
    Ok(walk)
}

/// When an order was last touched: its last transition or scan (unix ms).
pub fn last_touched(conn: &Connection, id: OrderId) -> Result<Timestamp, StoreError> {
    // An order of a batch is touched when any order of its batch is: a scan goes to one of
    // them, the picker is working on all.
    let at: i64 = conn
        .prepare_cached(
            "SELECT max(max(b.updated_at), COALESCE(max((SELECT max(at) FROM pick_scan WHERE order_id = b.id)), 0))
             FROM \"order\" o JOIN \"order\" b
               ON b.id = o.id OR (o.batch_id IS NOT NULL AND b.batch_id = o.batch_id)
             WHERE o.id = ?1",
        )?
        .query_row([id.0], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .unwrap_or(0);
    Ok(Timestamp(at))
}

/// Orders in picking untouched (no transition, no scan) since `since`: (id, day number, picker).
pub fn idle_claims(
    conn: &Connection,
    since: Timestamp,
) -> Result<Vec<(OrderId, u32, String)>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT o.id, o.day_seq, COALESCE(o.picker, '') FROM \"order\" o
             WHERE o.state = 'picking' AND NOT EXISTS (
               SELECT 1 FROM \"order\" b
               WHERE (b.id = o.id OR (o.batch_id IS NOT NULL AND b.batch_id = o.batch_id))
                 AND (b.updated_at > ?1
                      OR EXISTS (SELECT 1 FROM pick_scan s WHERE s.order_id = b.id AND s.at > ?1)))",
        )?
        .query_map([since.0], |r| {
            Ok((OrderId(r.get(0)?), r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
