//! The decoder against BARCODES.md's vectors and our own, every refusal, and random input.

use flashpick::model::barcode::{
    BarcodeError, CodeKind, DecodeRules, Decoded, ScaleLayout, Symbology, decode, gtin,
};
use proptest::prelude::*;

fn layout(name: &str, letters: &str, flags: &[&str]) -> ScaleLayout {
    ScaleLayout {
        name: name.into(),
        layout: letters.into(),
        flags: flags.iter().map(|f| f.to_string()).collect(),
        weight_decimals: 3,
        amount_decimals: 2,
        check_digit: true,
    }
}

pub fn rules() -> DecodeRules {
    DecodeRules {
        scale: vec![
            layout("weight", "FFWWWWWNNNNNC", &["21", "22"]),
            layout("amount", "FFWWWWWEEEEEC", &["20"]),
            layout("combo", "FFWWWWWEEEEENNNNNC", &["28"]),
        ],
        badge_prefixes: vec!["PK".into()],
        order_prefixes: vec!["MT".into(), "JD".into()],
        slot_prefixes: vec!["SLOT-".into()],
    }
}

fn gs(s: &str) -> String {
    s.replace("<GS>", "\u{1d}")
}

fn ok(input: &str) -> Decoded {
    decode(&gs(input), &rules()).unwrap_or_else(|e| panic!("{input}: {e}"))
}

#[test]
fn gtins_in_every_length_normalise_to_gtin_14() {
    let cases = [
        ("6901234567892", "06901234567892", None),
        ("4006381333931", "04006381333931", None),
        ("96385074", "00000096385074", None),
        ("036000291452", "00036000291452", None),
        ("01234565", "00012345000065", None),
        ("00036000291452", "00036000291452", None),
        ("]E06901234567892", "06901234567892", Some(Symbology::Ean13)),
        ("]E04006381333931", "04006381333931", Some(Symbology::Ean13)),
        ("]E496385074", "00000096385074", Some(Symbology::Ean8)),
        (
            "]C06901234567892",
            "06901234567892",
            Some(Symbology::Code128),
        ),
        // Starts with 2, but 23 is no scale's flag here: an ordinary GTIN.
        ("2300000000009", "02300000000009", None),
    ];
    for (input, want, symbology) in cases {
        let d = ok(input);
        assert_eq!(d.kind, Some(CodeKind::Gtin), "{input}");
        assert_eq!(d.gtin.as_deref(), Some(want), "{input}");
        assert_eq!(d.symbology, symbology, "{input}");
    }
}

#[test]
fn gs1_element_strings_raw_and_bracketed() {
    let d = ok("]C1011231231231233310ABC123<GS>99TESTING");
    assert_eq!(d.kind, Some(CodeKind::Gs1));
    assert_eq!(d.symbology, Some(Symbology::Gs1128));
    assert_eq!(d.gtin.as_deref(), Some("12312312312333"));
    let ais: Vec<(&str, &str)> = d
        .ais
        .iter()
        .map(|(a, v)| (a.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        ais,
        [
            ("01", "12312312312333"),
            ("10", "ABC123"),
            ("99", "TESTING")
        ]
    );

    let d = ok("0109520123456788310300019539220299<GS>17201225");
    assert_eq!(d.gtin.as_deref(), Some("09520123456788"));
    assert_eq!(d.weight_g, Some(195));
    assert_eq!(d.amount_fen, Some(299));
    assert!(d.ais.contains(&("17".into(), "201225".into())));

    let d = ok("(01)09520123456788(3103)000195(17)201225(10)L-7");
    assert_eq!(d.weight_g, Some(195));
    assert_eq!(d.ais.len(), 4);

    // Pounds, price with currency (CNY), DataMatrix and QR with GS1 data, a fixed AI followed
    // by a superfluous GS, and a leap day.
    assert_eq!(ok("]d20109520123456788<GS>3202000100").weight_g, Some(454));
    assert_eq!(ok("]Q30109520123456788393215601299").amount_fen, Some(1299));
    assert_eq!(
        ok("]e00109520123456788393184001299").amount_fen,
        None,
        "USD is not fen"
    );
    assert_eq!(ok("]C100095201234567890108<GS>15240229").ais.len(), 2);
    assert_eq!(ok("]C13103000500").weight_g, Some(500));
    assert_eq!(ok("]C13101000500").weight_g, Some(50_000));
    assert_eq!(ok("]C1370012<GS>300005").ais.len(), 2);
}

#[test]
fn scale_labels_by_the_configured_layouts() {
    let d = ok("2110001003929");
    assert_eq!(d.kind, Some(CodeKind::Scale));
    assert_eq!(
        (d.plu.as_deref(), d.weight_g, d.amount_fen),
        (Some("10001"), Some(392), None)
    );
    let d = ok("2000012012341");
    assert_eq!(
        (d.plu.as_deref(), d.weight_g, d.amount_fen),
        (Some("12"), None, Some(1234))
    );
    let d = ok("]C0280001201234003927");
    assert_eq!(
        (d.plu.as_deref(), d.weight_g, d.amount_fen),
        (Some("12"), Some(392), Some(1234))
    );
    assert_eq!(d.symbology, Some(Symbology::Code128));
    // Decimals are the scale's: the same digits with one decimal of yuan.
    let mut r = rules();
    r.scale[1].amount_decimals = 1;
    assert_eq!(decode("2000012012341", &r).unwrap().amount_fen, Some(12340));
    // A layout with the check digit turned off accepts what the scale prints.
    r.scale[0].check_digit = false;
    r.scale[0].layout = "FFWWWWWNNNNNN".into();
    assert_eq!(decode("2110001003928", &r).unwrap().weight_g, Some(3928));
}

#[test]
fn badges_orders_and_composites() {
    assert_eq!(ok("PK0042").kind, Some(CodeKind::Badge));
    assert_eq!(ok("]C0PK0042").data, "PK0042");
    assert_eq!(ok("MT889900").kind, Some(CodeKind::Order));
    assert_eq!(ok("]Q1JD12345").kind, Some(CodeKind::Order));
    let d = ok("]E06901234567892|]e01098765<GS>17261231");
    assert_eq!(d.kind, Some(CodeKind::Gs1));
    assert_eq!(d.gtin.as_deref(), Some("06901234567892"));
    assert_eq!(
        d.ais,
        [
            ("10".into(), "98765".into()),
            ("17".into(), "261231".into())
        ]
    );
}

#[test]
fn every_refusal_has_its_own_reason() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("]E0", "empty"),
        ("690123456789\u{7}", "control_character"),
        ("6901234567892\r", "control_character"),
        ("]X9123", "unknown_aim"),
        ("]E", "unknown_aim"),
        ("6901234567893", "check_digit"),
        ("]E496385075", "check_digit"),
        ("12345", "length"),
        ("]E4123", "length"),
        ("]E0ABC", "not_digits"),
        ("]C18012345", "unknown_ai"),
        ("]C13106000195", "ai_decimals"),
        ("]C110<GS>21X", "ai_empty"),
        ("]C101123", "ai_length"),
        ("]C121ABCDEFGHIJKLMNOPQRSTU", "ai_too_long"),
        ("]C130ABC", "ai_not_numeric"),
        ("]C110AB#C", "ai_character"),
        ("]C117201345", "ai_date"),
        ("]C117250229", "ai_date"),
        ("]C117240431", "ai_date"),
        ("]C10112312312312334", "ai_check_digit"),
        ("(01)95012345678902(3103)000123", "ai_check_digit"),
        ("]C110A<GS>10B", "ai_repeated"),
        ("(01", "brackets"),
        ("(0)1", "brackets"),
        ("2110001003928", "scale_check_digit"),
        ("]E06901234567892|]E04006381333931", "composite"),
        ("1|2|3", "composite"),
        // Found by the fuzzer: a multi-byte character where a decimals digit belongs.
        ("]C1393\u{37d}3", "ai_decimals"),
        ("(393\u{37d})1", "brackets"),
        ("HELLO", "not_recognized"),
        ("超市", "not_recognized"),
    ];
    for (input, want) in cases {
        let e = decode(&gs(input), &rules()).expect_err(input);
        assert_eq!(e.code(), *want, "{input:?}: {e}");
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        gtin::upc_e_to_a("21234565"),
        Err(BarcodeError::UpcENumberSystem(2))
    );
}

