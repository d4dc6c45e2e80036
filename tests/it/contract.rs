//! The HQ contract as a JSON-Schema validator: the whole `assets/asyncapi.yaml` is the root, and
//! a message is checked against the schema at a pointer inside it by the `jsonschema` crate (not
//! a hand-written subset that would skip `allOf`, `pattern` or `minimum`). Written apart from
//! the code under test: it knows the document, not the wire types.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The AsyncAPI document as JSON.
pub fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/asyncapi.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::from_str(&text).expect("asyncapi.yaml is YAML")
}

/// A validator per pointer, built once.
fn validator(pointer: &str) -> Arc<jsonschema::Validator> {
    static BUILT: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    built
        .entry(pointer.to_string())
        .or_insert_with(|| {
            // The document is the root, so every local `$ref` in it resolves; the root itself
            // is the schema at `pointer`. AsyncAPI 3 schemas are JSON Schema draft 7.
            let mut root = spec();
            root.as_object_mut()
                .unwrap()
                .insert("$ref".into(), Value::String(format!("#{pointer}")));
            Arc::new(
                jsonschema::draft7::options()
                    .build(&root)
                    .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}")),
            )
        })
        .clone()
}

/// Checks `v` against the schema at `pointer` (`/components/schemas/Status`); the error lists
/// every violation with where it is.
pub fn check(pointer: &str, v: &Value) -> Result<(), String> {
    let validator = validator(pointer);
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{pointer}: {}", errors.join("; ")))
    }
}

/// Checks a message the store published on `topic` against the schema of that channel's
/// message. Topics the store does not publish on are not its messages: `None`.
pub fn check_published(topic: &str, payload: &[u8]) -> Option<Result<(), String>> {
    let pointer = if topic.ends_with("/config/status") {
        "/components/schemas/ConfigStatus"
    } else if topic.ends_with("/status") {
        "/components/schemas/Status"
    } else if topic.ends_with("/events") {
        "/components/schemas/EventBatch"
    } else {
        return None;
    };
    let v: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => return Some(Err(format!("{topic}: not JSON: {e}"))),
    };
    Some(check(pointer, &v).map_err(|e| format!("{topic}: {e}")))
}
