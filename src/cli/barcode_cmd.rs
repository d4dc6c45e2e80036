//! `flashpick barcode CODE [--json]`: how a code decodes, and which item it is in this store.

use super::{Failure, fail};
use crate::config::Config;
use crate::model::barcode::{self, CodeKind, DecodeRules};
use crate::store;
use serde_json::{Map, Value, json};
use std::path::Path;

/// What `barcode` reports, as one JSON object.
pub fn report(input: &str, rules: &DecodeRules, conn: Option<&rusqlite::Connection>) -> Value {
    // People type `<GS>` for the separator their keyboard cannot produce.
    let raw = input.replace("<GS>", "\u{1d}");
    let decoded = barcode::decode(&raw, rules);
    let mut out = Map::new();
    out.insert("input".into(), json!(input));
    let sku = conn.and_then(|c| {
        store::sku_for_scan(c, decoded.as_ref().ok(), &raw)
            .ok()
            .flatten()
            .and_then(|s| store::sku_info(c, &s).ok().flatten())
    });
    match &decoded {
        Ok(d) => {
            out.insert("valid".into(), json!(true));
            let kind = match d.kind {
                Some(CodeKind::Gtin) => "gtin",
                Some(CodeKind::Gs1) => "gs1",
                Some(CodeKind::Scale) => "scale",
                Some(CodeKind::Badge) => "badge",
                Some(CodeKind::Order) => "order",
                Some(CodeKind::Slot) => "slot",
                None => "unknown",
            };
            out.insert("kind".into(), json!(kind));
            if let Some(s) = d.symbology {
                out.insert("symbology".into(), json!(s));
            }
            if let Some(g) = &d.gtin {
                out.insert("gtin".into(), json!(g));
            }
            let ais: Map<String, Value> =
                d.ais.iter().map(|(a, v)| (a.clone(), json!(v))).collect();
            out.insert("ais".into(), Value::Object(ais));
            for (key, v) in [("weight_g", d.weight_g), ("amount_fen", d.amount_fen)] {
                if let Some(v) = v {
                    out.insert(key.into(), json!(v));
                }
            }
            if let Some(p) = &d.plu {
                out.insert("plu".into(), json!(p));
            }
        }
        Err(e) => {
            // A code with no structure may still be one of the store's own barcodes.
            out.insert("valid".into(), json!(sku.is_some()));
            out.insert("kind".into(), json!("unknown"));
            out.insert("ais".into(), json!({}));
            if sku.is_none() {
                out.insert("error".into(), json!(e.to_string()));
                out.insert("error_code".into(), json!(e.code()));
            }
        }
    }
    if let Some(info) = sku {
        out.insert("sku".into(), json!(info.sku));
        out.insert("name".into(), json!(info.name));
        out.insert("location".into(), json!(info.location));
    }
    Value::Object(out)
}

/// Runs the command: decode with the store's rules when its config loads, look up when its
/// database exists; print; exit 1 when the code is not valid.
pub(super) fn run(config: Option<&Path>, code: &str, as_json: bool) -> Result<(), Failure> {
    let path = super::config_path(config);
    let loaded = if config.is_some() || path.exists() {
        Some(Config::load(&path).map_err(super::config_failure)?)
    } else {
        None
    };
    let rules = loaded
        .as_ref()
        .map(|c| c.barcodes.rules())
        .unwrap_or_default();
    let conn = loaded
        .as_ref()
        .map(Config::db_path)
        .filter(|p| p.exists())
        .and_then(|p| {
            rusqlite::Connection::open_with_flags(&p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()
        })
        .filter(|c| {
            // Read-only: an older schema is not upgraded here (the daemon does that at start).
            let current = store::schema::version(c).ok() == Some(store::schema::latest());
            if !current {
                eprintln!("note: the store database has an older schema; start flashpick once to upgrade it, then the item can be looked up");
            }
            current
        });
    let r = report(code, &rules, conn.as_ref());
    if as_json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        print_human(&r);
    }
    if r["valid"] == json!(true) {
        Ok(())
    } else {
        Err(fail(
            1,
            anyhow::anyhow!("{}", r["error"].as_str().unwrap_or("not valid")),
        ))
    }
}

fn print_human(r: &Value) {
    let field = |k: &str| r.get(k).filter(|v| !v.is_null());
    println!("input     {}", r["input"].as_str().unwrap_or_default());
    println!("valid     {}", r["valid"]);
    println!("kind      {}", r["kind"].as_str().unwrap_or_default());
    for key in [
        "symbology",
        "gtin",
        "plu",
        "weight_g",
        "amount_fen",
        "sku",
        "name",
        "location",
        "error",
    ] {
        if let Some(v) = field(key) {
            let shown = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            println!("{key:<9} {shown}");
        }
    }
    if let Some(ais) = r["ais"].as_object().filter(|a| !a.is_empty()) {
        for (ai, v) in ais {
            println!("({ai})      {}", v.as_str().unwrap_or_default());
        }
    }
}
