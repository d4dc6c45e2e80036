//! The one check of an item row, whatever door it came through: a catalog file, rows staged over
//! the socket, an HQ catalog delta. The writer runs it on every row before anything is written,
//! so a row that passes here is one the rest of the code can trust: quantities within
//! [`MAX_QTY`], prices not negative, codes a scanner can send (with a right check digit where
//! they look like GTINs), and every text short enough that a valid row always fits in one socket
//! line.

use super::barcode::gtin;
use super::stock::{MAX_QTY, Unit};

/// Longest store code, in bytes.
pub const MAX_SKU_BYTES: usize = 64;
/// Longest name (Chinese or English), in bytes: about 85 Chinese characters.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest specification, in bytes.
pub const MAX_SPEC_BYTES: usize = 128;
/// Longest shelf location, in bytes.
pub const MAX_LOCATION_BYTES: usize = 64;
/// Longest barcode, in bytes (a GS1 element string carries at most 48 characters of data).
pub const MAX_CODE_BYTES: usize = 64;
/// Most barcodes one item may carry.
pub const MAX_CODES: usize = 16;
/// The highest shelf price: one million yuan, in fen.
pub const MAX_PRICE_FEN: i64 = 100_000_000;
/// The biggest portion a weighed item may be sold in: 100 kg.
pub const MAX_SALE_UNIT_G: i64 = 100_000;

/// An item's fields as any door brings them, borrowed for the check. Fields a door does not
/// carry (HQ deltas never set stock) are `None`.
#[derive(Debug, Clone, Copy)]
pub struct ItemFields<'a> {
    /// Store code.
    pub sku: &'a str,
    /// Chinese name.
    pub name: &'a str,
    /// English name.
    pub name_en: Option<&'a str>,
    /// Specification.
    pub spec: Option<&'a str>,
    /// Shelf location.
    pub location: &'a str,
    /// Position on the pick walk.
    pub walk_seq: i64,
    /// Shelf price in fen.
    pub price_fen: Option<i64>,
    /// The item's own safety stock.
    pub safety_stock: Option<i64>,
    /// On hand, as counted.
    pub on_hand: Option<i64>,
    /// Barcodes.
    pub barcodes: &'a [String],
    /// Scale PLU, leading zeros removed.
    pub plu: Option<&'a str>,
}

/// Checks every field of an item; the error says which field and what to do.
pub fn check_item(f: &ItemFields<'_>) -> Result<(), String> {
    check_sku(f.sku)?;
    let sku = f.sku;
    text("name", f.name, MAX_NAME_BYTES, true).map_err(|e| format!("sku {sku}: {e}"))?;
    if let Some(n) = f.name_en {
        text("name_en", n, MAX_NAME_BYTES, false)?;
    }
    if let Some(s) = f.spec {
        text("spec", s, MAX_SPEC_BYTES, false)?;
    }
    check_place(f.location, f.walk_seq).map_err(|e| format!("sku {sku}: {e}"))?;
    if let Some(p) = f.price_fen {
        check_price(p)?;
    }
    if let Some(s) = f.safety_stock {
        quantity("safety_stock", s)?;
    }
    if let Some(n) = f.on_hand {
        quantity("on_hand", n)?;
    }
    if f.barcodes.len() > MAX_CODES {
        return Err(format!(
            "sku {sku} has {} barcodes, at most {MAX_CODES}",
            f.barcodes.len()
        ));
    }
    for code in f.barcodes {
        check_code(code)?;
    }
    if let Some(p) = f.plu {
        check_plu(p)?;
    }
    Ok(())
}

/// A store code: 1 to 64 bytes, no spaces or control characters (it is typed, scanned and
/// printed).
pub fn check_sku(sku: &str) -> Result<(), String> {
    if sku.is_empty() {
        return Err("sku is empty".into());
    }
    if sku.len() > MAX_SKU_BYTES {
        return Err(format!(
            "sku `{}…` is {} bytes long, at most {MAX_SKU_BYTES}",
            prefix(sku),
            sku.len()
        ));
    }
    if sku.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "sku `{}` has spaces or control characters",
            sku.escape_debug()
        ));
    }
    Ok(())
}

/// A shelf location and a position on the pick walk.
pub fn check_place(location: &str, walk_seq: i64) -> Result<(), String> {
    text("location", location, MAX_LOCATION_BYTES, true)?;
    if !(0..=MAX_QTY).contains(&walk_seq) {
        return Err(format!(
            "walk_seq {walk_seq} must be between 0 and {MAX_QTY}"
        ));
    }
    Ok(())
}

