//! Queries. They take any connection (a reader, or the writer inside its transaction).

use super::StoreError;
use crate::model::{
    Fen, Order, OrderId, OrderLine, OrderState, Platform, SkuCode, StockFigures, Timestamp, Unit,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

const ORDER_COLUMNS: &str = "id, platform, external_id, day_seq, state, picker, return_pending, \
    bags, cancel_reason, placed_at, pick_deadline, pickup_code, remark, unknown_items";

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
    })
}

fn load_lines(conn: &Connection, order: &mut Order) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT line_no, sku, name, qty, picked, short, short_reason, unit_price_fen, weighed_g
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

/// A sku's figures as one platform sees them (the platform's own safety stock, falling back to the
/// sku's, then to `default_safety`). Orders relayed by HQ carry no safety buffer.
pub fn stock_figures(
    conn: &Connection,
    sku: &SkuCode,
    platform: Platform,
    default_safety: i64,
) -> Result<StockFigures, StoreError> {
    Ok(selling_view(conn, sku)?.figures(platform, default_safety))
}

/// Everything about one item, as shown on the stock screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuInfo {
    /// Store code.
    pub sku: SkuCode,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Specification (规格), e.g. 500ml.
    pub spec: Option<String>,
    /// Pieces or grams.
    pub unit: Unit,
    /// Shelf location.
    pub location: String,
    /// Position on the pick walk.
    pub walk_seq: i64,
    /// Shelf price.
    pub price: Option<Fen>,
    /// The sku's own safety stock.
    pub safety_stock: Option<i64>,
    /// Every barcode that maps to it.
    pub barcodes: Vec<String>,
    /// The item code on scale labels.
    pub plu: Option<String>,
    /// Weighed goods: the grams of one portion as the platforms sell it.
    #[serde(default)]
    pub sale_unit_g: Option<i64>,
    /// On the shelf.
    pub on_hand: i64,
    /// Held for open orders.
    pub reserved: i64,
}

const SKU_COLUMNS: &str = "k.sku, k.name, k.name_en, k.spec, k.unit, k.location, k.walk_seq, \
    k.price_fen, k.safety_stock, CAST(COALESCE(s.on_hand, 0) AS INTEGER), \
    CAST(COALESCE(s.reserved, 0) AS INTEGER), k.plu, \
    k.sale_unit_g";

fn sku_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SkuInfo> {
    let unit: String = r.get(4)?;
    Ok(SkuInfo {
        sku: SkuCode(r.get(0)?),
        name: r.get(1)?,
        name_en: r.get(2)?,
        spec: r.get(3)?,
        unit: unit.parse().unwrap_or_default(),
        location: r.get(5)?,
        walk_seq: r.get(6)?,
        price: r.get::<_, Option<i64>>(7)?.map(Fen),
        safety_stock: r.get(8)?,
        barcodes: Vec::new(),
        on_hand: r.get(9)?,
        reserved: r.get(10)?,
        plu: r.get(11)?,
        sale_unit_g: r.get(12)?,
    })
}

/// The sku a scanned or typed code stands for: a barcode first, then a store code.
pub fn sku_by_code(conn: &Connection, code: &str) -> Result<Option<SkuCode>, StoreError> {
    let by_barcode = conn
        .prepare_cached("SELECT sku FROM barcode WHERE code = ?1")?
        .query_row([code], |r| r.get(0).map(SkuCode))
        .optional()?;
    if by_barcode.is_some() {
        return Ok(by_barcode);
    }
    Ok(conn
        .prepare_cached("SELECT sku FROM sku WHERE sku = ?1")?
        .query_row([code], |r| r.get(0).map(SkuCode))
        .optional()?)
}

/// Items matching `query`: an exact code or barcode, else a substring of the Chinese or English
/// name or of the code. At most `limit`, exact matches first.
pub fn lookup_skus(
    conn: &Connection,
    query: &str,
    limit: usize,
) -> Result<Vec<SkuInfo>, StoreError> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if let Some(sku) = sku_by_code(conn, query)? {
        out.extend(sku_info(conn, &sku)?);
    }
    let pattern = format!("%{}%", query.replace(['%', '_'], ""));
    let sql = format!(
        "SELECT {SKU_COLUMNS} FROM sku k LEFT JOIN stock s ON s.sku = k.sku
         WHERE k.name LIKE ?1 OR k.name_en LIKE ?1 OR k.sku LIKE ?1
         ORDER BY k.walk_seq, k.sku LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    for info in stmt.query_map(params![pattern, limit as i64], sku_from_row)? {
        let info = info?;
        if out.len() < limit && !out.iter().any(|o: &SkuInfo| o.sku == info.sku) {
            out.push(info);
        }
    }
    for info in &mut out {
        info.barcodes = barcodes(conn, &info.sku)?;
    }
    Ok(out)
}

