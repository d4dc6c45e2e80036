//! GTIN check digits (GS1 mod 10), UPC-E expansion, and normalisation to GTIN-14.

use super::BarcodeError;

/// The GS1 mod-10 check digit of `data` (digits only, check digit excluded): weights 3,1,3,1…
/// from the rightmost digit.
pub fn check_digit(data: &[u8]) -> u8 {
    let sum: u32 = data
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Whether the last digit of `code` is the right check digit for the rest.
pub fn has_valid_check(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() >= 2
        && b.iter().all(u8::is_ascii_digit)
        && check_digit(&b[..b.len() - 1]) == b[b.len() - 1] - b'0'
}

/// Refuses `code` unless its check digit is right.
pub fn verify(code: &str) -> Result<(), BarcodeError> {
    if has_valid_check(code) {
        return Ok(());
    }
    let b = code.as_bytes();
    Err(BarcodeError::CheckDigit {
        code: code.to_string(),
        expected: check_digit(&b[..b.len() - 1]),
        found: b[b.len() - 1] - b'0',
    })
}

/// Expands an 8-digit UPC-E (number system, six digits, check) to its 12-digit UPC-A.
pub fn upc_e_to_a(code: &str) -> Result<String, BarcodeError> {
    let b = code.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return Err(BarcodeError::Length {
            digits: b.len(),
            what: "UPC-E",
        });
    }
    if b[0] != b'0' && b[0] != b'1' {
        return Err(BarcodeError::UpcENumberSystem(b[0] - b'0'));
    }
    let d = &code[1..7];
    let (d1, d2, d3, d4, d5, d6) = (&d[0..1], &d[1..2], &d[2..3], &d[3..4], &d[4..5], &d[5..6]);
    let body = match d6 {
        "0" | "1" | "2" => format!("{d1}{d2}{d6}0000{d3}{d4}{d5}"),
        "3" => format!("{d1}{d2}{d3}00000{d4}{d5}"),
        "4" => format!("{d1}{d2}{d3}{d4}00000{d5}"),
        _ => format!("{d1}{d2}{d3}{d4}{d5}0000{d6}"),
    };
    let data = format!("{}{body}", &code[0..1]);
    let check = check_digit(data.as_bytes());
    let upc_a = format!("{data}{check}");
    if check != b[7] - b'0' {
        return Err(BarcodeError::CheckDigit {
            code: code.to_string(),
            expected: check,
            found: b[7] - b'0',
        });
    }
    Ok(upc_a)
}

/// Left-pads a verified GTIN-8/12/13/14 to 14 digits, the form used for lookup.
pub fn to_gtin14(code: &str) -> String {
    format!("{code:0>14}")
}

/// The shorter forms a GTIN-14 may be printed and stored as (14, 13, 12 and 8 digits), for lookup
/// against catalogs that keep whichever form was on the label.
pub fn lookup_forms(gtin14: &str) -> Vec<String> {
    let mut forms = vec![gtin14.to_string()];
    for len in [13, 12, 8] {
        let cut = gtin14.len() - len;
        if gtin14[..cut].bytes().all(|c| c == b'0') {
            forms.push(gtin14[cut..].to_string());
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_the_reference_vectors() {
        for code in ["6901234567892", "4006381333931", "96385074", "036000291452"] {
            assert!(has_valid_check(code), "{code}");
        }
        assert!(!has_valid_check("6901234567893"));
        assert_eq!(upc_e_to_a("01234565").unwrap(), "012345000065");
        assert_eq!(to_gtin14("96385074"), "00000096385074");
        assert_eq!(
            lookup_forms("00000096385074"),
            [
                "00000096385074",
                "0000096385074",
                "000096385074",
                "96385074"
            ]
        );
        assert_eq!(lookup_forms("16901234567899"), ["16901234567899"]);
    }
}
