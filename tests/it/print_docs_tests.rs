//! The printed documents as text, for 58 mm (32 characters) and 80 mm (48) paper in both
//! languages: every line fits the paper by display width (Chinese two columns), the quantities
//! line up on the right edge, and the label carries the order's code as its barcode and bag k
//! of n. Snapshots show each document as it falls on paper.

use flashpick::model::text::width;
use flashpick::model::{
    Delivery, Fen, Lang, Order, OrderId, OrderLine, OrderState, Platform, SkuCode, Timestamp, Unit,
};
use flashpick::print::{Block, Kind, OrderDoc, label, render_text, slip, test_page};
use flashpick::store::LineWalk;

/// 2027-01-15 16:00 in China.
pub(crate) const NOW: Timestamp = Timestamp(1_800_000_000_000);

pub(crate) fn order() -> (Order, Vec<LineWalk>) {
    let line = |n: u32, sku: &str, name: &str, qty: i64| OrderLine {
        line_no: n,
        sku: SkuCode::new(sku),
        name: name.into(),
        qty,
        picked: 0,
        short: 0,
        short_reason: None,
        unit_price: Fen(350),
        weighed_g: None,
        put_back: 0,
    };
    let walk = |n: u32, location: &str, seq: i64, unit: Unit, spec: &str| LineWalk {
        line_no: n,
        location: location.into(),
        walk_seq: seq,
        unit,
        spec: (!spec.is_empty()).then(|| spec.to_string()),
    };
    let order = Order {
        id: OrderId(1042),
        platform: Platform::Meituan,
        external_id: "27012345678901".into(),
        day_seq: 23,
        state: OrderState::Accepted,
        picker: Some("p1".into()),
        lines: vec![
            line(1, "DR001", "农夫山泉 饮用天然水", 3),
            line(2, "DA001", "光明 鲜牛奶", 1),
            line(3, "VG001", "山东 西红柿", 500),
            line(4, "SN001", "乐事 薯片 黄瓜味 超大包装 家庭分享装", 2),
        ],
        return_pending: false,
        bags: Some(2),
        cancel_reason: None,
        placed_at: Timestamp(NOW.0 - 5 * 60_000),
        pick_deadline: Timestamp(NOW.0 + 20 * 60_000),
        pickup_code: Some("8866".into()),
        delivery: Some(Delivery::Pickup),
        remark: Some("缺货时电话与我沟通，不要香菜".into()),
        unknown_items: Vec::new(),
        rider: None,
        reminded_at: None,
        batch: None,
    };
    let walk = vec![
        walk(1, "A-01-1", 10, Unit::Piece, "550ml"),
        walk(2, "B-01-1", 20, Unit::Piece, "950ml"),
        walk(3, "F-02-2", 30, Unit::Gram, ""),
        walk(4, "C-03-4", 15, Unit::Piece, "135g"),
    ];
    (order, walk)
}

#[test]
fn each_document_fits_its_paper_in_both_languages() {
    let (o, walk) = order();
    let doc = OrderDoc {
        order: &o,
        walk: &walk,
        code: "ORD1042",
        now: NOW,
    };
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        for columns in [32usize, 48] {
            let docs = [
                ("slip", slip(doc, Kind::Slip, lang, columns)),
                ("pick_list", slip(doc, Kind::PickList, lang, columns)),
                ("label", label(doc, 1, 2, lang, columns)),
                ("test_page", test_page("前台", lang, columns, NOW)),
            ];
            for (name, d) in docs {
                for (line, block) in d.laid_out() {
                    let size = match block {
                        Block::Text(s) => s.size.factor(),
                        _ => 1,
                    };
                    assert!(
                        width(&line) * size <= columns,
                        "{name} {tag} {columns}: `{line}` is {} columns ×{size}",
                        width(&line)
                    );
                }
                insta::assert_snapshot!(format!("print_{name}_{tag}_{columns}"), render_text(&d));
            }
            // Quantities end on the right edge, whatever the names' widths; long names wrap
            // whole under their column.
            let text = render_text(&slip(doc, Kind::Slip, lang, columns));
            let qty_rows: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.starts_with("A-01-1") || l.starts_with("F-02-2") || l.starts_with("C-03-4")
                })
                .collect();
            assert_eq!(qty_rows.len(), 3, "{text}");
            for r in &qty_rows {
                assert_eq!(width(r), columns, "`{r}` ({tag} {columns})");
            }
            // In shelf walk order: A, then C, then B.
            let a = text.find("A-01-1").unwrap();
            let c = text.find("C-03-4").unwrap();
            let b = text.find("B-01-1").unwrap();
            assert!(a < c && c < b, "{text}");
            // Every character of the long name, in order (the quantity sits on its first line).
            let mut rest = text.chars();
            let whole = "乐事 薯片 黄瓜味 超大包装 家庭分享装"
                .chars()
                .filter(|c| !c.is_whitespace())
                .all(|c| rest.any(|t| t == c));
            assert!(whole, "{text}");
        }
    }
}

#[test]
fn a_label_carries_the_order_code_as_its_barcode_and_its_bag_number() {
    let (o, walk) = order();
    let doc = OrderDoc {
        order: &o,
        walk: &walk,
        code: "ORD1042",
        now: NOW,
    };
    for k in 1..=2 {
        let d = label(doc, k, 2, Lang::Zh, 32);
        let codes: Vec<&str> = d
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Barcode(c) => Some(c.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(codes, ["ORD1042"]);
        let text = render_text(&d);
        assert!(text.contains(&format!("第 {k}/2 袋")), "{text}");
        assert!(text.contains("#23"), "{text}");
        assert!(text.contains("取货码 8866"), "{text}");
    }
}

/// An order picked in a batch carries its cart slot on its pick list and its labels, as large
/// as staff need to match bag and slot.
#[test]
fn a_batched_orders_slot_is_on_its_pick_list_and_labels() {
    use flashpick::model::batch::BatchSlot;
    let (mut o, walk) = order();
    o.batch = Some(Box::new(BatchSlot {
        batch: 7,
        slot: "C".into(),
    }));
    let doc = OrderDoc {
        order: &o,
        walk: &walk,
        code: "ORD1042",
        now: NOW,
    };
    for (lang, word) in [(Lang::Zh, "C 格"), (Lang::En, "Slot C")] {
        let list = render_text(&slip(doc, Kind::PickList, lang, 32));
        assert!(
            list.lines().any(|l| l.contains(word) && l.contains("×2")),
            "{list}"
        );
        let tag = render_text(&label(doc, 1, 2, lang, 32));
        assert!(tag.contains(word), "{tag}");
    }
}
