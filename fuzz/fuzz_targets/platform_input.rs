//! Arbitrary push bodies and gateway answers for both platforms: the form decoder (with
//! Meituan's double-encoded fields), push verification, order decoding, and the classification
//! of answers. Nothing may panic; a push that verifies must carry our own credentials.
#![no_main]

use flashpick::config::Config;
use flashpick::model::Timestamp;
use flashpick::sync::{Kind, jddj, meituan, webhook};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| {
        Config::parse(
            "[store]\nid = \"F\"\n[platforms.meituan]\nenabled = true\napp_id = \"a\"\nsecret = \"s\"\nstore_code = \"1\"\nmode = \"poll\"\npush_url = \"http://x/meituan\"\n[platforms.jddj]\nenabled = true\napp_id = \"k\"\nsecret = \"s\"\ntoken = \"t\"\nstore_code = \"1\"\nmode = \"poll\"\n",
            std::path::Path::new("fuzz.toml"),
        )
        .expect("fuzz config")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let now = Timestamp(1_800_000_000_000);
    let c = config();
    let mt = meituan::Meituan::new(&c.platforms.meituan);
    let jd = jddj::Jddj::new(&c.platforms.jddj);
    let fields = webhook::fields(&text, &["detail", "extras", "poi_receive_detail"]);
    if mt.verify_push("paid", &fields, now).is_ok() {
        assert!(fields.iter().any(|(k, v)| k == "app_id" && v == "a"));
    }
    if jd.verify_push(&fields, now).is_ok() {
        assert!(fields.iter().any(|(k, v)| k == "app_key" && v == "k"));
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        let _ = meituan::draft(&v);
        let _ = jddj::draft(&v);
        let _ = jddj::orders_in(&v);
    }
    let status = [200u16, 201, 400, 429, 500, 503][usize::from(control % 6)];
    let kind = [Kind::Confirm, Kind::Stock, Kind::Query, Kind::Adjust][usize::from(control >> 6)];
    let _ = meituan::classify(status, &text, kind);
    let _ = jddj::classify(status, &text, kind);
    let _ = flashpick::model::china_time::parse(&text);
});
