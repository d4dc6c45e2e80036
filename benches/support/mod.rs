//! Set-up shared by the benchmarks that scan into a real daemon.

use flashpick::config::Config;
use flashpick::model::{Fen, OrderEvent, Platform, SkuCode, Timestamp, Unit};
use flashpick::store::{CatalogRow, Ingested, NewLine, NewOrder, Store, StoreOptions};
use std::path::Path;
use std::time::Duration;

/// The barcode of the one item.
pub const CODE: &str = "6901234567892";

/// A store in `dir` with one item and one order of `qty` units, accepted and claimed by p1.
pub fn seed(dir: &Path, qty: i64) -> i64 {
    let store = Store::open(&dir.join("store.db"), StoreOptions::default()).unwrap();
    let row = CatalogRow {
        line: 2,
        sku: SkuCode::new("W550"),
        name: "农夫山泉 550ml".into(),
        name_en: None,
        spec: None,
        unit: Unit::Piece,
        location: "A-01".into(),
        walk_seq: 1,
        price: Some(Fen(200)),
        safety_stock: None,
        on_hand: 10_000_000,
        barcodes: vec![CODE.into()],
        plu: None,
        sale_unit_g: None,
    };
    store.import_catalog_blocking(vec![row]).unwrap();
    let new = new_order("MT-BENCH", 1, qty);
    let Ingested::New(o) = store.ingest_blocking("bench", "m1", new).unwrap() else {
        panic!("duplicate")
    };
    store
        .apply_blocking(o.id, OrderEvent::Accept, "p1")
        .unwrap();
    store
        .apply_blocking(
            o.id,
            OrderEvent::Claim {
                picker: "p1".into(),
            },
            "p1",
        )
        .unwrap();
    store.close();
    o.id.0
}

/// A Meituan order of `qty` units of the one item.
pub fn new_order(external_id: &str, day_seq: u32, qty: i64) -> NewOrder {
    NewOrder {
        platform: Platform::Meituan,
        external_id: external_id.into(),
        day_seq: Some(day_seq),
        placed_at: Timestamp::now(),
        promised_at: None,
        platform_deadline: None,
        pickup_code: None,
        delivery: None,
        remark: None,
        unknown_items: Vec::new(),
        lines: vec![NewLine {
            sku: SkuCode::new("W550"),
            name: None,
            qty,
            unit_price: Fen(200),
            platform_item: None,
            merchant_code: None,
            unit_g: None,
        }],
    }
}

/// The `p` quantile (0..=1) of `v`.
pub fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// A daemon config for the store in `dir`: both platforms enabled (unreachable, so stock levels
/// are queued as in a store), and one scanner on `device` bound to p1.
pub fn config(dir: &Path, device: &str) -> Config {
    let text = format!(
        "[store]\nid = \"BENCH\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n\
         [http]\nlisten = \"127.0.0.1:0\"\n[platforms.meituan]\nenabled = true\napp_id = \"mt-app\"\nsecret = \"mt-secret\"\nstore_code = \"S1\"\nmode = \"poll\"\nbase_url = \"http://127.0.0.1:9/api/v1\"\n\
         [platforms.jddj]\nenabled = true\napp_id = \"jd-app\"\nsecret = \"jd-secret\"\ntoken = \"jd-token\"\nstore_code = \"S1\"\nmode = \"poll\"\nbase_url = \"http://127.0.0.1:9/djapi\"\n[picking]\nrepeat_window_ms = 0\n\
         [[scanners]]\nname = \"gun\"\npath = \"{device}\"\npicker = \"p1\"\n",
        d = dir.display()
    );
    Config::parse(&text, Path::new("bench.toml")).unwrap()
}
