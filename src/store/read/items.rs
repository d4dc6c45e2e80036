//! Items: by code, by scan, by name; how a platform's item maps to ours; how it is sold.

use crate::model::{Fen, Platform, SkuCode, Unit};
use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

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
    /// Marked sold out since.
    pub sold_out_at: Option<crate::model::Timestamp>,
}

const SKU_COLUMNS: &str = "k.sku, k.name, k.name_en, k.spec, k.unit, k.location, k.walk_seq, \
    k.price_fen, k.safety_stock, CAST(COALESCE(s.on_hand, 0) AS INTEGER), \
    CAST(COALESCE(s.reserved, 0) AS INTEGER), k.plu, \
    k.sale_unit_g, k.sold_out_at";

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
        sold_out_at: r.get::<_, Option<i64>>(13)?.map(crate::model::Timestamp),
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
        // Nothing asked: the items marked sold out, the oldest mark first.
        let sql = format!(
            "SELECT {SKU_COLUMNS} FROM sku k LEFT JOIN stock s ON s.sku = k.sku
             WHERE k.sold_out_at IS NOT NULL ORDER BY k.sold_out_at, k.sku LIMIT ?1"
        );
        let mut out: Vec<SkuInfo> = conn
            .prepare_cached(&sql)?
            .query_map(params![limit as i64], sku_from_row)?
            .collect::<Result<_, _>>()?;
        for info in &mut out {
            info.barcodes = barcodes(conn, &info.sku)?;
        }
        return Ok(out);
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