/// One item by store code.
pub fn sku_info(conn: &Connection, sku: &SkuCode) -> Result<Option<SkuInfo>, StoreError> {
    let sql = format!(
        "SELECT {SKU_COLUMNS} FROM sku k LEFT JOIN stock s ON s.sku = k.sku WHERE k.sku = ?1"
    );
    let info = conn
        .prepare_cached(&sql)?
        .query_row([&sku.0], sku_from_row)
        .optional()?;
    match info {
        Some(mut i) => {
            i.barcodes = barcodes(conn, sku)?;
            Ok(Some(i))
        }
        None => Ok(None),
    }
}

fn barcodes(conn: &Connection, sku: &SkuCode) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT code FROM barcode WHERE sku = ?1 ORDER BY code")?;
    let codes = stmt.query_map([&sku.0], |r| r.get(0))?;
    Ok(codes.collect::<Result<_, _>>()?)
}

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
                COALESCE(last_error, ''), created_at
         FROM outbox WHERE destination = ?1 AND state = 'parked' ORDER BY id DESC LIMIT 5",
    )?;
    for d in depths.iter_mut().filter(|d| d.parked > 0) {
        d.parked_rows = latest
            .query_map([&d.destination], |r| {
                Ok(ParkedRow {
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

/// The store's two stock invariants, checked over the whole database.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Invariants {
    /// Skus whose `on_hand` differs from the sum of their ledger: (sku, on_hand, ledger sum).
    pub ledger: Vec<(String, i64, i64)>,
    /// Skus whose `reserved` differs from what open orders still have to pick: (sku, reserved, open).
    pub reserved: Vec<(String, i64, i64)>,
}

impl Invariants {
    /// Both hold for every sku.
    pub fn hold(&self) -> bool {
        self.ledger.is_empty() && self.reserved.is_empty()
    }
}

/// Checks `on_hand == Σ stock_move.delta` and `reserved == Σ unpicked of open orders` for every sku.
pub fn check_invariants(conn: &Connection) -> Result<Invariants, StoreError> {
    // Both queries must see the same snapshot, or a commit between them looks like a violation.
    let own_tx = conn.is_autocommit();
    if own_tx {
        conn.execute_batch("BEGIN DEFERRED")?;
    }
    let result = invariants_in(conn);
    if own_tx {
        conn.execute_batch("ROLLBACK")?;
    }
    result
}

fn invariants_in(conn: &Connection) -> Result<Invariants, StoreError> {
    let collect = |sql: &str| -> Result<Vec<(String, i64, i64)>, StoreError> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    Ok(Invariants {
        ledger: collect(
            "SELECT k.sku, COALESCE(s.on_hand, 0) AS oh,
                    COALESCE((SELECT SUM(delta) FROM stock_move m WHERE m.sku = k.sku), 0) AS led
             FROM sku k LEFT JOIN stock s ON s.sku = k.sku WHERE oh != led",
        )?,
        reserved: collect(
            "SELECT k.sku, COALESCE(s.reserved, 0) AS res,
                    COALESCE((SELECT SUM(l.qty - l.picked - l.short) FROM order_line l
                              JOIN \"order\" o ON o.id = l.order_id
                              WHERE l.sku = k.sku AND o.state IN ('accepted', 'picking')), 0) AS open
             FROM sku k LEFT JOIN stock s ON s.sku = k.sku WHERE res != open",
        )?,
    })
}

/// The sku a decoded scan stands for: a scale label by its PLU, a GTIN in whichever length the
/// catalog holds it, else the raw text as a barcode or store code.
pub fn sku_for_scan(
    conn: &Connection,
    decoded: Option<&crate::model::barcode::Decoded>,
    raw: &str,
) -> Result<Option<SkuCode>, StoreError> {
    use crate::model::barcode::{CodeKind, gtin};
    if let Some(d) = decoded {
        if d.kind == Some(CodeKind::Scale) {
            let plu = d.plu.as_deref().unwrap_or_default();
            return Ok(conn
                .prepare_cached("SELECT sku FROM sku WHERE plu = ?1")?
                .query_row([plu], |r| r.get(0).map(SkuCode))
                .optional()?);
        }
        if let Some(g) = &d.gtin {
            let mut forms = gtin::lookup_forms(g);
            forms.push(d.data.clone());
            forms.resize(5, g.clone());
            let found = conn
                .prepare_cached(
                    "SELECT sku FROM barcode WHERE code IN (?1, ?2, ?3, ?4, ?5) LIMIT 1",
                )?
                .query_row(
                    params![forms[0], forms[1], forms[2], forms[3], forms[4]],
                    |r| r.get(0).map(SkuCode),
                )
                .optional()?;
            if found.is_some() {
                return Ok(found);
            }
        }
    }
    sku_by_code(conn, raw)
}

/// Scanner → picker bindings made by scanning badges.
pub fn scanner_bindings(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT scanner, picker FROM scanner_binding")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
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

/// The picker a badge code stands for: the picker table's id when the badge is registered, else
/// the badge code itself.
pub fn picker_for_badge(conn: &Connection, badge: &str) -> Result<String, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM picker WHERE badge = ?1")?
        .query_row([badge], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| badge.to_string()))
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
        "SELECT id, event_id, kind, payload, attempts, next_attempt_at FROM outbox
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
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The level every sku should show on `platform` now (for a full stock sync), in the platform's
/// sale units (see `StockFigures::platform_level`), by the code the platform knows it under.
pub fn all_levels(
    conn: &Connection,
    platform: Platform,
    default_safety: i64,
) -> Result<Vec<PlatformLevel>, StoreError> {
    // Under the platform's own codes for the sku when it has any (learned from its orders),
    // else under the sku.
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(m.platform_sku_id, k.sku), COALESCE(s.on_hand, 0), COALESCE(s.reserved, 0),
                COALESCE((SELECT ps.safety_stock FROM platform_sku ps
                            WHERE ps.sku = k.sku AND ps.platform = ?1
                              AND ps.safety_stock IS NOT NULL LIMIT 1),
                           k.safety_stock, ?2)
                , k.unit, k.sale_unit_g, m.item_id
         FROM sku k LEFT JOIN stock s ON s.sku = k.sku
              LEFT JOIN platform_sku m ON m.sku = k.sku AND m.platform = ?1
         ORDER BY 1",
    )?;
    let rows = stmt.query_map(params![platform.as_str(), default_safety], |r| {
        // The arithmetic is done here, checked, rather than in SQL, where an overflow would
        // turn into a REAL; a figure that is not a whole number (a database from before the
        // stock triggers) publishes 0.
        let whole = |i| -> rusqlite::Result<Option<i64>> {
            Ok(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Integer(n) => Some(n),
                _ => None,
            })
        };
        let figures = match (whole(1)?, whole(2)?, whole(3)?) {
            (Some(on_hand), Some(reserved), Some(safety)) => StockFigures {
                on_hand,
                reserved,
                safety,
            },
            _ => StockFigures {
                on_hand: 0,
                reserved: 0,
                safety: 0,
            },
        };
        let unit: Unit = r.get::<_, String>(4)?.parse().unwrap_or_default();
        Ok(PlatformLevel {
            code: r.get(0)?,
            item: r.get(6)?,
            level: figures.platform_level(unit, r.get(5)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A level as a platform is told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformLevel {
    /// The code the platform knows the item by (the sku unless it sells it under its own).
    pub code: String,
    /// The platform's own item id, when learned from its orders (Meituan's `sku_id`).
    pub item: Option<String>,
    /// Units it may sell, in its sale units.
    pub level: i64,
}

/// What every selling platform should be told about one sku, read at once (see
/// [`selling_view`]).
#[derive(Debug, Clone)]
pub struct SellingView {
    on_hand: i64,
    reserved: i64,
    own_safety: Option<i64>,
    /// The sku's unit.
    pub unit: Unit,
    /// Grams of one portion, for weighed goods.
    pub sale_unit_g: Option<i64>,
    /// (platform, code, item id, safety stock) from `platform_sku`.
    mapped: Vec<(String, String, Option<String>, Option<i64>)>,
}

impl SellingView {
    /// The figures `platform` sees: its own safety stock, else the sku's, else `default_safety`;
    /// none for orders relayed by HQ.
    pub fn figures(&self, platform: Platform, default_safety: i64) -> StockFigures {
        let p = platform.as_str();
        let override_safety = self
            .mapped
            .iter()
            .find(|m| m.0 == p && m.3.is_some())
            .and_then(|m| m.3);
        let safety = if platform == Platform::Hq {
            0
        } else {
            override_safety
                .or(self.own_safety)
                .unwrap_or(default_safety)
        };
        StockFigures {
            on_hand: self.on_hand,
            reserved: self.reserved,
            safety,
        }
    }

    /// The codes (and item ids) `platform` knows the sku by, learned from its orders; empty:
    /// the sku.
    pub fn codes(&self, platform: Platform) -> Vec<(String, Option<String>)> {
        let p = platform.as_str();
        self.mapped
            .iter()
            .filter(|m| m.0 == p)
            .map(|m| (m.1.clone(), m.2.clone()))
            .collect()
    }
}

/// A sku's figures, unit and platform codes for every platform, in two plain reads (one query
/// with a correlated subquery was re-prepared on every call under the bundled SQLite's STAT4: ten
/// times the cost).
pub fn selling_view(conn: &Connection, sku: &SkuCode) -> Result<SellingView, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT CAST(COALESCE(s.on_hand, 0) AS INTEGER), CAST(COALESCE(s.reserved, 0) AS INTEGER),
                    k.safety_stock, k.unit,
                    k.sale_unit_g
             FROM sku k LEFT JOIN stock s ON s.sku = k.sku WHERE k.sku = ?1",
        )?
        .query_row([&sku.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()?;
    let (on_hand, reserved, own_safety, unit, sale_unit_g) =
        row.ok_or_else(|| StoreError::NoSuchSku(sku.clone()))?;
    let mapped = conn
        .prepare_cached(
            "SELECT platform, platform_sku_id, item_id, safety_stock FROM platform_sku
             WHERE sku = ?1 ORDER BY platform, platform_sku_id",
        )?
        .query_map([&sku.0], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(SellingView {
        on_hand,
        reserved,
        own_safety,
        unit: unit.parse().unwrap_or_default(),
        sale_unit_g,
        mapped,
    })
}

/// Weighed skus without their portion size (imported before it existed): how many, and one.
pub fn weighed_without_portion(conn: &Connection) -> Result<(i64, Option<String>), StoreError> {
    Ok(conn.query_row(
        "SELECT count(*), min(sku) FROM sku WHERE unit = 'gram' AND sale_unit_g IS NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// How a sku is sold on the platforms: its unit and, for weighed goods, the grams of a portion.
pub fn sale_unit(conn: &Connection, sku: &SkuCode) -> Result<(Unit, Option<i64>), StoreError> {
    let row = conn
        .prepare_cached("SELECT unit, sale_unit_g FROM sku WHERE sku = ?1")?
        .query_row([&sku.0], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })
        .optional()?;
    let (unit, g) = row.ok_or_else(|| StoreError::NoSuchSku(sku.clone()))?;
    Ok((unit.parse().unwrap_or_default(), g))
}

/// The sku an item of a platform's order is: the merchant code when it is one of ours, else its
/// barcode (the catalog's current truth, even after a code was learned for another item), else a
/// code learned from earlier orders (`platform_sku`), for items sent without a barcode.
pub fn resolve_item(
    conn: &Connection,
    platform: Platform,
    merchant_code: Option<&str>,
    upc: Option<&str>,
) -> Result<Option<SkuCode>, StoreError> {
    let code = merchant_code.filter(|c| !c.is_empty());
    if let Some(code) = code {
        let own = conn
            .prepare_cached("SELECT sku FROM sku WHERE sku = ?1")?
            .query_row([code], |r| r.get(0).map(SkuCode))
            .optional()?;
        if own.is_some() {
            return Ok(own);
        }
    }
    if let Some(upc) = upc.filter(|u| !u.is_empty()) {
        let decoded = crate::model::barcode::decode(upc, &Default::default()).ok();
        if let Some(sku) = sku_for_scan(conn, decoded.as_ref(), upc)? {
            return Ok(Some(sku));
        }
    }
    match code {
        Some(code) => Ok(conn
            .prepare_cached(
                "SELECT sku FROM platform_sku WHERE platform = ?1 AND platform_sku_id = ?2",
            )?
            .query_row(params![platform.as_str(), code], |r| r.get(0).map(SkuCode))
            .optional()?),
        None => Ok(None),
    }
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

/// When an order was last touched: its last transition or scan (unix ms).
pub fn last_touched(conn: &Connection, id: OrderId) -> Result<Timestamp, StoreError> {
    let at: i64 = conn
        .prepare_cached(
            "SELECT max(o.updated_at, COALESCE((SELECT max(at) FROM pick_scan WHERE order_id = o.id), 0))
             FROM \"order\" o WHERE o.id = ?1",
        )?
        .query_row([id.0], |r| r.get(0))
        .optional()?
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
             WHERE o.state = 'picking' AND o.updated_at <= ?1
               AND COALESCE((SELECT max(at) FROM pick_scan WHERE order_id = o.id), 0) <= ?1",
        )?
        .query_map([since.0], |r| {
            Ok((OrderId(r.get(0)?), r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
