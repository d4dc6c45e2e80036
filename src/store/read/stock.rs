//! Stock: one sku's figures, the levels every platform should show, the two invariants.

use crate::model::{Platform, SkuCode, StockFigures, Unit};
use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

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
                    COALESCE((SELECT SUM(l.qty - l.refunded - l.picked - l.short) FROM order_line l
                              JOIN \"order\" o ON o.id = l.order_id
                              WHERE l.sku = k.sku AND o.state IN ('accepted', 'picking')), 0) AS open
             FROM sku k LEFT JOIN stock s ON s.sku = k.sku WHERE res != open",
        )?,
    })
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
                , k.unit, k.sale_unit_g, m.item_id, k.sold_out_at IS NOT NULL
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
            // Marked sold out: 0, whatever the ledger says.
            level: if r.get::<_, bool>(7)? {
                0
            } else {
                figures.platform_level(unit, r.get(5)?)
            },
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
    /// Marked sold out: every platform is told 0.
    pub sold_out: bool,
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
                    k.sale_unit_g, k.sold_out_at IS NOT NULL
             FROM sku k LEFT JOIN stock s ON s.sku = k.sku WHERE k.sku = ?1",
        )?
        .query_row([&sku.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })
        .optional()?;
    let (on_hand, reserved, own_safety, unit, sale_unit_g, sold_out) =
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
        sold_out,
        mapped,
    })
}
