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

/// `flashpick print test` from outside, as the manager installing printers: a network printer
/// (a fake one on a real socket) and a file printer each get a test page that decodes; a
/// printer that is not there is named with what to check, and the command fails.
#[test]
fn the_print_test_command_reaches_each_printer() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut s, &mut got).unwrap();
        got
    });
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let printed = dir.path().join("printed");
    let text = crate::common::daemon_config(dir.path()).source.0
        + &format!(
            "\n[[printers]]\nname = \"front\"\nkind = \"tcp\"\naddress = \"{addr}\"\npaper_mm = 58\n\
             [[printers]]\nname = \"pack\"\nkind = \"file\"\naddress = \"{}\"\nlang = \"en\"\n\
             [[printers]]\nname = \"gone\"\nkind = \"tcp\"\naddress = \"{dead_addr}\"\n",
            printed.display()
        );
    let config = dir.path().join("store.toml");
    std::fs::write(&config, text).unwrap();
    let run = |args: &[&str]| {
        crate::cli_tests::bin()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    // The two that are there.
    let ok = run(&["print", "test", "--printer", "front"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let paper = decode(&fake.join().unwrap()).unwrap();
    assert_eq!(paper.barcodes, ["TEST-0001"]);
    assert!(paper.lines.iter().any(|l| l.text.contains("打印测试")));
    // 58 mm: 32 characters, the ruler says so.
    assert!(
        paper
            .lines
            .iter()
            .any(|l| l.text == "12345678901234567890123456789012")
    );
    let ok = run(&["print", "test", "--printer", "pack"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let file = std::fs::read_dir(&printed)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let paper = decode(&std::fs::read(file).unwrap()).unwrap();
    assert!(paper.lines.iter().any(|l| l.text.contains("TEST PAGE")));
    // All three: the one not there is named, with what to check; the command fails.
    let all = run(&["print", "test"]);
    assert!(!all.status.success());
    let err = String::from_utf8_lossy(&all.stderr);
    assert!(
        err.contains("printer `gone`") && err.contains("switched on"),
        "{err}"
    );
    // A printer not in the config.
    let none = run(&["print", "test", "--printer", "nope"]);
    assert_eq!(none.status.code(), Some(2));
}

#[test]
fn a_printer_misconfigured_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let base = crate::common::daemon_config(dir.path()).source.0;
    for (entry, key) in [
        (
            "name = \"a\"\nkind = \"tcp\"\naddress = \"10.0.0.9\"\npaper_mm = 57",
            "printers[0].paper_mm",
        ),
        (
            "name = \"a\"\nkind = \"usb\"\naddress = \"lp0\"",
            "printers[0].address",
        ),
        (
            "name = \"a\"\nkind = \"tcp\"\naddress = \"10.0.0.9\"\nencoding = \"utf-8\"",
            "printers[0].encoding",
        ),
        (
            "name = \"a\"\nkind = \"file\"\naddress = \"/tmp/p\"\npaper_mm = 58\ncolumns = 48",
            "printers[0].columns",
        ),
        (
            "name = \"a\"\nkind = \"laser\"\naddress = \"/tmp/p\"",
            "kind",
        ),
        // One printer under two names: their threads would take each other's answers.
        (
            "name = \"a\"\nkind = \"tcp\"\naddress = \"10.0.0.9\"\n[[printers]]\nname = \"b\"\nkind = \"tcp\"\naddress = \"10.0.0.9:9100\"",
            "printers[1].address",
        ),
    ] {
        let text = format!("{base}\n[[printers]]\n{entry}\n");
        let err = flashpick::config::Config::parse(&text, std::path::Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    // A port is optional: 9100, the raw port, by default.
    let text =
        format!("{base}\n[[printers]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"10.0.0.9\"\n");
    let c = flashpick::config::Config::parse(&text, std::path::Path::new("p.toml")).unwrap();
    assert_eq!(c.printers[0].socket_address(), "10.0.0.9:9100");
    assert_eq!(c.printers[0].columns(), 48);
}
