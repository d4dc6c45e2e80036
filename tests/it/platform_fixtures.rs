//! Golden fixtures of the platforms' requests and pushes (`tests/fixtures/platforms/`): written
//! from the documented examples and rules — the signature vectors M1, M2 and J1 among them — with
//! their signatures computed by a third implementation of the rules (a short Python script, not
//! this code). Both the adapters and the simulator are checked against each: the adapter builds
//! the same request (every parameter, the same signature) and takes the same push; the
//! simulator's own signing code, which verifies what the store sends and signs what it pushes,
//! finds the same signatures.

use flashpick::config::{PlatformSection, Secret};
use flashpick::model::{Timestamp, china_time};
use flashpick::sync::jddj::{self, Jddj};
use flashpick::sync::meituan::Meituan;
use flashpick::sync::{Action, sign};
use serde_json::Value;
use std::collections::BTreeMap;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/platforms/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn all() -> Vec<Value> {
    let dir = format!("{}/tests/fixtures/platforms", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| fixture(n.trim_end_matches(".json")))
        .collect()
}

fn params(f: &Value) -> Vec<(String, String)> {
    f["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn signature(f: &Value) -> String {
    f["sig"]
        .as_str()
        .or(f["sign"].as_str())
        .unwrap()
        .to_string()
}

#[test]
fn the_adapters_and_the_simulator_sign_every_fixture_alike() {
    let list = all();
    assert!(list.len() >= 7, "{} fixtures", list.len());
    for f in &list {
        let name = f["name"].as_str().unwrap();
        let p = params(f);
        let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let secret = f["secret"].as_str().unwrap();
        let (adapter, simulator) = if f["platform"] == "meituan" {
            let url = f["url"].as_str().unwrap();
            (
                sign::meituan(url, &refs, secret),
                flashpick::sim::sign::meituan_sig(url, &p, secret),
            )
        } else {
            (
                sign::jddj(&refs, secret),
                flashpick::sim::sign::jd_sign(&p, secret),
            )
        };
        assert_eq!(adapter, signature(f), "{name}: the adapter");
        assert_eq!(simulator, signature(f), "{name}: the simulator");
    }
}

fn section(f: &Value, base: &str, store_code: &str) -> PlatformSection {
    let get = |k: &str| {
        params(f)
            .into_iter()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v)
            .unwrap_or_default()
    };
    PlatformSection {
        enabled: true,
        base_url: Some(base.into()),
        app_id: if f["platform"] == "meituan" {
            get("app_id")
        } else {
            get("app_key")
        },
        secret: Secret::new(f["secret"].as_str().unwrap()),
        token: Secret::new(get("token")),
        store_code: store_code.into(),
        operator: "flashpick".into(),
        push_url: f["push_url"].as_str().map(str::to_string),
        ..PlatformSection::default()
    }
}

/// The request as a map, and its URL.
fn expected(f: &Value) -> (String, BTreeMap<String, String>) {
    let mut p: BTreeMap<String, String> = params(f).into_iter().collect();
    p.insert(
        if f["platform"] == "meituan" {
            "sig"
        } else {
            "sign"
        }
        .into(),
        signature(f),
    );
    (f["url"].as_str().unwrap().to_string(), p)
}

#[test]
fn the_adapters_build_the_documented_requests() {
    let mt_base = "https://waimaiopen.meituan.com/api/v1";
    let jd_base = "https://openapi.jddj.com/djapi";
    // M1 is the adapter's polling call, word for word.
    let m1 = fixture("meituan-M1-getOrderDaySeq");
    let mt = Meituan::new(&section(&m1, mt_base, "31号测试店"));
    let call = mt.day_seq_call(Timestamp(1_389_751_221_000));
    assert_eq!(
        (call.url.clone(), call.params.into_iter().collect()),
        expected(&m1)
    );
    // A manager's agreement to a refund request.
    let agree = fixture("meituan-refund-agree");
    let mt = Meituan::new(&section(&agree, mt_base, "31号测试店"));
    let call = mt
        .action(
            &Action::Decide {
                order: "27000123456789".into(),
                kind: flashpick::model::request::RequestKind::FullRefund,
                agree: true,
                reason: String::new(),
            },
            Timestamp(1_389_751_221_000),
        )
        .unwrap();
    assert!(!call.post, "a GET");
    assert_eq!(
        (call.url.clone(), call.params.into_iter().collect()),
        expected(&agree)
    );
    // J1 is the adapter's fetch of one order.
    let j1 = fixture("jd-J1-order-es-query");
    let at = china_time::parse("2011-07-20 11:10:04").unwrap();
    let jd = Jddj::new(&section(&j1, jd_base, "S1"));
    let call = jd
        .action(
            &Action::FetchOrder {
                order: "100001".into(),
            },
            at,
        )
        .unwrap();
    assert_eq!(
        (call.url.clone(), call.params.into_iter().collect()),
        expected(&j1)
    );
    // A manager refusing a JD customer's cancel request.
    let cancel = fixture("jd-orderCancelOperate");
    let jd = Jddj::new(&section(&cancel, jd_base, "S1"));
    let call = jd
        .action(
            &Action::Decide {
                order: "2100001234".into(),
                kind: flashpick::model::request::RequestKind::Cancel,
                agree: false,
                reason: "已出库".into(),
            },
            at,
        )
        .unwrap();
    assert_eq!(
        (call.url.clone(), call.params.into_iter().collect()),
        expected(&cancel)
    );
}

