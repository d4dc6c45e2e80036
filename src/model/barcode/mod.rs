//! Barcode decoding, pure and table-driven: what a scanner sent → GTIN-14, GS1 element string,
//! scale label, picker badge or order code, or a refusal that says exactly why.
//!
//! Facts and vectors: GS1 General Specifications; `shared/BARCODES.md`.

pub mod gs1;
pub mod gtin;
pub mod scale;

pub use scale::{ScaleLayout, ScaleRead};
use serde::{Deserialize, Serialize};

/// Why a code was refused. Each reason has its own variant and its own [`BarcodeError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    /// Nothing was read.
    #[error("empty scan")]
    Empty,
    /// A control character other than GS: line noise or a misconfigured scanner.
    #[error(
        "control character 0x{byte:02x} at position {position}: noise on the line, or a scanner suffix setting that does not match the port's"
    )]
    ControlCharacter {
        /// 0-based character position.
        position: usize,
        /// The character.
        byte: u32,
    },
    /// An AIM prefix flashpick does not know.
    #[error("unknown symbology identifier `{0}`")]
    UnknownAim(String),
    /// A GTIN or UPC whose check digit is wrong.
    #[error(
        "check digit of {code} should be {expected}, not {found}: misprinted or misread; scan again or type the code"
    )]
    CheckDigit {
        /// The code.
        code: String,
        /// Computed.
        expected: u8,
        /// On the label.
        found: u8,
    },
    /// Digits, but not as many as any product code has.
    #[error("{digits} digits is not a {what} (8, 12, 13 or 14 digits)")]
    Length {
        /// How many.
        digits: usize,
        /// What was expected.
        what: &'static str,
    },
    /// UPC-E only exists with number system 0 or 1.
    #[error("UPC-E with number system {0}: only 0 and 1 exist")]
    UpcENumberSystem(u8),
    /// A symbology that carries digits only carried something else.
    #[error("{0} carries digits only")]
    NotDigits(&'static str),
    /// An Application Identifier not in flashpick's table.
    #[error("unknown GS1 Application Identifier ({0})")]
    UnknownAi(String),
    /// The decimals digit of a measure AI is out of range.
    #[error("({0}): the decimals digit is out of range")]
    AiDecimals(String),
    /// An AI with no value.
    #[error("({0}) has no value")]
    AiEmpty(String),
    /// A fixed-length value of the wrong length.
    #[error("({ai}) needs {want} characters, got {got}")]
    AiLength {
        /// AI.
        ai: String,
        /// Needed.
        want: usize,
        /// Found.
        got: usize,
    },
    /// A variable-length value longer than its maximum.
    #[error(
        "({ai}) holds at most {max} characters, got {got}: the scanner may have dropped the GS separator after it (enable FNC1/GS transmission)"
    )]
    AiTooLong {
        /// AI.
        ai: String,
        /// Maximum.
        max: usize,
        /// Found.
        got: usize,
    },
    /// Letters where digits belong.
    #[error("({0}) must be digits")]
    AiNotNumeric(String),
    /// A character outside GS1's character set 82.
    #[error("({ai}) may not contain `{found}`")]
    AiCharacter {
        /// AI.
        ai: String,
        /// The character.
        found: char,
    },
    /// Not a real date.
    #[error("({ai}) {value} is not a date (YYMMDD)")]
    AiDate {
        /// AI.
        ai: String,
        /// Value.
        value: String,
    },
    /// A GTIN or SSCC inside an element string with a wrong check digit.
    #[error("({ai}) {value} has a wrong check digit")]
    AiCheckDigit {
        /// AI.
        ai: String,
        /// Value.
        value: String,
    },
    /// The same AI twice with different values.
    #[error("({0}) appears twice with different values")]
    AiRepeated(String),
    /// Bracket notation that does not parse.
    #[error("bracket notation: {0}")]
    Brackets(String),
    /// A scale label whose check digit is wrong.
    #[error(
        "scale label ({layout}) check digit should be {expected}, not {found}: reprint the label"
    )]
    ScaleCheckDigit {
        /// Layout name.
        layout: String,
        /// Computed.
        expected: u8,
        /// On the label.
        found: u8,
    },
    /// A composite whose parts do not fit together.
    #[error("composite code: {0}")]
    Composite(String),
    /// Text that is none of the kinds flashpick knows.
    #[error("`{0}` is not a product, scale, badge or order code")]
    NotRecognized(String),
}

