//! The store's documents, in the printer's language and for its paper width: the order slip
//! (printed on accept), the pick list (on claim), a label per bag (on pack: the day number large,
//! bag k of n, the pickup code, the order's barcode that hands it over when scanned), and a
//! test page. Pure: an order and where its items are in, a [`Doc`] out.

use super::doc::{Align, Block, Doc, Size, columns2};
use crate::model::text::{fit, width, wrap};
use crate::model::{Delivery, Lang, Order, Platform, Timestamp, Unit, china_time};
use crate::store::LineWalk;

/// Which document: the store's name for it (the print jobs store it).
pub use crate::store::print::Document as Kind;

/// An order as the documents need it.
#[derive(Debug, Clone, Copy)]
pub struct OrderDoc<'a> {
    /// The order.
    pub order: &'a Order,
    /// Where each line's item is (any order: the documents sort by walk).
    pub walk: &'a [LineWalk],
    /// The order's own code (`order_prefixes` + id): on labels as a barcode.
    pub code: &'a str,
    /// Printed at.
    pub now: Timestamp,
}

struct Words {
    slip: &'static str,
    pick_list: &'static str,
    due: &'static str,
    placed: &'static str,
    order: &'static str,
    remark: &'static str,
    pickup: &'static str,
    own_rider: &'static str,
    location: &'static str,
    item: &'static str,
    qty: &'static str,
    weighed: &'static str,
    lines_units: &'static str,
    picker: &'static str,
    printed: &'static str,
    bag: &'static str,
    test: &'static str,
    printer: &'static str,
    per_line: &'static str,
    sample: &'static str,
    pieces: &'static str,
    grams: &'static str,
    slot: &'static str,
}

const ZH: Words = Words {
    slip: "订单小票",
    pick_list: "拣货单",
    due: "拣货截止",
    placed: "下单",
    order: "单号",
    remark: "备注：",
    pickup: "顾客自提 取货码",
    own_rider: "本店骑手配送",
    location: "货位",
    item: "商品",
    qty: "数量",
    weighed: "称重",
    lines_units: "共 {lines} 行 · {units} 件",
    picker: "拣货员",
    printed: "打印于",
    bag: "第 {k}/{n} 袋",
    test: "打印测试",
    printer: "打印机",
    per_line: "每行 {n} 字",
    sample: "中文：农夫山泉 饮用天然水 550ml",
    pieces: "件",
    grams: "克",
    slot: "{s} 格",
};

const EN: Words = Words {
    slip: "ORDER SLIP",
    pick_list: "PICK LIST",
    due: "Pick by",
    placed: "placed",
    order: "Order",
    remark: "Remark: ",
    pickup: "Customer pickup, code",
    own_rider: "Store's own rider",
    location: "Loc",
    item: "Item",
    qty: "Qty",
    weighed: "weighed",
    lines_units: "{lines} lines · {units} units",
    picker: "Picker",
    printed: "Printed",
    bag: "Bag {k} of {n}",
    test: "TEST PAGE",
    printer: "Printer",
    per_line: "{n} characters a line",
    sample: "中文：农夫山泉 饮用天然水 550ml",
    pieces: "",
    grams: "g",
    slot: "Slot {s}",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// The platform as staff call it, in the document's language.
fn platform_name(p: Platform, lang: Lang) -> &'static str {
    match (p, lang) {
        (Platform::Meituan, Lang::Zh) => "美团",
        (Platform::Jddj, Lang::Zh) => "京东到家",
        (Platform::Hq, Lang::Zh) => "总部",
        (p, Lang::En) => p.label(),
    }
}