/// A shelf price in fen.
pub fn check_price(fen: i64) -> Result<(), String> {
    if !(0..=MAX_PRICE_FEN).contains(&fen) {
        return Err(format!(
            "price_fen {fen} must be between 0 and {MAX_PRICE_FEN} (prices are in fen: 350 is 3.50 yuan)"
        ));
    }
    Ok(())
}

/// A barcode as stored: printable ASCII a scanner can send; all-digit codes of GTIN length (8,
/// 12, 13, 14) must carry a right GS1 check digit (an 8-digit one may be a UPC-E). Any other
/// shape is an in-store code and is taken as it is.
pub fn check_code(code: &str) -> Result<(), String> {
    if code.is_empty() {
        return Err("a barcode is empty".into());
    }
    if code.len() > MAX_CODE_BYTES {
        return Err(format!(
            "barcode `{}…` is {} bytes long, at most {MAX_CODE_BYTES}",
            prefix(code),
            code.len()
        ));
    }
    if !code.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "barcode `{}` has characters a scanner cannot send",
            code.escape_debug()
        ));
    }
    if looks_like_gtin(code) && !gtin_check_ok(code) {
        let b = code.as_bytes();
        let expected = gtin::check_digit(&b[..b.len() - 1]);
        return Err(format!(
            "barcode {code} has a wrong check digit (the last digit should be {expected}): check the number on the label"
        ));
    }
    Ok(())
}

/// Whether `code` has the shape of a GTIN (all digits, 8, 12, 13 or 14 of them).
pub fn looks_like_gtin(code: &str) -> bool {
    matches!(code.len(), 8 | 12 | 13 | 14) && code.bytes().all(|b| b.is_ascii_digit())
}

fn gtin_check_ok(code: &str) -> bool {
    gtin::has_valid_check(code) || (code.len() == 8 && gtin::upc_e_to_a(code).is_ok())
}

/// The GTIN-14 a code stands for, when it is one: the form two codes are compared in, so that the
/// same item written as 13 and as 14 digits is one code. A UPC-E is expanded first.
pub fn normalised_gtin(code: &str) -> Option<String> {
    if !looks_like_gtin(code) {
        return None;
    }
    if gtin::has_valid_check(code) {
        return Some(gtin::to_gtin14(code));
    }
    gtin::upc_e_to_a(code).ok().map(|a| gtin::to_gtin14(&a))
}

/// The form two codes are compared in: the GTIN-14 of a GTIN, the code itself otherwise.
pub fn code_key(code: &str) -> String {
    normalised_gtin(code).unwrap_or_else(|| code.to_string())
}

/// Every form a code may be stored under (a GTIN as 14, 13, 12 or 8 digits, as written), for
/// finding it in the catalog whichever form was imported.
pub fn stored_forms(code: &str) -> Vec<String> {
    let mut forms = match normalised_gtin(code) {
        Some(g) => gtin::lookup_forms(&g),
        None => Vec::new(),
    };
    if !forms.iter().any(|f| f == code) {
        forms.push(code.to_string());
    }
    forms
}

/// A PLU as scales print it (`00012`) in the form it is stored in (`12`): leading zeros off an
/// all-digit code; anything else as it is (the check then names it).
pub fn normalised_plu(plu: &str) -> String {
    if !plu.is_empty() && plu.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = plu.trim_start_matches('0');
        return if trimmed.is_empty() { "0" } else { trimmed }.to_string();
    }
    plu.to_string()
}

/// A scale PLU as stored: 1 to 10 digits, leading zeros removed ("0" for zero).
pub fn check_plu(plu: &str) -> Result<(), String> {
    let digits = !plu.is_empty() && plu.len() <= 10 && plu.bytes().all(|b| b.is_ascii_digit());
    if !digits || (plu.len() > 1 && plu.starts_with('0')) {
        return Err(format!(
            "plu `{}` must be up to 10 digits without leading zeros",
            plu.escape_debug()
        ));
    }
    Ok(())
}

/// A weighed item must say how many grams the platforms sell as one; a counted one must not.
pub fn check_sale_unit(sku: &str, unit: Unit, sale_unit_g: Option<i64>) -> Result<(), String> {
    match (unit, sale_unit_g) {
        (Unit::Gram, None) => Err(format!(
            "sku {sku} is weighed (unit gram): set sale_unit_g, the grams of one portion as the platforms sell it (e.g. 500), or stock levels would reach them in grams"
        )),
        (Unit::Gram, Some(g)) if !(1..=MAX_SALE_UNIT_G).contains(&g) => Err(format!(
            "sale_unit_g {g} must be between 1 and {MAX_SALE_UNIT_G} grams"
        )),
        (Unit::Piece, Some(_)) => Err(format!(
            "sku {sku} is counted in pieces: sale_unit_g is for weighed items (unit gram) only"
        )),
        _ => Ok(()),
    }
}

