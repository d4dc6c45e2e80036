//! The printer's bytes, read back by the tests' own ESC/POS decoder (`escpos_decode.rs`, written
//! from the command reference apart from the printing code): every line of every document comes
//! back as laid out — Chinese exactly, from GB18030 — with its bold and size; the quantities
//! still end on the paper's edge; a label's barcode is the order's code; one cut a document.

use crate::escpos_decode::decode;
use flashpick::model::Lang;
use flashpick::model::text::width;
use flashpick::print::bytes::encode;
use flashpick::print::{Block, Doc, Kind, OrderDoc, label, slip, test_page};

fn check(d: &Doc, what: &str) -> crate::escpos_decode::Paper {
    let bytes = encode(d).unwrap();
    let paper = decode(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!((paper.inits, paper.cuts), (1, 1), "{what}");
    // Every text line and rule as laid out, in order, with its style (feeds are blank lines).
    let expected: Vec<(String, bool, u8)> = d
        .laid_out()
        .into_iter()
        .filter_map(|(line, b)| match b {
            Block::Text(s) => Some((line, s.bold, s.size.factor() as u8)),
            Block::Rule(_) => Some((line, false, 1)),
            _ => None,
        })
        .collect();
    let printed: Vec<(String, bool, u8)> = paper
        .lines
        .iter()
        .filter(|l| !l.text.is_empty())
        .map(|l| {
            assert_eq!(l.size.0, l.size.1, "{what}: {l:?}");
            (l.text.clone(), l.bold, l.size.0)
        })
        .collect();
    assert_eq!(printed, expected, "{what}");
    paper
}

#[test]
fn every_document_prints_back_as_laid_out() {
    let (o, walk) = crate::print_docs_tests::order();
    let doc = OrderDoc {
        order: &o,
        walk: &walk,
        code: "ORD1042",
        now: crate::print_docs_tests::NOW,
    };
    for lang in [Lang::Zh, Lang::En] {
        for columns in [32usize, 48] {
            let what = format!("{lang:?} {columns}");
            let paper = check(
                &slip(doc, Kind::Slip, lang, columns),
                &format!("slip {what}"),
            );
            // The names decoded exactly, and the quantities on the edge.
            let rows: Vec<&str> = paper
                .lines
                .iter()
                .map(|l| l.text.as_str())
                .filter(|t| t.starts_with("A-01-1") || t.starts_with("B-01-1"))
                .collect();
            assert_eq!(rows.len(), 2, "{what}");
            assert!(rows.iter().all(|r| width(r) == columns), "{rows:?}");
            assert!(
                paper
                    .lines
                    .iter()
                    .any(|l| l.text.contains("光明 鲜牛奶 950ml")),
                "{what}"
            );
            check(
                &slip(doc, Kind::PickList, lang, columns),
                &format!("pick list {what}"),
            );
            for k in 1..=3 {
                let paper = check(&label(doc, k, 3, lang, columns), &format!("label {what}"));
                assert_eq!(paper.barcodes, ["ORD1042"], "{what}");
                let bag = if lang == Lang::Zh {
                    format!("第 {k}/3 袋")
                } else {
                    format!("Bag {k} of 3")
                };
                let line = paper.lines.iter().find(|l| l.text.contains(&bag)).unwrap();
                assert_eq!(line.size, (2, 2), "{what}");
                let day = paper.lines.iter().find(|l| l.text.trim() == "#23").unwrap();
                assert_eq!(day.size, (3, 3), "{what}");
            }
            let paper = check(
                &test_page("前台", lang, columns, crate::print_docs_tests::NOW),
                &format!("test page {what}"),
            );
            assert_eq!(paper.barcodes, ["TEST-0001"]);
        }
    }
}

#[test]
fn the_decoder_refuses_what_it_does_not_know() {
    // A four-byte GB18030 character (an emoji) is not printable by thermal fonts.
    let (emoji, _, _) = encoding_rs::GB18030.encode("😀");
    let mut bytes = vec![0x1B, 0x40, 0x1C, 0x26];
    bytes.extend_from_slice(&emoji);
    assert!(decode(&bytes).is_err());
    // A Chinese character outside the Chinese mode, an unknown command.
    assert!(decode(&[0xC5, 0xA9]).is_err());
    assert!(decode(&[0x1B, 0x74, 0x00]).is_err());
    // What the encoder makes of a remark with an emoji decodes, the emoji as `?`.
    let mut d = Doc::new(32);
    d.line("不要香菜😀");
    let paper = decode(&encode(&d).unwrap()).unwrap();
    assert_eq!(paper.lines[0].text, "不要香菜?");
}