/// The order slip or the pick list.
pub fn slip(o: OrderDoc<'_>, kind: Kind, lang: Lang, columns: usize) -> Doc {
    let w = words(lang);
    let order = o.order;
    let mut d = Doc::new(columns);
    d.push(Block::Rule('='));
    let title = format!("{} #{}", platform_name(order.platform, lang), order.day_seq);
    d.styled(title, true, Size::Double, Align::Center);
    // Picked in a batch: the cart's slot, as large as the number.
    if let Some(b) = &order.batch {
        let slot = w.slot.replace("{s}", &b.slot);
        d.styled(slot, true, Size::Double, Align::Center);
    }
    let name = if kind == Kind::PickList {
        w.pick_list
    } else {
        w.slip
    };
    d.styled(name, false, Size::Normal, Align::Center);
    d.bold(format!(
        "{} {} · {} {}",
        w.due,
        &china_time::time_of_day(order.pick_deadline)[..5],
        w.placed,
        &china_time::time_of_day(order.placed_at)[..5]
    ));
    d.line(format!("{} {} · {}", w.order, o.code, order.external_id));
    match order.delivery {
        Some(Delivery::Pickup) => {
            let code = order.pickup_code.as_deref().unwrap_or("-");
            d.bold(format!("{} {code}", w.pickup));
        }
        Some(Delivery::Store) => {
            d.line(w.own_rider);
        }
        _ => {}
    }
    if let Some(remark) = order.remark.as_deref().filter(|r| !r.trim().is_empty()) {
        d.bold(format!("{}{}", w.remark, remark.trim()));
    }
    d.push(Block::Rule('-'));
    for row in item_rows(w.location, w.item, w.qty, columns) {
        d.line(row);
    }
    let mut lines: Vec<_> = order.lines.iter().collect();
    let at = |n: u32| o.walk.iter().find(|x| x.line_no == n);
    lines.sort_by_key(|l| (at(l.line_no).map_or(i64::MAX, |x| x.walk_seq), l.line_no));
    let mut units = 0;
    for l in &lines {
        let place = at(l.line_no);
        let weighed = place.is_some_and(|x| x.unit == Unit::Gram);
        let spec = place.and_then(|x| x.spec.as_deref()).unwrap_or("");
        let qty = if weighed {
            units += 1;
            format!("{}{}", l.qty, w.grams)
        } else {
            units += l.qty;
            format!("{}{}", l.qty, w.pieces)
        };
        let name = if spec.is_empty() {
            l.name.clone()
        } else {
            format!("{} {spec}", l.name)
        };
        let location = place.map_or("?", |x| x.location.as_str());
        // The whole name, wrapped under its column: the picker reads it on the shelf.
        for row in item_rows(location, &name, &qty, columns) {
            d.line(row);
        }
        if weighed {
            d.line(format!("{}{}", " ".repeat(LOCATION + 1), w.weighed));
        }
    }
    d.push(Block::Rule('-'));
    d.bold(
        w.lines_units
            .replace("{lines}", &lines.len().to_string())
            .replace("{units}", &units.to_string()),
    );
    if kind == Kind::PickList
        && let Some(p) = &order.picker
    {
        d.line(format!("{} {p}", w.picker));
    }
    d.line(format!("{} {}", w.printed, china_time::format(o.now)));
    d.push(Block::Feed(2)).push(Block::Cut);
    d
}

/// Columns of the location on the item lines.
const LOCATION: usize = 7;
/// Columns of the quantity, right-aligned.
const QTY: usize = 6;

/// location · name · quantity, the quantity on the right edge of the first line; a long name
/// goes on under its own column.
fn item_rows(location: &str, name: &str, qty: &str, columns: usize) -> Vec<String> {
    let name_cols = columns.saturating_sub(LOCATION + QTY + 2).max(2);
    let qty = format!("{}{qty}", " ".repeat(QTY.saturating_sub(width(qty))));
    let mut pieces = wrap(name, name_cols).into_iter();
    let first = pieces.next().unwrap_or_default();
    let mut rows = vec![format!(
        "{} {} {qty}",
        fit(location, LOCATION),
        fit(&first, name_cols)
    )];
    rows.extend(pieces.map(|p| format!("{}{}", " ".repeat(LOCATION + 1), p.trim_end())));
    rows
}

/// The label of bag `k` of `n`.
pub fn label(o: OrderDoc<'_>, k: u32, n: u32, lang: Lang, columns: usize) -> Doc {
    let w = words(lang);
    let order = o.order;
    let mut d = Doc::new(columns);
    d.styled(
        platform_name(order.platform, lang),
        true,
        Size::Double,
        Align::Center,
    );
    d.styled(
        format!("#{}", order.day_seq),
        true,
        Size::Triple,
        Align::Center,
    );
    let bag = w
        .bag
        .replace("{k}", &k.to_string())
        .replace("{n}", &n.to_string());
    d.styled(bag, true, Size::Double, Align::Center);
    if let Some(b) = &order.batch {
        let slot = w.slot.replace("{s}", &b.slot);
        d.styled(slot, true, Size::Normal, Align::Center);
    }
    if order.delivery == Some(Delivery::Pickup)
        && let Some(code) = &order.pickup_code
    {
        d.styled(
            format!("{} {code}", w.pickup),
            true,
            Size::Normal,
            Align::Center,
        );
    }
    d.push(Block::Barcode(o.code.to_string()));
    d.styled(o.code, false, Size::Normal, Align::Center);
    d.push(Block::Feed(1)).push(Block::Cut);
    d
}

/// A test page: the printer's name and width, the encoding, Chinese, a ruler, a barcode.
pub fn test_page(printer: &str, lang: Lang, columns: usize, now: Timestamp) -> Doc {
    let w = words(lang);
    let mut d = Doc::new(columns);
    d.styled("flashpick", true, Size::Double, Align::Center);
    d.styled(w.test, false, Size::Normal, Align::Center);
    d.line(columns2(
        &format!("{} {printer}", w.printer),
        &w.per_line.replace("{n}", &columns.to_string()),
        columns,
    ));
    d.line("GB18030");
    d.line(w.sample);
    let ruler: String = (1..=columns)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    d.line(ruler);
    d.push(Block::Rule('-'));
    d.push(Block::Barcode("TEST-0001".into()));
    d.line(format!("{} {}", w.printed, china_time::format(now)));
    d.push(Block::Feed(2)).push(Block::Cut);
    d
}
