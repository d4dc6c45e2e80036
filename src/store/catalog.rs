//! Catalog CSV parsing. Pure: the whole file is checked before anything is written, so a bad row
//! means nothing is imported and the operator is told which line to fix.
//!
//! Columns: `sku,name,barcode,location,on_hand` required; `name_en,spec,unit,walk_seq,price_fen,
//! safety_stock,plu,sale_unit_g` optional, in any order (`sale_unit_g` is required on weighed
//! rows). Several barcodes in one cell are separated by `|`.

pub use crate::model::item::check_sale_unit;
use crate::model::item::{ItemFields, check_item};
use crate::model::{Fen, SkuCode, Unit};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Read;

/// One item of the catalog file. Also sent over the socket when the daemon imports (frozen at
/// protocol 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogRow {
    /// Line in the file (1-based, header is line 1).
    pub line: u64,
    /// Store code.
    pub sku: SkuCode,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Specification.
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
    /// On hand, as counted for the import.
    pub on_hand: i64,
    /// Barcodes.
    pub barcodes: Vec<String>,
    /// The item code the store's scales print on their labels (leading zeros removed).
    #[serde(default)]
    pub plu: Option<String>,
    /// Weighed goods: the grams of one portion as the platforms sell it (stock levels are
    /// published in portions).
    #[serde(default)]
    pub sale_unit_g: Option<i64>,
}

/// A catalog file that cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file cannot be read as CSV.
    #[error("cannot read the catalog: {0}")]
    Read(String),
    /// Required columns are missing.
    #[error(
        "the header lacks the required column(s) {0}; the header must include sku,name,barcode,location,on_hand"
    )]
    MissingColumns(String),
    /// A column nobody knows (probably a typo).
    #[error(
        "unknown column `{0}` in the header; known columns: sku,name,barcode,location,on_hand,name_en,spec,unit,walk_seq,price_fen,safety_stock,plu,sale_unit_g"
    )]
    UnknownColumn(String),
    /// A column twice in the header: which one counts would be a guess.
    #[error("the column `{0}` appears twice in the header; keep one")]
    DuplicateColumn(String),
    /// A row is wrong.
    #[error("line {line}: {message}; nothing was imported")]
    Row {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

const REQUIRED: [&str; 5] = ["sku", "name", "barcode", "location", "on_hand"];
const OPTIONAL: [&str; 8] = [
    "name_en",
    "spec",
    "unit",
    "walk_seq",
    "price_fen",
    "safety_stock",
    "plu",
    "sale_unit_g",
];

/// Parses a whole catalog, calling `progress(bytes_read)` now and then.
pub fn parse(
    input: impl Read,
    mut progress: impl FnMut(u64),
) -> Result<Vec<CatalogRow>, CatalogError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| CatalogError::Read(e.to_string()))?
        .clone();
    let mut col: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim_start_matches('\u{feff}');
        let Some(known) = REQUIRED.iter().chain(OPTIONAL.iter()).find(|k| **k == h) else {
            return Err(CatalogError::UnknownColumn(h.to_string()));
        };
        if col.insert(known, i).is_some() {
            return Err(CatalogError::DuplicateColumn(known.to_string()));
        }
    }
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|k| !col.contains_key(k))
        .collect();
    if !missing.is_empty() {
        return Err(CatalogError::MissingColumns(missing.join(",")));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            CatalogError::Row {
                line,
                message: e.to_string(),
            }
        })?;
        if !more {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if rows.len() % 4096 == 0 {
            progress(record.position().map(|p| p.byte()).unwrap_or(0));
        }
        let row = parse_row(&record, &col, line)?;
        rows.push(row);
    }
    check_batch(&rows)?;
    Ok(rows)
}

/// Refuses a batch in which a sku or a barcode appears twice, naming both lines.
pub fn check_batch(rows: &[CatalogRow]) -> Result<(), CatalogError> {
    let mut seen_sku: HashMap<&str, u64> = HashMap::new();
    let mut seen_code: HashMap<String, (u64, &str)> = HashMap::new();
    let mut seen_plu: HashMap<&str, u64> = HashMap::new();
    for row in rows {
        let line = row.line;
        if let Some(plu) = &row.plu
            && let Some(first) = seen_plu.insert(plu, line)
        {
            return Err(CatalogError::Row {
                line,
                message: format!("plu {plu} already appears on line {first}"),
            });
        }
        if let Some(first) = seen_sku.insert(&row.sku.0, line) {
            return Err(CatalogError::Row {
                line,
                message: format!("sku {} already appears on line {first}", row.sku),
            });
        }
        for code in &row.barcodes {
            // Compared as GTINs: 6901234567892 and 06901234567892 are one code.
            if let Some((first, as_written)) =
                seen_code.insert(crate::model::item::code_key(code), (line, code))
            {
                let same = if as_written == code {
                    String::new()
                } else {
                    format!(" (as {as_written}: the same GTIN)")
                };
                return Err(CatalogError::Row {
                    line,
                    message: format!("barcode {code} already appears on line {first}{same}"),
                });
            }
        }
    }
    Ok(())
}

