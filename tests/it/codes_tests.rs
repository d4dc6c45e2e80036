//! Barcodes in the catalog: compared as GTINs, never taken silently from another item, with a
//! right check digit; the same rules for a catalog file and for HQ's deltas.

use crate::cli_tests::{bin, stderr};
use crate::common::{row, seeded_store};
use flashpick::store::{self, CatalogDelta, DeltaOutcome, Store};
use serde_json::json;

fn owner(store: &Store, code: &str) -> Option<String> {
    store
        .read(|c| store::sku_by_code(c, code))
        .unwrap()
        .map(|s| s.0)
}

fn refusal(store: &Store, rows: Vec<store::CatalogRow>) -> String {
    store.import_catalog_blocking(rows).unwrap_err().to_string()
}

/// The same GTIN as 13 and as 14 digits on two skus (the second could never be scanned), a file
/// that takes a code from an item it does not mention, a code with a wrong check digit: each
/// refused naming the line and the other item. A real move — both items in one file — goes.
#[test]
fn a_code_is_one_gtin_on_one_item_and_moves_only_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    // W550 has 6901234567892.
    let e = refusal(
        &store,
        vec![
            row(2, "TEA", "茶", "6921168558049", 5),
            row(3, "TEA2", "茶二", "06921168558049", 5),
        ],
    );
    assert!(
        e.contains("line 3") && e.contains("line 2") && e.contains("same GTIN"),
        "{e}"
    );
    let e = refusal(&store, vec![row(7, "TEA", "茶", "06901234567892", 5)]);
    assert!(
        e.contains("line 7") && e.contains("already belongs to sku W550"),
        "{e}"
    );
    assert_eq!(owner(&store, "6901234567892").as_deref(), Some("W550"));
    let e = refusal(&store, vec![row(2, "TEA", "茶", "6921168558048", 5)]);
    assert!(e.contains("check digit"), "{e}");
    // An in-store code (not GTIN-shaped) is taken as it is.
    store
        .import_catalog_blocking(vec![row(2, "TEA", "茶", "SHELF-7", 5)])
        .unwrap();
    // A real move: W550 is in the file without its code, TEA takes it (as 14 digits).
    let mut w550 = row(2, "W550", "农夫山泉 550ml", "6921168558049", 20);
    w550.barcodes = vec!["6921168558049".into()];
    store
        .import_catalog_blocking(vec![w550, row(3, "TEA", "茶", "06901234567892", 5)])
        .unwrap();
    assert_eq!(owner(&store, "06901234567892").as_deref(), Some("TEA"));
    assert_eq!(
        owner(&store, "6901234567892"),
        None,
        "the 13-digit form left W550"
    );
    assert_eq!(owner(&store, "6921168558049").as_deref(), Some("W550"));
    store.close();
}

/// HQ's deltas meet the same rule; a refused one does not stop the next.
#[test]
fn an_hq_delta_cannot_take_a_code_and_its_refusal_does_not_block_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let delta = |v: i64, changes: serde_json::Value| -> CatalogDelta {
        serde_json::from_value(json!({"v": 1, "version": v, "changes": changes})).unwrap()
    };
    let taken = delta(
        1,
        json!([{"op": "item", "sku": "TEA", "name": "茶", "location": "A-9",
                "barcodes": ["06901234567892"]}]),
    );
    match rt.block_on(store.catalog_delta(taken)).unwrap() {
        DeltaOutcome::Refused { reason, .. } => {
            assert!(
                reason.contains("change 0") && reason.contains("sku W550"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    let fixed = delta(
        2,
        json!([{"op": "item", "sku": "TEA", "name": "茶", "location": "A-9",
                "barcodes": ["6921168558049"]}]),
    );
    assert_eq!(
        rt.block_on(store.catalog_delta(fixed)).unwrap(),
        DeltaOutcome::Applied(2)
    );
    assert_eq!(owner(&store, "6921168558049").as_deref(), Some("TEA"));
    assert_eq!(owner(&store, "6901234567892").as_deref(), Some("W550"));
    drop(rt);
    store.close();
}

/// A header with a column twice is refused (which one would count was a guess); a database that
/// already holds one GTIN on two skus still opens, and doctor names the conflict.
#[test]
fn a_doubled_column_is_refused_and_old_conflicts_are_named_by_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("twice.csv");
    std::fs::write(
        &csv,
        "sku,sku,name,barcode,location,on_hand\nA,B,水,6901234567892,A-1,1\n",
    )
    .unwrap();
    let cfg = crate::cli_tests::write_config(dir.path());
    let o = bin()
        .args(["--config", cfg.to_str().unwrap(), "catalog", "import"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65), "{}", stderr(&o));
    assert!(stderr(&o).contains("`sku` appears twice"), "{}", stderr(&o));

    let store = seeded_store(dir.path());
    store.close();
    let raw = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    raw.execute(
        "INSERT INTO barcode (code, sku) VALUES ('06901234567892', 'BREAD')",
        [],
    )
    .unwrap();
    drop(raw);
    let store = Store::open(&dir.path().join("store.db"), crate::common::options()).unwrap();
    let mut conflicts = store.read(|c| Ok(store::conflicting_codes(c)?)).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let (key, mut skus) = conflicts.remove(0);
    skus.sort();
    assert_eq!(
        (key.as_str(), skus),
        (
            "06901234567892",
            vec!["BREAD".to_string(), "W550".to_string()]
        )
    );
    store.close();
    let o = bin()
        .args(["--config", cfg.to_str().unwrap(), "doctor", "--json"])
        .output()
        .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let db = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "database")
        .unwrap()
        .clone();
    assert_eq!(db["level"], "warn", "{db}");
    assert!(
        db["detail"].as_str().unwrap().contains("06901234567892"),
        "{db}"
    );
}
