//! A golden transcript of what the store publishes to HQ: every event of one store's working
//! day in small (an order picked through to hand-over, a short pick, an order relayed by HQ and
//! accepted, a cancellation, stock moved by hand, a message refused), in the order HQ receives
//! them, as a snapshot. Run against the release before the house was put in order, it gave the
//! same events plus the one the contract bug added (a `report` for the relayed order's accept).

use crate::hq_tests::hq_config;
use crate::mqtt::Hq;
use crate::net::Broker;
use flashpick::daemon::Daemon;
use flashpick::model::{CancelSource, OrderEvent, ShortReason, SkuCode};
use flashpick::store::{Ingested, StockOp, StockOpKind, Store};
use rumqttc::QoS;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Times and ids change from run to run: said as their kind, ids numbered as first seen.
fn redact(v: &mut Value, ids: &mut HashMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let timely = k == "at" || k.ends_with("_at") || k == "pick_deadline";
                if timely && x.is_number() {
                    *x = json!("[time]");
                } else if matches!(k.as_str(), "event_id" | "id" | "caused_by") && x.is_string() {
                    let n = ids.len() + 1;
                    let id = ids
                        .entry(x.as_str().unwrap().to_string())
                        .or_insert_with(|| format!("[event {n}]"));
                    *x = json!(id.clone());
                } else {
                    redact(x, ids);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact(x, ids)),
        _ => {}
    }
}

async fn order(store: &Store, ext: &str, lines: &[(&str, i64)]) -> flashpick::model::OrderId {
    match store
        .ingest("meituan", ext, crate::common::new_order(ext, lines))
        .await
        .unwrap()
    {
        Ingested::New(o) => o.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mqtt_payloads_are_what_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let d = Daemon::start(hq_config(dir.path(), &broker.url(), ""))
        .await
        .unwrap();
    let store = d.store().clone();
    store
        .import_catalog(crate::common::small_catalog())
        .await
        .unwrap();
    let apply = |id, ev| {
        let store = store.clone();
        async move { store.apply(id, ev, "golden", None).await.unwrap() }
    };
    // An order picked through to hand-over, one line short.
    let a = order(&store, "MT-G1", &[("W550", 2), ("BREAD", 1)]).await;
    apply(a, OrderEvent::Accept).await;
    let picker = "golden".to_string();
    apply(a, OrderEvent::Claim { picker }).await;
    apply(a, OrderEvent::Pick { line: 1, qty: 2 }).await;
    let short = OrderEvent::Short {
        line: 2,
        qty: 1,
        reason: ShortReason::OutOfStock,
    };
    apply(a, short).await;
    apply(a, OrderEvent::CompletePick).await;
    apply(a, OrderEvent::Pack { bags: 1 }).await;
    apply(a, OrderEvent::HandOver).await;
    // An order cancelled by the store after it was accepted.
    let b = order(&store, "MT-G2", &[("MILK1L", 1)]).await;
    apply(b, OrderEvent::Accept).await;
    let cancel = OrderEvent::Cancel {
        by: CancelSource::Store,
        reason: "golden".into(),
    };
    apply(b, cancel).await;
    // An order relayed by HQ, accepted; and a message HQ sent that is not an order.
    let topic = "flashpick/v1/T-0001/orders";
    let relayed = json!({
        "v": 1, "id": "hq-golden-1",
        "order": {
            "platform": "hq", "external_id": "OMS-G1", "placed_at": flashpick::model::Timestamp::now().0,
            "lines": [{"sku": "W550", "qty": 1, "unit_price": 200}]
        }
    });
    hq.client
        .publish(topic, QoS::AtLeastOnce, false, relayed.to_string())
        .await
        .unwrap();
    // Taken in when HQ hears of it (the store's first event for it).
    let ingested = |h: &Hq| {
        h.events
            .lock()
            .unwrap()
            .iter()
            .find(|e| e.kind == "order_transition" && e.data["external_id"] == "OMS-G1")
            .and_then(|e| e.data["order_id"].as_i64())
    };
    hq.until(10, "the relayed order taken in", |h| ingested(h).is_some())
        .await;
    let hq_order = flashpick::model::OrderId(ingested(&hq).unwrap());
    apply(hq_order, OrderEvent::Accept).await;
    hq.client
        .publish(topic, QoS::AtLeastOnce, false, "{not json")
        .await
        .unwrap();
    // Its refusal is written by the link as it reads it: waited for, so that it comes before
    // the stock move in every run.
    hq.until(20, "the refusal", |h| {
        h.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.kind == "rejected")
    })
    .await;
    // Stock moved by hand, last: when HQ has it, it has everything before it.
    store
        .stock(StockOp {
            sku: SkuCode::new("MILK1L"),
            kind: StockOpKind::Receive(7),
            actor: "golden".into(),
            reason: None,
        })
        .await
        .unwrap();
    let last =
        |h: &Hq| {
            h.events.lock().unwrap().iter().any(|e| {
                e.kind == "stock_move" && e.data["kind"] == "receive" && e.data["delta"] == 7
            }) && h
                .events
                .lock()
                .unwrap()
                .iter()
                .any(|e| e.kind == "rejected")
        };
    hq.until(20, "every event", last).await;
    let mut ids = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut transcript = Vec::new();
    for e in hq.events.lock().unwrap().iter() {
        // A redelivery is the same event again: once in the transcript.
        if !seen.insert(e.id.clone()) {
            continue;
        }
        let mut v = json!({"id": e.id, "kind": e.kind, "data": e.data});
        redact(&mut v, &mut ids);
        transcript.push(serde_json::to_string(&v).unwrap());
    }
    insta::assert_snapshot!(transcript.join("\n"));
    d.shutdown().await;
}
