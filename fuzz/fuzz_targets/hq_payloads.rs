//! Arbitrary MQTT payloads from HQ: relayed orders, signed config documents (decoded, verified,
//! laid over a local config), catalog deltas, and the socket protocol's lines. Nothing may
//! panic, and nothing unsigned may verify.
#![no_main]

use flashpick::api::{HelloLine, RequestLine};
use flashpick::hq::wire::{CatalogMsg, ConfigDoc, RelayedOrder};
use flashpick::hq::{applied, signed};
use flashpick::store::{CatalogDelta, NewOrder};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
const LOCAL: &str = "[store]\nid = \"S\"\n[sla]\nat_risk_secs = 300\n";

fuzz_target!(|data: &[u8]| {
    // As the link reads them: the contract's types, then into the store's records.
    if let Ok(m) = serde_json::from_slice::<RelayedOrder>(data) {
        let _ = NewOrder::from(m.order);
    }
    if let Ok(m) = serde_json::from_slice::<CatalogMsg>(data) {
        let _ = CatalogDelta::from(m);
    }
    if let Ok(doc) = serde_json::from_slice::<ConfigDoc>(data) {
        let _ = signed::offered_version(&doc);
        // Random bytes are never a valid signature by the pinned key.
        assert!(signed::verify(&doc, "S", &[KEY.to_string()], 0).is_err());
        let _ = applied::overlay(LOCAL, &doc.config);
    }
    let text = String::from_utf8_lossy(data);
    let _ = signed::parse_comment(&text);
    let _ = applied::overlay(LOCAL, &text);
    for line in text.lines() {
        let _ = serde_json::from_str::<RequestLine>(line);
        let _ = serde_json::from_str::<HelloLine>(line);
    }
});