/// A quantity of stock: 0 to [`MAX_QTY`].
fn quantity(field: &str, n: i64) -> Result<(), String> {
    if !(0..=MAX_QTY).contains(&n) {
        return Err(format!(
            "{field} {n} must be between 0 and {MAX_QTY}; check the number"
        ));
    }
    Ok(())
}

fn text(field: &str, s: &str, max: usize, required: bool) -> Result<(), String> {
    if required && s.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if s.len() > max {
        return Err(format!(
            "{field} `{}…` is {} bytes long, at most {max}",
            prefix(s),
            s.len()
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(format!(
            "{field} `{}` has control characters (a line break, a tab…)",
            prefix(s).escape_debug()
        ));
    }
    Ok(())
}

/// The first few characters of a long text, for a message that must stay one line.
fn prefix(s: &str) -> String {
    s.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(barcodes: &'a [String]) -> ItemFields<'a> {
        ItemFields {
            sku: "A1",
            name: "农夫山泉",
            name_en: None,
            spec: None,
            location: "A-01",
            walk_seq: 1,
            price_fen: Some(200),
            safety_stock: None,
            on_hand: Some(5),
            barcodes,
            plu: None,
        }
    }

    #[test]
    fn a_good_row_passes_and_each_bad_field_is_named() {
        let codes = vec!["6901234567892".to_string(), "A-77".to_string()];
        assert_eq!(check_item(&fields(&codes)), Ok(()));
        let cases: Vec<(ItemFields<'_>, &str)> = vec![
            (
                ItemFields {
                    sku: "",
                    ..fields(&codes)
                },
                "sku is empty",
            ),
            (
                ItemFields {
                    sku: "A 1",
                    ..fields(&codes)
                },
                "spaces",
            ),
            (
                ItemFields {
                    name: " ",
                    ..fields(&codes)
                },
                "name is empty",
            ),
            (
                ItemFields {
                    walk_seq: -1,
                    ..fields(&codes)
                },
                "walk_seq -1",
            ),
            (
                ItemFields {
                    on_hand: Some(9_000_000_000_000_000_000),
                    ..fields(&codes)
                },
                "on_hand",
            ),
            (
                ItemFields {
                    on_hand: Some(-1),
                    ..fields(&codes)
                },
                "on_hand -1",
            ),
            (
                ItemFields {
                    safety_stock: Some(-100),
                    ..fields(&codes)
                },
                "safety_stock -100",
            ),
            (
                ItemFields {
                    price_fen: Some(-1),
                    ..fields(&codes)
                },
                "price_fen -1",
            ),
            (
                ItemFields {
                    plu: Some("12a"),
                    ..fields(&codes)
                },
                "plu",
            ),
            (
                ItemFields {
                    plu: Some("007"),
                    ..fields(&codes)
                },
                "leading zeros",
            ),
            (
                ItemFields {
                    location: "",
                    ..fields(&codes)
                },
                "location is empty",
            ),
            (
                ItemFields {
                    name: "水\n",
                    ..fields(&codes)
                },
                "control",
            ),
        ];
        for (f, want) in cases {
            let e = check_item(&f).unwrap_err();
            assert!(e.contains(want), "{f:?}: {e}");
        }
        let long = "长".repeat(100);
        let e = check_item(&ItemFields {
            name: &long,
            ..fields(&codes)
        })
        .unwrap_err();
        assert!(e.contains("at most 256"), "{e}");
    }

    #[test]
    fn gtin_shaped_codes_need_their_check_digit_and_others_are_in_store_codes() {
        for good in [
            "6901234567892",
            "96385074",
            "01234565",
            "036000291452",
            "00000096385074",
            "2000000000015",
        ] {
            assert_eq!(check_code(good), Ok(()), "{good}");
        }
        let e = check_code("6901234567893").unwrap_err();
        assert!(e.contains("should be 2"), "{e}");
        // Not GTIN-shaped: the store's own codes, taken as they are.
        for own in ["1234567", "123456789", "SHELF-7", "20000000001"] {
            assert_eq!(check_code(own), Ok(()), "{own}");
        }
        assert!(check_code("a b").is_err());
        assert_eq!(
            normalised_gtin("6901234567892"),
            normalised_gtin("06901234567892")
        );
        // An 8-digit code is an EAN-8 when its own check digit holds (01234565 is both), else
        // a UPC-E, compared as the UPC-A it stands for.
        assert_eq!(
            normalised_gtin("01234565").as_deref(),
            Some("00000001234565")
        );
        assert_eq!(check_code("04252614"), Ok(()));
        assert_eq!(
            normalised_gtin("04252614").as_deref(),
            Some("00042100005264")
        );
        assert_eq!(normalised_gtin("SHELF-7"), None);
    }
}