#[test]
fn scale_layouts_are_validated_at_load() {
    let bad = [
        layout("x", "FFWWWWWNNNNN", &["21"]),
        layout("x", "FFWWWWWNNNNXC", &["21"]),
        layout("x", "WFFWWWWNNNNNC", &["21"]),
        layout("x", "FFWWWWWNNNNCN", &["21"]),
        layout("x", "FFNNNNNNNNNNC", &["21"]),
        layout("x", "FFWWWNNWWNNNC", &["21"]),
        layout("x", "FFWWWWWNNNNNC", &["2"]),
        layout("x", "FFWWWWWNNNNNC", &[]),
    ];
    for l in bad {
        assert!(l.validate().is_err(), "{l:?}");
    }
    for l in rules().scale {
        l.validate().unwrap();
    }
}

/// One input decoded twice: the same answer; a refusal with a reason; a GTIN only of 14 digits
/// with its check digit; a weight only of a weighed code.
fn decoded_well(text: &str) -> Result<(), TestCaseError> {
    let first = decode(text, &rules());
    prop_assert_eq!(&first, &decode(text, &rules()), "one input, two answers");
    match first {
        Err(e) => prop_assert!(
            !e.to_string().trim().is_empty(),
            "a refusal without a reason"
        ),
        Ok(d) => {
            if let Some(g) = &d.gtin {
                prop_assert!(
                    g.len() == 14 && g.bytes().all(|b| b.is_ascii_digit()),
                    "GTIN {g} from {text:?}"
                );
                prop_assert_eq!(
                    gtin::check_digit(&g.as_bytes()[..13]),
                    g.as_bytes()[13] - b'0',
                    "GTIN {} from {:?} has a wrong check digit",
                    g,
                    text
                );
            }
            if let Some(w) = d.weight_g {
                prop_assert!(w >= 0, "a negative weight from {text:?}");
            }
        }
    }
    Ok(())
}

proptest! {
    /// Any bytes a scanner may send: a value or a refusal that says why, the same answer for the
    /// same input, and a value only with a well-formed GTIN (the fuzz target runs far longer).
    #[test]
    fn arbitrary_bytes_get_a_checked_value_or_a_reason(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let text = String::from_utf8_lossy(&bytes);
        decoded_well(&text)?;
    }

    #[test]
    fn gs1_looking_input_gets_a_checked_value_or_a_reason(s in "(\\]C1|\\(|)[0-9A-Z()\u{1d}]{0,40}") {
        decoded_well(&s)?;
    }

    #[test]
    fn every_13_digit_code_with_its_check_digit_decodes(body in "[3-9][0-9]{11}") {
        let check = gtin::check_digit(body.as_bytes());
        let code = format!("{body}{check}");
        let d = decode(&code, &rules()).unwrap();
        prop_assert_eq!(d.gtin, Some(format!("0{code}")));
        let wrong = format!("{body}{}", (check + 1) % 10);
        prop_assert!(decode(&wrong, &rules()).is_err());
    }
}