impl BarcodeError {
    /// A stable snake_case name for counters and JSON.
    pub fn code(&self) -> &'static str {
        use BarcodeError::*;
        match self {
            Empty => "empty",
            ControlCharacter { .. } => "control_character",
            UnknownAim(_) => "unknown_aim",
            CheckDigit { .. } => "check_digit",
            Length { .. } => "length",
            UpcENumberSystem(_) => "upc_e_number_system",
            NotDigits(_) => "not_digits",
            UnknownAi(_) => "unknown_ai",
            AiDecimals(_) => "ai_decimals",
            AiEmpty(_) => "ai_empty",
            AiLength { .. } => "ai_length",
            AiTooLong { .. } => "ai_too_long",
            AiNotNumeric(_) => "ai_not_numeric",
            AiCharacter { .. } => "ai_character",
            AiDate { .. } => "ai_date",
            AiCheckDigit { .. } => "ai_check_digit",
            AiRepeated(_) => "ai_repeated",
            Brackets(_) => "brackets",
            ScaleCheckDigit { .. } => "scale_check_digit",
            Composite(_) => "composite",
            NotRecognized(_) => "not_recognized",
        }
    }
}

/// The symbology a scanner announced with an AIM prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Symbology {
    /// `]E0`: EAN-13, UPC-A or UPC-E, sent as 13 digits.
    Ean13,
    /// `]E4`: EAN-8.
    Ean8,
    /// `]C0`: Code 128.
    Code128,
    /// `]C1`: GS1-128.
    Gs1128,
    /// `]e0`: GS1 DataBar and composites.
    DataBar,
    /// `]d1`: Data Matrix.
    DataMatrix,
    /// `]d2`: GS1 DataMatrix.
    Gs1DataMatrix,
    /// `]Q1`: QR Code.
    Qr,
    /// `]Q3`: GS1 QR Code.
    Gs1Qr,
}

impl Symbology {
    fn from_aim(id: &str) -> Option<Symbology> {
        Some(match id {
            "]E0" => Symbology::Ean13,
            "]E4" => Symbology::Ean8,
            "]C0" => Symbology::Code128,
            "]C1" => Symbology::Gs1128,
            "]e0" => Symbology::DataBar,
            "]d1" => Symbology::DataMatrix,
            "]d2" => Symbology::Gs1DataMatrix,
            "]Q1" => Symbology::Qr,
            "]Q3" => Symbology::Gs1Qr,
            _ => return None,
        })
    }

    fn is_gs1(self) -> bool {
        matches!(
            self,
            Symbology::Gs1128 | Symbology::DataBar | Symbology::Gs1DataMatrix | Symbology::Gs1Qr
        )
    }
}

/// What kind of code it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// A product's GTIN (EAN/UPC).
    Gtin,
    /// A GS1 element string (GS1-128, DataBar, DataMatrix, QR), often with weight, dates, lot.
    Gs1,
    /// A label printed by one of the store's scales.
    Scale,
    /// A picker's badge.
    Badge,
    /// An order or pickup code.
    Order,
    /// A slot of a batch picker's cart: the next unit goes into that slot's order.
    Slot,
}

/// Store-specific decoding rules, from `[barcodes]` in the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeRules {
    /// Scale label layouts, tried in order.
    pub scale: Vec<ScaleLayout>,
    /// Prefixes of picker badge codes.
    pub badge_prefixes: Vec<String>,
    /// Prefixes of order / pickup codes.
    pub order_prefixes: Vec<String>,
    /// Prefixes of cart slot labels (`<prefix><slot>`).
    pub slot_prefixes: Vec<String>,
}

