//! `assets/asyncapi.yaml` and the code stay in step: every example there reads into the code's
//! type and writes back unchanged, every example and every code output validates against the
//! file's schemas, and so do the events a real store writes for HQ.

use flashpick::hq::wire::{ConfigDoc, ConfigStatus, EventBatch, RelayedOrder, StatusMsg};
use flashpick::model::{OrderEvent, SkuCode};
use flashpick::store::{CatalogDelta, Ingested, StockOp, StockOpKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/asyncapi.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::from_str(&text).expect("asyncapi.yaml is YAML")
}

/// Follows a local `$ref`.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let ptr = r.strip_prefix('#').expect("local refs only");
            resolve(spec, spec.pointer(ptr).unwrap_or_else(|| panic!("no {r}")))
        }
        None => v,
    }
}

/// Validates `v` against the JSON Schema subset the file uses (type, const, enum, required,
/// properties, additionalProperties: false, items, oneOf, $ref). Errors name the path.
fn validate(spec: &Value, schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    let schema = resolve(spec, schema);
    if let Some(c) = schema.get("const") {
        return (c == v)
            .then_some(())
            .ok_or(format!("{path}: {v} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        return Err(format!("{path}: {v} is not one of {e:?}"));
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let ok = options
            .iter()
            .filter(|o| validate(spec, o, v, path).is_ok())
            .count();
        return (ok == 1).then_some(()).ok_or(format!(
            "{path}: matches {ok} of the oneOf schemas, not 1: {v}"
        ));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !fits {
            return Err(format!("{path}: {v} is not {types:?}"));
        }
    }
    if let (Some(obj), Some(props)) = (
        v.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                return Err(format!("{path}: required `{r}` missing"));
            }
        }
        for (k, x) in obj {
            match props.get(k) {
                Some(s) => validate(spec, s, x, &format!("{path}.{k}"))?,
                None if schema.get("additionalProperties") == Some(&json!(false)) => {
                    return Err(format!("{path}: `{k}` is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(spec, items, x, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

/// Every example of `message`: read into `T`, written back identical, valid against the schema.
fn check<T: DeserializeOwned + Serialize>(spec: &Value, message: &str) -> usize {
    let m = &spec["components"]["messages"][message];
    let schema = &m["payload"];
    let examples = m["examples"].as_array().expect("examples");
    for ex in examples {
        let name = ex["name"].as_str().unwrap_or("?");
        let payload = &ex["payload"];
        let typed: T = serde_json::from_value(payload.clone())
            .unwrap_or_else(|e| panic!("{message} example `{name}` does not read: {e}"));
        let back = serde_json::to_value(&typed).unwrap();
        assert_eq!(
            &back, payload,
            "{message} example `{name}` changes on the way back"
        );
        validate(spec, schema, &back, message)
            .unwrap_or_else(|e| panic!("{message} example `{name}`: {e}"));
    }
    examples.len()
}

#[test]
fn every_example_matches_the_code_both_ways() {
    let spec = spec();
    assert_eq!(spec["asyncapi"], "3.0.0");
    let n = check::<StatusMsg>(&spec, "Status")
        + check::<EventBatch>(&spec, "EventBatch")
        + check::<RelayedOrder>(&spec, "RelayedOrder")
        + check::<ConfigDoc>(&spec, "ConfigDoc")
        + check::<ConfigStatus>(&spec, "ConfigStatus")
        + check::<CatalogDelta>(&spec, "CatalogDelta");
    assert!(n >= 9, "{n} examples");
    // The validator bites: an undocumented field, a wrong type, a missing field.
    let status = &spec["components"]["messages"]["Status"]["payload"];
    for bad in [
        json!({"v": 1, "store": "S", "online": true, "surprise": 1}),
        json!({"v": 1, "store": "S", "online": "yes"}),
        json!({"v": 1, "online": true}),
    ] {
        assert!(validate(&spec, status, &bad, "Status").is_err(), "{bad}");
    }
    // Every channel's address is what the code publishes and subscribes to.
    let t = flashpick::hq::wire::Topics::new("{store}");
    let addresses: Vec<&str> = spec["channels"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    for topic in [
        &t.status,
        &t.events,
        &t.orders,
        &t.config,
        &t.config_status,
        &t.catalog,
    ] {
        assert!(addresses.contains(&topic.as_str()), "{topic} undocumented");
    }
    assert_eq!(addresses.len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_events_a_real_store_writes_fit_the_schemas() {
    let spec = spec();
    let dir = tempfile::tempdir().unwrap();
    let store =
        flashpick::store::Store::open(&dir.path().join("store.db"), crate::common::options())
            .unwrap();
    store
        .import_catalog(crate::common::small_catalog())
        .await
        .unwrap();
    let Ingested::New(o) = store
        .ingest(
            "meituan",
            "m1",
            crate::common::new_order("MT1", &[("W550", 2)]),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    store
        .apply(o.id, OrderEvent::Accept, "p1", None)
        .await
        .unwrap();
    store
        .apply(
            o.id,
            OrderEvent::Claim {
                picker: "p1".into(),
            },
            "p1",
            None,
        )
        .await
        .unwrap();
    // An order relayed by HQ, accepted: HQ hears it as order transitions, never as a platform
    // `report` (a kind the contract does not have; an HQ consumer refused such batches).
    let mut relayed = crate::common::new_order("OMS-1", &[("W550", 1)]);
    relayed.platform = flashpick::model::Platform::Hq;
    let Ingested::New(h) = store.ingest("hq", "hq-1", relayed).await.unwrap() else {
        panic!()
    };
    store
        .apply(h.id, OrderEvent::Accept, "p1", None)
        .await
        .unwrap();
    store
        .stock(StockOp {
            sku: SkuCode::new("MILK1L"),
            kind: StockOpKind::Receive(6),
            actor: "mgr".into(),
            reason: Some("delivery".into()),
        })
        .await
        .unwrap();
    let delta: CatalogDelta = serde_json::from_value(json!({"v": 1, "version": 1, "changes": [
        {"op": "price", "sku": "W550", "price_fen": 180}
    ]}))
    .unwrap();
    store.catalog_delta(delta).await.unwrap();
    store
        .hq_note(
            Some(("hq-orders-rejected", "x1")),
            "rejected",
            json!({"topic": "orders", "message_id": "x1", "reason": "bad"}),
        )
        .await
        .unwrap();
    let rows = store
        .read(|c| flashpick::store::pending_outbox(c, "hq", 1000))
        .unwrap();
    let kinds: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "catalog_applied",
            "catalog_import",
            "order_transition",
            "rejected",
            "stock_move"
        ]
    );
    let event = &spec["components"]["schemas"]["Event"];
    for r in &rows {
        let e = json!({"id": r.event_id, "kind": r.kind, "data": r.payload});
        validate(&spec, event, &e, &r.kind).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(r.payload["type"], r.kind.as_str());
    }
    store.close_async().await;
}

/// `report` rows an older release left pending for HQ are not sent: the migration marks them
/// done (a database as that release left it, with one such row).
#[test]
fn report_rows_an_older_release_queued_for_hq_are_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    crate::common::seeded_store(dir.path()).close();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "INSERT INTO outbox (event_id, destination, kind, payload, next_attempt_at, created_at)
             VALUES ('01-old', 'hq', 'report', '{\"v\":1,\"type\":\"report\",\"action\":\"confirm\"}', 0, 0);
             PRAGMA user_version = 9;",
        )
        .unwrap();
    }
    let store = flashpick::store::Store::open(&db, crate::common::options()).unwrap();
    let pending = store
        .read(|c| flashpick::store::pending_outbox(c, "hq", 1000))
        .unwrap();
    assert!(
        pending.iter().all(|r| r.kind != "report"),
        "{:?}",
        pending.iter().map(|r| &r.kind).collect::<Vec<_>>()
    );
    store.close();
}
