//! A golden transcript of the socket: every kind of request, good and refused, with the daemon's
//! replies as a snapshot. The typed contracts changed how replies are built, not what they say:
//! this snapshot was taken before that change and must not move.

use crate::common::{daemon_config, seed_db, within};
use flashpick::api::client::Client;
use flashpick::daemon::Daemon;
use serde_json::{Value, json};

/// Keys whose values change from run to run (times, ages, versions, ids of the moment).
const VOLATILE: &[&str] = &[
    "placed_at",
    "pick_deadline",
    "started_at",
    "uptime_secs",
    "seconds_left",
    "oldest_pending_at",
    "queued_at",
    "version",
    "server",
    "sla",
    // The platform channels' tries depend on how far their workers got.
    "calls",
    "failures",
    "last_error",
    "online",
];

fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if VOLATILE.contains(&k.as_str()) && !x.is_null() {
                    *x = json!("[redacted]");
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_replies_are_what_they_were() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(
        dir.path(),
        &[
            ("MT-1", &[("W550", 2), ("BREAD", 1)]),
            ("MT-2", &[("MILK1L", 1)]),
        ],
    );
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut c = Client::connect(d.socket_path(), "golden", Some("station-1"))
        .await
        .unwrap();
    let lines = [
        r#"{"id":1,"req":"subscribe","topics":["alerts"]}"#,
        r#"{"id":2,"req":"list_orders"}"#,
        r#"{"id":3,"req":"get_order","order_id":1}"#,
        r#"{"id":4,"req":"accept_order","order_id":1}"#,
        r#"{"id":5,"req":"claim_order","order_id":1,"picker":"station-1"}"#,
        r#"{"id":6,"req":"record_scan","order_id":1,"code":"6901234567892"}"#,
        r#"{"id":7,"req":"record_scan","order_id":1,"code":"4006381333931"}"#,
        r#"{"id":8,"req":"undo_pick","order_id":1,"line_no":1,"qty":1}"#,
        r#"{"id":9,"req":"record_scan","order_id":1,"code":"6901234567892","scanner":"s1"}"#,
        r#"{"id":10,"req":"record_scan","order_id":1,"code":"6901234567892"}"#,
        r#"{"id":11,"req":"mark_short","order_id":1,"line_no":2,"qty":1,"reason":"out_of_stock"}"#,
        r#"{"id":12,"req":"complete_pick","order_id":1}"#,
        r#"{"id":13,"req":"pack","order_id":1,"bags":2}"#,
        r#"{"id":14,"req":"hand_over","order_id":1}"#,
        r#"{"id":15,"req":"accept_order","order_id":2}"#,
        r#"{"id":16,"req":"claim_order","order_id":2,"picker":"station-1"}"#,
        r#"{"id":17,"req":"record_scan","order_id":2,"code":"4006381333931"}"#,
        r#"{"id":18,"req":"cancel_order","order_id":2,"reason":"顾客要求"}"#,
        r#"{"id":19,"req":"confirm_return","order_id":2}"#,
        r#"{"id":20,"req":"release_order","order_id":2}"#,
        r#"{"id":21,"req":"stock_lookup","query":"W550"}"#,
        r#"{"id":22,"req":"stock_receive","code":"W550","qty":5}"#,
        r#"{"id":23,"req":"stock_count","code":"MILK1L","counted":3,"reason":"盘点"}"#,
        r#"{"id":24,"req":"stock_adjust","code":"BREAD","delta":-1,"reason":"破损"}"#,
        r#"{"id":25,"req":"stock_adjust","code":"BREAD","delta":-1,"reason":" "}"#,
        r#"{"id":26,"req":"catalog_stage","rows":[{"line":2,"sku":"NEW1","name":"新品","name_en":null,"spec":"1个","unit":"piece","location":"B-01","walk_seq":30,"price":500,"safety_stock":null,"on_hand":4,"barcodes":["6921168509256"]}]}"#,
        r#"{"id":27,"req":"catalog_commit"}"#,
        r#"{"id":28,"req":"stock_resync"}"#,
        r#"{"id":29,"req":"get_order","order_id":99}"#,
        r#"{"id":30,"req":"claim_order","order_id":1,"picker":""}"#,
        r#"{"id":31,"req":"pack","order_id":1,"bgs":2}"#,
        r#"{"id":32,"req":"no_such_request"}"#,
        r#"not json at all"#,
        r#"{"id":33,"req":"status"}"#,
    ];
    let mut transcript = String::new();
    for line in lines {
        c.send_line(line).await.unwrap();
        // Skip events: only the reply to this line belongs in the transcript.
        let reply = within(10, "a reply", async {
            loop {
                let raw = c.read_line().await.unwrap();
                let v: Value = serde_json::from_str(&raw).unwrap();
                if v.get("event").is_none() {
                    return v;
                }
            }
        })
        .await;
        // Every `ok` reads as the kind its request gets, and the typed reply holds all of it.
        if let (Ok(req), Some(ok)) = (
            serde_json::from_str::<flashpick::api::RequestLine>(line),
            reply.get("ok"),
        ) {
            let kind = req.req.reply_kind();
            let typed = flashpick::api::Response::read(kind, ok.clone())
                .unwrap_or_else(|e| panic!("{line}: not a {kind:?} reply: {e}"));
            assert_eq!(typed.kind(), kind);
            assert_eq!(
                &typed.to_value(),
                ok,
                "{line}: the typed reply lost something"
            );
        }
        let mut reply = reply;
        redact(&mut reply);
        transcript.push_str(&format!(
            "→ {line}\n← {}\n\n",
            serde_json::to_string(&reply).unwrap()
        ));
    }
    insta::assert_snapshot!(transcript);
    drop(c);
    d.shutdown().await;
}

/// Every sample `/metrics` gives (name and label set, values aside) on a store with an order
/// and rows waiting, as a snapshot: dashboards and alerts at HQ are written against these names,
/// so a change of encoder must not move one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_names_and_label_sets_are_what_they_were() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[("MT-1", &[("W550", 1)])]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let (status, body) = crate::common::http_get(d.http_addr(), "/metrics").await;
    assert!(status.contains("200"), "{status}");
    let mut samples: Vec<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').map_or(l, |(k, _)| k))
        .collect();
    samples.sort();
    insta::assert_snapshot!(samples.join("\n"));
    d.shutdown().await;
}