fn parse_row(
    record: &csv::StringRecord,
    col: &HashMap<&str, usize>,
    line: u64,
) -> Result<CatalogRow, CatalogError> {
    let err = |message: String| CatalogError::Row { line, message };
    let get = |name: &str| col.get(name).and_then(|i| record.get(*i)).unwrap_or("");
    let opt = |name: &str| {
        Some(get(name))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let int = |name: &str| -> Result<Option<i64>, CatalogError> {
        let v = get(name);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<i64>()
            .map(Some)
            .map_err(|_| err(format!("{name} `{v}` is not a whole number")))
    };
    let sku = get("sku");
    let on_hand = int("on_hand")?.ok_or_else(|| err(format!("sku {sku} has no on_hand")))?;
    let unit = get("unit").parse::<Unit>().map_err(err)?;
    let mut barcodes = Vec::new();
    for code in get("barcode")
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        if !barcodes.iter().any(|b| b == code) {
            barcodes.push(code.to_string());
        }
    }
    let plu = match get("plu") {
        "" => None,
        // Scales print the PLU with leading zeros; it is stored without them.
        p if p.bytes().all(|c| c.is_ascii_digit()) && p.len() <= 10 => {
            Some(crate::model::item::normalised_plu(p))
        }
        p => return Err(err(format!("plu `{p}` must be up to 10 digits"))),
    };
    let row = CatalogRow {
        line,
        plu,
        sale_unit_g: int("sale_unit_g")?,
        sku: SkuCode::new(sku),
        name: get("name").to_string(),
        name_en: opt("name_en"),
        spec: opt("spec"),
        unit,
        location: get("location").to_string(),
        walk_seq: int("walk_seq")?.unwrap_or(0),
        price: int("price_fen")?.map(Fen),
        safety_stock: int("safety_stock")?,
        on_hand,
        barcodes,
    };
    // The same check the writer makes on rows from every door: told here with the line number,
    // before anything is sent or written.
    row.check().map_err(err)?;
    Ok(row)
}

impl CatalogRow {
    /// The fields as the one item check takes them.
    pub fn fields(&self) -> ItemFields<'_> {
        ItemFields {
            sku: &self.sku.0,
            name: &self.name,
            name_en: self.name_en.as_deref(),
            spec: self.spec.as_deref(),
            location: &self.location,
            walk_seq: self.walk_seq,
            price_fen: self.price.map(|p| p.0),
            safety_stock: self.safety_stock,
            on_hand: Some(self.on_hand),
            barcodes: &self.barcodes,
            plu: self.plu.as_deref(),
        }
    }

    /// The one item check ([`check_item`]) and the portion rule of weighed goods.
    pub fn check(&self) -> Result<(), String> {
        check_item(&self.fields())?;
        check_sale_unit(&self.sku.0, self.unit, self.sale_unit_g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Vec<CatalogRow>, CatalogError> {
        parse(s.as_bytes(), |_| {})
    }

    #[test]
    fn reads_required_and_optional_columns_and_several_barcodes() {
        let rows = parse_str(
            "sku,name,barcode,location,on_hand,price_fen,unit,sale_unit_g\n\
             A1,农夫山泉 550ml,6901234567892|4006381333931,A-01-1,24,200,piece,\n\
             B2,\"猪肉, 前腿\",,F-02,3000,,gram,500\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].barcodes, vec!["6901234567892", "4006381333931"]);
        assert_eq!(rows[0].price, Some(Fen(200)));
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].name, "猪肉, 前腿");
        assert_eq!(rows[1].unit, Unit::Gram);
        assert_eq!(
            (rows[0].sale_unit_g, rows[1].sale_unit_g),
            (None, Some(500))
        );
        assert!(rows[1].barcodes.is_empty());
    }

    #[test]
    fn a_bad_row_names_its_line() {
        let e = parse_str("sku,name,barcode,location,on_hand\nA1,水,1,A,1\nA2,茶,2,B,lots\n")
            .unwrap_err();
        assert!(e.to_string().starts_with("line 3:"), "{e}");
        let e =
            parse_str("sku,name,barcode,location,on_hand\nA1,水,1,A,1\nA1,茶,2,B,1\n").unwrap_err();
        assert!(
            e.to_string().contains("line 3") && e.to_string().contains("line 2"),
            "{e}"
        );
        let e = parse_str("sku,name,barcode,location\nA1,水,1,A\n").unwrap_err();
        assert!(
            matches!(e, CatalogError::MissingColumns(ref c) if c == "on_hand"),
            "{e}"
        );
        let e = parse_str("sku,name,barcode,location,on_hand,colour\n").unwrap_err();
        assert!(
            matches!(e, CatalogError::UnknownColumn(ref c) if c == "colour"),
            "{e}"
        );
    }

    #[test]
    fn weighed_rows_need_their_portion_and_counted_rows_refuse_one() {
        let e = parse_str("sku,name,barcode,location,on_hand,unit\nB2,猪肉,,F-02,3000,gram\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 2:") && e.contains("set sale_unit_g"),
            "{e}"
        );
        let e = parse_str(
            "sku,name,barcode,location,on_hand,unit,sale_unit_g\nA1,水,1,A,1,piece,500\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("weighed items (unit gram) only"), "{e}");
        let e =
            parse_str("sku,name,barcode,location,on_hand,unit,sale_unit_g\nB2,猪肉,,F,1,gram,0\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("between 1 and 100000"), "{e}");
    }
}
