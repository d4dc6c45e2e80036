//! GS1 element strings: the Application Identifier table, the raw form (FNC1 sent as GS, 0x1D)
//! and the bracket notation `(01)…(3103)…`.

use super::BarcodeError;
use super::gtin;

/// The group separator scanners send for FNC1.
pub const GS: char = '\u{1d}';

/// How an AI's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Digits.
    Numeric,
    /// Digits ending in a GS1 check digit.
    NumericCheck,
    /// YYMMDD, DD 00 meaning the end of the month.
    Date,
    /// GS1 character set 82.
    Alnum,
    /// Three-digit ISO 4217 currency, then digits.
    Currency,
}

/// One row of the AI table.
struct Spec {
    /// The AI, or its first three digits for the four-digit AIs whose last digit is a count of
    /// decimals (310n, 392n, …).
    ai: &'static str,
    /// Highest decimal digit allowed for the four-digit AIs.
    max_decimals: Option<u8>,
    /// Fixed value length (predefined-length AIs need no separator), or `None` for variable.
    fixed: Option<usize>,
    /// Longest value.
    max: usize,
    format: Format,
}

const fn fixed(ai: &'static str, len: usize, format: Format) -> Spec {
    Spec {
        ai,
        max_decimals: None,
        fixed: Some(len),
        max: len,
        format,
    }
}

const fn var(ai: &'static str, max: usize, format: Format) -> Spec {
    Spec {
        ai,
        max_decimals: None,
        fixed: None,
        max,
        format,
    }
}

const fn measure(
    ai: &'static str,
    max_decimals: u8,
    fixed: Option<usize>,
    max: usize,
    format: Format,
) -> Spec {
    Spec {
        ai,
        max_decimals: Some(max_decimals),
        fixed,
        max,
        format,
    }
}

use Format::*;

/// The AIs flashpick understands. Others are refused by name rather than guessed at.
const TABLE: &[Spec] = &[
    fixed("00", 18, NumericCheck),
    fixed("01", 14, NumericCheck),
    fixed("02", 14, NumericCheck),
    var("10", 20, Alnum),
    fixed("11", 6, Date),
    fixed("12", 6, Date),
    fixed("13", 6, Date),
    fixed("15", 6, Date),
    fixed("16", 6, Date),
    fixed("17", 6, Date),
    fixed("20", 2, Numeric),
    var("21", 20, Alnum),
    var("30", 8, Numeric),
    var("37", 8, Numeric),
    measure("310", 5, Some(6), 6, Numeric),
    measure("311", 5, Some(6), 6, Numeric),
    measure("312", 5, Some(6), 6, Numeric),
    measure("313", 5, Some(6), 6, Numeric),
    measure("314", 5, Some(6), 6, Numeric),
    measure("315", 5, Some(6), 6, Numeric),
    measure("316", 5, Some(6), 6, Numeric),
    measure("320", 5, Some(6), 6, Numeric),
    measure("390", 9, None, 15, Numeric),
    measure("391", 9, None, 18, Currency),
    measure("392", 9, None, 15, Numeric),
    measure("393", 9, None, 18, Currency),
    var("90", 30, Alnum),
    var("91", 90, Alnum),
    var("92", 90, Alnum),
    var("93", 90, Alnum),
    var("94", 90, Alnum),
    var("95", 90, Alnum),
    var("96", 90, Alnum),
    var("97", 90, Alnum),
    var("98", 90, Alnum),
    var("99", 90, Alnum),
];

/// Finds the spec for the AI at the start of `s`; returns it with the AI's length.
fn lookup(s: &str) -> Result<(&'static Spec, usize), BarcodeError> {
    let b = s.as_bytes();
    for spec in TABLE {
        if let Some(max) = spec.max_decimals {
            if b.len() >= 4 && s.starts_with(spec.ai) {
                let n = b[3];
                if !n.is_ascii_digit() || n - b'0' > max {
                    // By characters: the fourth byte may be inside a multi-byte one.
                    return Err(BarcodeError::AiDecimals(s.chars().take(4).collect()));
                }
                return Ok((spec, 4));
            }
        } else if s.starts_with(spec.ai) {
            return Ok((spec, 2));
        }
    }
    let shown: String = s.chars().take(4).collect();
    Err(BarcodeError::UnknownAi(shown))
}

/// An exact AI (bracket notation), e.g. `3103`.
fn lookup_exact(ai: &str) -> Result<&'static Spec, BarcodeError> {
    match lookup(ai) {
        Ok((spec, len)) if len == ai.len() => Ok(spec),
        Ok(_) | Err(BarcodeError::UnknownAi(_)) => Err(BarcodeError::UnknownAi(ai.to_string())),
        Err(e) => Err(e),
    }
}

/// Whether `c` is in GS1's character set 82 (the characters an alphanumeric AI may hold).
fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

