//! In-store variable-measure codes printed by the store's scales (prefixes 20–29). The layout is
//! the scale model's, written with letters: F flag, W item code (PLU), E amount, N weight, C check.

use super::{BarcodeError, gtin};
use serde::{Deserialize, Serialize};

/// One scale label layout, from `[[barcodes.scale]]` in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleLayout {
    /// A name for messages, e.g. `dahua-weight`.
    pub name: String,
    /// The letters, e.g. `FFWWWWWNNNNNC` (13) or `FFWWWWWEEEEENNNNNC` (18).
    pub layout: String,
    /// The flag values that mean "this layout", e.g. `["21", "22"]`. A code whose flag is not
    /// listed is an ordinary GTIN, even when it starts with 2.
    pub flags: Vec<String>,
    /// Decimals of the weight field, which is in kilograms (3: `00392` is 0.392 kg).
    #[serde(default = "three")]
    pub weight_decimals: u32,
    /// Decimals of the amount field, which is in yuan (2: `01234` is ¥12.34).
    #[serde(default = "two")]
    pub amount_decimals: u32,
    /// Whether the last digit is a GS1 mod-10 check digit to verify.
    #[serde(default = "yes")]
    pub check_digit: bool,
}

fn three() -> u32 {
    3
}
fn two() -> u32 {
    2
}
fn yes() -> bool {
    true
}

/// What a scale label says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleRead {
    /// The layout that matched.
    pub layout: String,
    /// The item code on the scale, leading zeros removed.
    pub plu: String,
    /// Net weight, when the layout has one.
    pub weight_g: Option<i64>,
    /// Amount to pay, when the layout has one.
    pub amount_fen: Option<i64>,
}

impl ScaleLayout {
    /// Checks the layout itself; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let l = self.layout.as_bytes();
        if l.len() != 13 && l.len() != 18 {
            return Err(format!(
                "layout `{}` has {} letters; scale codes have 13 or 18",
                self.layout,
                l.len()
            ));
        }
        if let Some(c) = self.layout.chars().find(|c| !"FWENC".contains(*c)) {
            return Err(format!(
                "layout `{}` has `{c}`; use only F (flag), W (item code), E (amount), N (weight), C (check)",
                self.layout
            ));
        }
        let flag_len = l.iter().take_while(|c| **c == b'F').count();
        if flag_len == 0 || l[flag_len..].contains(&b'F') {
            return Err(format!(
                "layout `{}` must start with its F (flag) digits",
                self.layout
            ));
        }
        let checks = l.iter().filter(|c| **c == b'C').count();
        if checks > 1 || (checks == 1 && l[l.len() - 1] != b'C') {
            return Err(format!(
                "layout `{}`: C (check digit) may appear once, last",
                self.layout
            ));
        }
        if self.check_digit && checks == 0 {
            return Err(format!(
                "layout `{}` has no C but check_digit = true",
                self.layout
            ));
        }
        if !l.contains(&b'W') {
            return Err(format!("layout `{}` has no W (item code)", self.layout));
        }
        for field in [b'W', b'E', b'N'] {
            if let Some(start) = l.iter().position(|c| *c == field) {
                let len = l.iter().filter(|c| **c == field).count();
                if l[start..start + len].iter().any(|c| *c != field) {
                    return Err(format!(
                        "layout `{}`: the {} digits must be contiguous",
                        self.layout, field as char
                    ));
                }
            }
        }
        if self.flags.is_empty() {
            return Err(format!("layout `{}` lists no flags", self.name));
        }
        for f in &self.flags {
            if f.len() != flag_len || !f.bytes().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "flag `{f}` must be {flag_len} digits to fit layout `{}`",
                    self.layout
                ));
            }
        }
        if self.weight_decimals > 3 {
            return Err("weight_decimals above 3 would need fractions of a gram".into());
        }
        if self.amount_decimals > 2 {
            return Err("amount_decimals above 2 would need fractions of a fen".into());
        }
        Ok(())
    }

    /// Reads `code` with this layout: `None` when it is not this layout's (length or flag),
    /// an error when it is but the label is damaged.
    pub fn read(&self, code: &str) -> Option<Result<ScaleRead, BarcodeError>> {
        let l = self.layout.as_bytes();
        if code.len() != l.len() || !code.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if !self.flags.iter().any(|f| code.starts_with(f.as_str())) {
            return None;
        }
        if self.check_digit && !gtin::has_valid_check(code) {
            let b = code.as_bytes();
            return Some(Err(BarcodeError::ScaleCheckDigit {
                layout: self.name.clone(),
                expected: gtin::check_digit(&b[..b.len() - 1]),
                found: b[b.len() - 1] - b'0',
            }));
        }
        let field = |letter: u8| -> Option<&str> {
            let start = l.iter().position(|c| *c == letter)?;
            let len = l.iter().filter(|c| **c == letter).count();
            Some(&code[start..start + len])
        };
        let plu = field(b'W').unwrap_or("").trim_start_matches('0');
        Some(Ok(ScaleRead {
            layout: self.name.clone(),
            plu: if plu.is_empty() {
                "0".into()
            } else {
                plu.into()
            },
            weight_g: field(b'N').and_then(|w| super::gs1::scaled(w, self.weight_decimals, 3)),
            amount_fen: field(b'E').and_then(|a| super::gs1::scaled(a, self.amount_decimals, 2)),
        }))
    }
}