impl DecodeRules {
    /// The cart slot a slot label names (`<slot prefix><slot>`); `None` for anything else.
    pub fn slot_label(&self, code: &str) -> Option<String> {
        self.slot_prefixes
            .iter()
            .filter(|p| !p.is_empty())
            .find_map(|p| code.strip_prefix(p.as_str()))
            .filter(|rest| !rest.is_empty())
            .map(str::to_string)
    }

    /// The local order id an order label names (`<order prefix><order id>`, as labels print
    /// it); `None` for anything else, or a label whose number is not an order id.
    pub fn order_label(&self, code: &str) -> Option<i64> {
        self.order_prefixes
            .iter()
            .filter(|p| !p.is_empty())
            .find_map(|p| code.strip_prefix(p.as_str()))
            .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|rest| rest.parse::<i64>().ok())
            .filter(|id| *id > 0)
    }
}

/// A successfully decoded code.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Decoded {
    /// What it is (`None` only while decoding).
    pub kind: Option<CodeKind>,
    /// The symbology, when the scanner sent an AIM prefix.
    pub symbology: Option<Symbology>,
    /// The data after the AIM prefix.
    pub data: String,
    /// GTIN-14, when there is one.
    pub gtin: Option<String>,
    /// GS1 AIs and their raw values, in order.
    pub ais: Vec<(String, String)>,
    /// Net weight in grams.
    pub weight_g: Option<i64>,
    /// Amount in fen.
    pub amount_fen: Option<i64>,
    /// Scale item code (PLU).
    pub plu: Option<String>,
}

/// Decodes raw scanner data (one frame, suffix already removed).
pub fn decode(raw: &str, rules: &DecodeRules) -> Result<Decoded, BarcodeError> {
    if raw.is_empty() {
        return Err(BarcodeError::Empty);
    }
    if let Some((position, c)) = raw
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && *c != gs1::GS)
    {
        return Err(BarcodeError::ControlCharacter {
            position,
            byte: c as u32,
        });
    }
    let parts: Vec<&str> = raw.split('|').collect();
    match parts.as_slice() {
        [one] => decode_one(one, rules),
        [primary, component] => {
            let p = decode_one(primary, rules)?;
            let mut c = decode_one(component, rules)?;
            if p.kind != Some(CodeKind::Gtin) || c.kind != Some(CodeKind::Gs1) {
                return Err(BarcodeError::Composite(
                    "expected a GTIN, `|`, then a GS1 element string".into(),
                ));
            }
            if let Some(cg) = &c.gtin
                && Some(cg) != p.gtin.as_ref()
            {
                return Err(BarcodeError::Composite(
                    "the two parts name different GTINs".into(),
                ));
            }
            c.gtin = p.gtin;
            c.symbology = p.symbology.or(c.symbology);
            c.data = raw.to_string();
            Ok(c)
        }
        _ => Err(BarcodeError::Composite("more than one `|`".into())),
    }
}

fn decode_one(part: &str, rules: &DecodeRules) -> Result<Decoded, BarcodeError> {
    let (symbology, data) = match part.strip_prefix(']') {
        Some(_) => {
            let id = part
                .get(..3)
                .ok_or_else(|| BarcodeError::UnknownAim(part.into()))?;
            let s = Symbology::from_aim(id).ok_or_else(|| BarcodeError::UnknownAim(id.into()))?;
            (Some(s), &part[3..])
        }
        None => (None, part),
    };
    if data.is_empty() {
        return Err(BarcodeError::Empty);
    }
    let mut d = match symbology {
        Some(s) if s.is_gs1() => element_string(data)?,
        Some(Symbology::Ean13) => {
            if !data.bytes().all(|c| c.is_ascii_digit()) {
                return Err(BarcodeError::NotDigits("EAN/UPC"));
            }
            digits(data, rules)?
        }
        Some(Symbology::Ean8) => {
            if data.len() != 8 || !data.bytes().all(|c| c.is_ascii_digit()) {
                return Err(BarcodeError::Length {
                    digits: data.len(),
                    what: "EAN-8",
                });
            }
            gtin::verify(data)?;
            gtin_code(data)
        }
        _ if data.contains(gs1::GS) => element_string(data)?,
        _ if data.starts_with('(') => element_string(data)?,
        _ => plain(data, rules)?,
    };
    d.symbology = symbology;
    d.data = data.to_string();
    Ok(d)
}