fn validate(ai: &str, spec: &Spec, value: &str) -> Result<(), BarcodeError> {
    if value.is_empty() {
        return Err(BarcodeError::AiEmpty(ai.to_string()));
    }
    if let Some(n) = spec.fixed {
        if value.len() != n {
            return Err(BarcodeError::AiLength {
                ai: ai.to_string(),
                want: n,
                got: value.len(),
            });
        }
    } else if value.len() > spec.max {
        return Err(BarcodeError::AiTooLong {
            ai: ai.to_string(),
            max: spec.max,
            got: value.len(),
        });
    }
    let digits = value.bytes().all(|c| c.is_ascii_digit());
    match spec.format {
        Numeric | NumericCheck | Date | Currency if !digits => {
            Err(BarcodeError::AiNotNumeric(ai.to_string()))
        }
        NumericCheck if !gtin::has_valid_check(value) => Err(BarcodeError::AiCheckDigit {
            ai: ai.to_string(),
            value: value.to_string(),
        }),
        Date => {
            let n = |r: std::ops::Range<usize>| value[r].parse::<u32>().unwrap_or(99);
            let (yy, mm, dd) = (n(0..2), n(2..4), n(4..6));
            // GS1's century window puts every YY within ±50 years of today; for checking that
            // a day exists, 20YY is right until 2050 (and 2000 was a leap year either way).
            let ok = (1..=12).contains(&mm) && dd <= days_in_month(2000 + yy, mm);
            if ok {
                Ok(())
            } else {
                Err(BarcodeError::AiDate {
                    ai: ai.to_string(),
                    value: value.to_string(),
                })
            }
        }
        Currency if value.len() < 4 => Err(BarcodeError::AiLength {
            ai: ai.to_string(),
            want: 4,
            got: value.len(),
        }),
        Alnum => match value.chars().find(|c| !is_cset82(*c)) {
            Some(c) => Err(BarcodeError::AiCharacter {
                ai: ai.to_string(),
                found: c,
            }),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn push(out: &mut Vec<(String, String)>, ai: &str, value: &str) -> Result<(), BarcodeError> {
    if let Some((_, first)) = out.iter().find(|(a, _)| a == ai) {
        if first != value {
            return Err(BarcodeError::AiRepeated(ai.to_string()));
        }
        return Ok(());
    }
    out.push((ai.to_string(), value.to_string()));
    Ok(())
}

/// Parses a raw element string (AIs back to back, GS after each variable-length value that is
/// not last). Returns (AI, value) pairs in order.
pub fn parse_raw(data: &str) -> Result<Vec<(String, String)>, BarcodeError> {
    let mut out = Vec::new();
    let mut rest = data.trim_start_matches(GS);
    while !rest.is_empty() {
        let (spec, ai_len) = lookup(rest)?;
        let ai = &rest[..ai_len];
        rest = &rest[ai_len..];
        let value = match spec.fixed {
            Some(n) => {
                let end = rest.char_indices().nth(n).map_or(rest.len(), |(i, _)| i);
                let v = &rest[..end];
                if v.contains(GS) || v.chars().count() < n {
                    let got = v.split(GS).next().unwrap_or("").chars().count();
                    return Err(BarcodeError::AiLength {
                        ai: ai.to_string(),
                        want: n,
                        got,
                    });
                }
                rest = &rest[end..];
                v
            }
            None => {
                let end = rest.find(GS).unwrap_or(rest.len());
                let v = &rest[..end];
                rest = &rest[end..];
                v
            }
        };
        validate(ai, spec, value)?;
        push(&mut out, ai, value)?;
        // A separator is required after a variable value and tolerated after a fixed one.
        rest = rest.strip_prefix(GS).unwrap_or(rest);
    }
    if out.is_empty() {
        return Err(BarcodeError::Empty);
    }
    Ok(out)
}

/// Parses bracket notation: `(01)09520123456788(3103)000195`.
pub fn parse_brackets(data: &str) -> Result<Vec<(String, String)>, BarcodeError> {
    let mut out = Vec::new();
    let mut rest = data.trim();
    if !rest.starts_with('(') {
        return Err(BarcodeError::Brackets("must start with `(`".into()));
    }
    while let Some(after) = rest.strip_prefix('(') {
        let close = after
            .find(')')
            .ok_or_else(|| BarcodeError::Brackets("an `(` has no `)`".into()))?;
        let ai = &after[..close];
        if ai.len() < 2 || ai.len() > 4 || !ai.bytes().all(|c| c.is_ascii_digit()) {
            return Err(BarcodeError::Brackets(format!("`({ai})` is not an AI")));
        }
        let spec = lookup_exact(ai)?;
        let body = &after[close + 1..];
        let end = body.find('(').unwrap_or(body.len());
        let value = &body[..end];
        validate(ai, spec, value)?;
        push(&mut out, ai, value)?;
        rest = &body[end..];
    }
    if !rest.is_empty() {
        return Err(BarcodeError::Brackets(format!("unexpected `{rest}`")));
    }
    Ok(out)
}

/// Scales a decimal AI value: `value` with `decimals` decimals, times 10^`shift`, rounded.
pub(super) fn scaled(value: &str, decimals: u32, shift: u32) -> Option<i64> {
    let v: i128 = value.parse().ok()?;
    let num = v.checked_mul(10i128.checked_pow(shift)?)?;
    let den = 10i128.checked_pow(decimals)?;
    i64::try_from((num + den / 2) / den).ok()
}