#[test]
fn the_adapters_take_the_documented_pushes() {
    // Meituan's refund request, signed over the registered push URL.
    let refund = fixture("meituan-push-refund-apply");
    let mt = Meituan::new(&section(
        &refund,
        "https://waimaiopen.meituan.com/api/v1",
        "31号测试店",
    ));
    let mut fields = params(&refund);
    fields.push(("sig".into(), signature(&refund)));
    let at = Timestamp(1_389_751_221_000);
    mt.verify_push("refund", &fields, at).unwrap();
    // One character changed: refused.
    let mut forged = fields.clone();
    forged[1].1 = "agree".into();
    assert!(mt.verify_push("refund", &forged, at).is_err());
    assert_eq!(
        flashpick::sync::meituan::refund_notice(Some("apply")),
        flashpick::sync::meituan::RefundNotice::Requested
    );

    // JD's rider at the store.
    let rider = fixture("jd-push-pushDeliveryStatus");
    let jd = Jddj::new(&section(&rider, "https://openapi.jddj.com/djapi", "S1"));
    let mut fields = params(&rider);
    fields.push(("sign".into(), signature(&rider)));
    let at = china_time::parse("2011-07-20 11:10:04").unwrap();
    let param = jd.verify_push(&fields, at).unwrap();
    let r = jddj::rider(&param, at).unwrap();
    assert_eq!(r.status, flashpick::model::rider::RiderStatus::AtStore);
    assert_eq!(r.name.as_deref(), Some("张师傅"));
    assert_eq!(r.phone.as_deref(), Some("138****5678"));
    assert_eq!(r.at, china_time::parse("2011-07-20 11:09:30").unwrap());
}

/// A Meituan order push as it travels: form-encoded, with `detail` and `caution` URL-encoded
/// once more inside the form. The simulator encodes the documented fields to exactly these
/// bytes; the adapter reads them back to the same fields, verifies the signature over the
/// decoded values and takes the order.
#[test]
fn a_push_body_is_encoded_by_the_simulator_and_read_by_the_adapter_as_documented() {
    let f = fixture("meituan-push-paid");
    let mut fields = params(&f);
    fields.push(("sig".into(), signature(&f)));
    let body = f["body"].as_str().unwrap();
    assert_eq!(flashpick::sim::sign::meituan_push_form(&fields), body);
    let read = flashpick::sync::webhook::fields(body, &flashpick::sync::meituan::DOUBLE_ENCODED);
    assert_eq!(read, fields);
    let mt = Meituan::new(&section(
        &f,
        "https://waimaiopen.meituan.com/api/v1",
        "31号测试店",
    ));
    mt.verify_push("paid", &read, Timestamp(1_389_751_221_000))
        .unwrap();
    let object: serde_json::Map<String, Value> = read
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let order = flashpick::sync::meituan::draft(&Value::Object(object)).unwrap();
    assert_eq!(order.remark.as_deref(), Some("少放辣, 谢谢 & 放门口"));
    assert_eq!(order.day_seq, Some(23));
    assert_eq!(order.lines[0].name, "农夫山泉 550ml");
    assert_eq!(order.lines[0].count, 2);
    assert_eq!(order.lines[0].unit_price, flashpick::model::Fen(250));
}