fn gtin_code(code: &str) -> Decoded {
    Decoded {
        kind: Some(CodeKind::Gtin),
        gtin: Some(gtin::to_gtin14(code)),
        ..Decoded::default()
    }
}

/// Text with no GS1 structure: a badge, an order code, a scale label or a GTIN.
fn plain(data: &str, rules: &DecodeRules) -> Result<Decoded, BarcodeError> {
    for (prefixes, kind) in [
        (&rules.badge_prefixes, CodeKind::Badge),
        (&rules.order_prefixes, CodeKind::Order),
        (&rules.slot_prefixes, CodeKind::Slot),
    ] {
        if prefixes
            .iter()
            .any(|p| !p.is_empty() && data.starts_with(p.as_str()))
        {
            return Ok(Decoded {
                kind: Some(kind),
                ..Decoded::default()
            });
        }
    }
    if data.bytes().all(|c| c.is_ascii_digit()) {
        return digits(data, rules);
    }
    Err(BarcodeError::NotRecognized(data.to_string()))
}

/// All digits: a scale label by the configured layouts, else a GTIN-8/12/13/14 or UPC-E, else
/// an element string sent without separators.
fn digits(data: &str, rules: &DecodeRules) -> Result<Decoded, BarcodeError> {
    for layout in &rules.scale {
        if let Some(read) = layout.read(data) {
            let read = read?;
            return Ok(Decoded {
                kind: Some(CodeKind::Scale),
                weight_g: read.weight_g,
                amount_fen: read.amount_fen,
                plu: Some(read.plu),
                ..Decoded::default()
            });
        }
    }
    match data.len() {
        8 if data.starts_with(['0', '1']) => match gtin::upc_e_to_a(data) {
            // UPC-E: the 8 digits also pass as EAN-8, but GS1-8 codes starting 0 are
            // restricted-circulation numbers, so UPC-E is the reading scanners mean.
            Ok(upc_a) => Ok(gtin_code(&upc_a)),
            Err(_) => gtin::verify(data).map(|()| gtin_code(data)),
        },
        8 | 12 | 13 | 14 => gtin::verify(data).map(|()| gtin_code(data)),
        n if n > 16 && data.starts_with("01") => element_string(data),
        n => Err(BarcodeError::Length {
            digits: n,
            what: "GTIN",
        }),
    }
}

fn element_string(data: &str) -> Result<Decoded, BarcodeError> {
    let ais = if data.starts_with('(') {
        gs1::parse_brackets(data)?
    } else {
        gs1::parse_raw(data)?
    };
    let get = |ai: &str| ais.iter().find(|(a, _)| a == ai).map(|(_, v)| v.as_str());
    let mut d = Decoded {
        kind: Some(CodeKind::Gs1),
        gtin: get("01").or_else(|| get("02")).map(str::to_string),
        ..Decoded::default()
    };
    for (ai, value) in &ais {
        let n = ai.as_bytes().get(3).map(|c| u32::from(c - b'0'));
        match (ai.get(..3), n) {
            (Some("310"), Some(n)) => d.weight_g = gs1::scaled(value, n, 3),
            // Pounds: 1 lb = 453.59237 g.
            (Some("320"), Some(n)) => {
                d.weight_g = value.parse::<i128>().ok().and_then(|v| {
                    let den = 10i128.pow(n + 5);
                    i64::try_from((v * 45_359_237 + den / 2) / den).ok()
                });
            }
            (Some("392"), Some(n)) => d.amount_fen = gs1::scaled(value, n, 2),
            (Some("393"), Some(n)) if value.starts_with("156") => {
                d.amount_fen = gs1::scaled(&value[3..], n, 2);
            }
            _ => {}
        }
    }
    d.ais = ais;
    Ok(d)
}
