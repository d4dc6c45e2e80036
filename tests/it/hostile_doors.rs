//! Every door a store has — the socket, the webhook port, catalog files, HQ's topics, the serial
//! scanners — against the same classes of bad input, from ONE table (`cases`). Each case is sent
//! through its door of a real daemon (signed pushes over HTTP, MQTT through a broker, bytes on a
//! pseudo-terminal, the real binary for files) and must be refused with its reason, leaving the
//! store's facts as they were. Floods and slow peers need a daemon of their own under lowered
//! limits: their cells name the test that covers them, so the table stays the one place to look.
//!
//! To add a case: a row in `cases`. To add a door: a variant, its row set, and its runner.

use crate::common::{daemon_config, seed_db, within};
use crate::mqtt::Hq;
use crate::net::Broker;
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::model::Timestamp;
use rumqttc::QoS;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

/// Where bad input comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The Unix socket (screens, the CLI, scripts).
    Socket,
    /// The webhook port (the platforms, and anyone on the internet).
    Webhook,
    /// A catalog file (`flashpick catalog import`).
    Csv,
    /// HQ's topics (relayed orders, catalog deltas).
    HqTopics,
    /// A serial scanner.
    Serial,
}

/// What is wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Bigger than anything real.
    Oversize,
    /// A number beyond its bounds.
    OutOfRange,
    /// A value of the wrong type or shape.
    WrongType,
    /// The same thing twice, or one thing under two names.
    Duplicate,
    /// Too much at once.
    Flood,
    /// A peer that holds a connection and trickles.
    SlowPeer,
}

/// What is sent.
pub enum Input {
    /// A raw line on the socket, after the hello.
    Line(String),
    /// A form body posted to a webhook path, signed when `signed`.
    Push {
        /// `/meituan/paid`, `/djsw/newOrder`.
        path: &'static str,
        /// The body.
        body: String,
    },
    /// A catalog file's text.
    File(String),
    /// A payload published on `flashpick/v1/{store}/{topic}`.
    Publish {
        /// `orders`, `catalog`.
        topic: &'static str,
        /// The payload.
        payload: Vec<u8>,
    },
    /// Bytes on the scanner's line.
    Bytes(Vec<u8>),
    /// Covered by a test of its own (limits lowered for one daemon): its name.
    Elsewhere(&'static str),
    /// Not a door this class can come through, and why.
    NotApplicable(&'static str),
}

/// One row of the table.
pub struct Case {
    /// The door.
    pub door: Door,
    /// The class.
    pub class: Class,
    /// What it is, for messages.
    pub what: &'static str,
    /// What is sent.
    pub input: Input,
    /// Words the refusal must contain.
    pub refusal: &'static str,
}

const PUSH_URL: &str = "https://store.example.com/meituan";

fn mt_push(order: &str, quantity: Value, price: Value) -> String {
    let mut f: Vec<(String, String)> = vec![
        ("app_id".into(), "sim-meituan".into()),
        ("timestamp".into(), (Timestamp::now().0 / 1000).to_string()),
        ("order_id".into(), order.into()),
        ("ctime".into(), (Timestamp::now().0 / 1000).to_string()),
        (
            "detail".into(),
            json!([{"app_food_code": "W550", "quantity": quantity, "price": price}]).to_string(),
        ),
    ];
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sig =
        flashpick::sync::sign::meituan(&format!("{PUSH_URL}/paid"), &refs, "sim-meituan-secret");
    f.push(("sig".into(), sig));
    flashpick::sync::channel::form(&f)
}

fn jd_push(param: &str) -> String {
    let mut f: Vec<(String, String)> = vec![
        ("app_key".into(), "sim-jd".into()),
        ("token".into(), "sim-jd-token".into()),
        (
            "timestamp".into(),
            flashpick::model::china_time::format(Timestamp::now()),
        ),
        ("format".into(), "json".into()),
        ("v".into(), "1.0".into()),
        ("jd_param_json".into(), param.to_string()),
    ];
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sign = flashpick::sync::sign::jddj(&refs, "sim-jd-secret");
    f.push(("sign".into(), sign));
    flashpick::sync::channel::form(&f)
}

fn relayed(id: &str, lines: Value, placed_at: i64) -> Vec<u8> {
    json!({"v": 1, "id": id, "order": {
        "platform": "hq", "external_id": id, "placed_at": placed_at, "lines": lines}})
    .to_string()
    .into_bytes()
}

const HEADER: &str = "sku,name,barcode,location,on_hand\n";

/// THE table: every door against every class.
pub fn cases() -> Vec<Case> {
    use Class::*;
    use Door::*;
    use Input::*;
    let now = Timestamp::now().0;
    let line = |v: Value| Line(v.to_string());
    vec![
        // The socket.
        Case { door: Socket, class: Oversize, what: "a line of 70 KiB",
            input: Line(format!("{{\"id\":9,\"req\":\"stock_lookup\",\"query\":\"{}\"}}", "x".repeat(70 * 1024))),
            refusal: "longer than" },
        Case { door: Socket, class: OutOfRange, what: "a receive of 2e9 units",
            input: line(json!({"id": 1, "req": "stock_receive", "code": "W550", "qty": 2_000_000_000i64})),
            refusal: "1000000000" },
        Case { door: Socket, class: OutOfRange, what: "4,294,967,295 bags",
            input: line(json!({"id": 1, "req": "pack", "order_id": 1, "bags": 4_294_967_295u64})),
            refusal: "at most 99" },
        Case { door: Socket, class: WrongType, what: "a quantity in words",
            input: line(json!({"id": 1, "req": "stock_receive", "code": "W550", "qty": "five"})),
            refusal: "not a valid request" },
        Case { door: Socket, class: WrongType, what: "a field the request does not have",
            input: line(json!({"id": 1, "req": "cancel_order", "order_id": 1, "reson": "x", "reason": "缺货"})),
            refusal: "unknown field `reson`" },
        Case { door: Socket, class: WrongType, what: "a store cancel without a reason",
            input: line(json!({"id": 1, "req": "cancel_order", "order_id": 1, "reason": " "})),
            refusal: "needs a reason" },
        Case { door: Socket, class: Duplicate, what: "one sku twice in a staged catalog",
            input: Line(format!("{}\n{}",
                json!({"id": 1, "req": "catalog_stage", "rows": [
                    {"line": 2, "sku": "DUP", "name": "一", "unit": "piece", "location": "A", "walk_seq": 1, "on_hand": 1, "barcodes": [], "name_en": null, "spec": null, "price": null, "safety_stock": null},
                    {"line": 3, "sku": "DUP", "name": "二", "unit": "piece", "location": "A", "walk_seq": 1, "on_hand": 1, "barcodes": [], "name_en": null, "spec": null, "price": null, "safety_stock": null}]}),
                json!({"id": 2, "req": "catalog_commit"}))),
            refusal: "already appears on line 2" },
        Case { door: Socket, class: Flood, what: "1,100 idle clients",
            input: Elsewhere("flood_tests::slow_peers_on_every_door_do_not_stop_a_signed_push_nor_spin"), refusal: "" },
        Case { door: Socket, class: SlowPeer, what: "a client that never says hello",
            input: Elsewhere("flood_tests::a_silent_client_is_closed_after_the_hello_deadline"), refusal: "" },
        // The webhook port: signed by the platform, so received, kept as refused, told once.
        Case { door: Webhook, class: Oversize, what: "a 300 KiB push",
            input: Push { path: "/meituan/paid", body: "a".repeat(300 * 1024) }, refusal: "413" },
        Case { door: Webhook, class: Oversize, what: "a 5,000-digit JD bill id",
            input: Push { path: "/djsw/newOrder", body: jd_push(&format!(r#"{{"billId":"{}","statusId":"32000"}}"#, "7".repeat(5000))) },
            refusal: "is not an id" },
        Case { door: Webhook, class: OutOfRange, what: "a quantity of -5",
            input: Push { path: "/meituan/paid", body: mt_push("HD-1", json!(-5), json!("2.00")) },
            refusal: "quantity -5" },
        Case { door: Webhook, class: OutOfRange, what: "a price of -99999999999999999999.99",
            input: Push { path: "/meituan/paid", body: mt_push("HD-2", json!(1), json!("-99999999999999999999.99")) },
            refusal: "is not a price" },
        Case { door: Webhook, class: WrongType, what: "a quantity in words",
            input: Push { path: "/meituan/paid", body: mt_push("HD-3", json!("lots"), json!("2.00")) },
            refusal: "not a whole number" },
        Case { door: Webhook, class: WrongType, what: "jd_param_json that is a list",
            input: Push { path: "/djsw/newOrder", body: jd_push("[1,2,3]") }, refusal: "not an object" },
        Case { door: Webhook, class: Duplicate, what: "one order id with other lines",
            input: Push { path: "/meituan/paid", body: mt_push("HD-OK", json!(4), json!("2.00")) },
            refusal: "other content" },
        Case { door: Webhook, class: Flood, what: "connections by the hundred",
            input: Elsewhere("flood_tests::slow_peers_on_every_door_do_not_stop_a_signed_push_nor_spin"), refusal: "" },
        Case { door: Webhook, class: Flood, what: "more connections than descriptors",
            input: Elsewhere("flood_tests::accept_errors_back_off_and_are_logged_once_per_interval"), refusal: "" },
        Case { door: Webhook, class: SlowPeer, what: "peers trickling headers or bodies",
            input: Elsewhere("flood_tests::slow_peers_on_every_door_do_not_stop_a_signed_push_nor_spin"), refusal: "" },
        // Catalog files, through the running daemon.
        Case { door: Csv, class: Oversize, what: "a 70 KiB name",
            input: File(format!("{HEADER}BIG,{},,A-1,1\n", "名".repeat(24 * 1024))), refusal: "at most 256" },
        Case { door: Csv, class: OutOfRange, what: "on_hand of 2e9",
            input: File(format!("{HEADER}BIG,水,,A-1,2000000000\n")), refusal: "on_hand 2000000000" },
        Case { door: Csv, class: OutOfRange, what: "a wrong check digit",
            input: File(format!("{HEADER}BIG,水,6901234567893,A-1,1\n")), refusal: "check digit" },
        Case { door: Csv, class: WrongType, what: "on_hand in words",
            input: File(format!("{HEADER}BIG,水,,A-1,lots\n")), refusal: "not a whole number" },
        Case { door: Csv, class: Duplicate, what: "a header column twice",
            input: File("sku,sku,name,barcode,location,on_hand\nA,B,水,,A-1,1\n".into()), refusal: "appears twice" },
        Case { door: Csv, class: Duplicate, what: "one GTIN as 13 and 14 digits",
            input: File(format!("{HEADER}T1,茶,6921168558049,A-1,1\nT2,茶,06921168558049,A-2,1\n")), refusal: "same GTIN" },
        Case { door: Csv, class: Duplicate, what: "a code another item has",
            input: File(format!("{HEADER}T1,茶,6901234567892,A-1,1\n")), refusal: "already belongs to sku W550" },
        Case { door: Csv, class: Flood, what: "gigabytes of staged rows",
            input: Elsewhere("flood_tests::catalog_staging_is_bounded_by_bytes"), refusal: "" },
        Case { door: Csv, class: SlowPeer, what: "a file that arrives slowly",
            input: NotApplicable("a catalog file is read whole and checked before anything is sent; the daemon's side of an import is bounded by the CLI's deadlines (flood_tests::client_commands_give_up_on_a_stopped_daemon)"),
            refusal: "" },
        // HQ's topics.
        Case { door: HqTopics, class: Oversize, what: "a 5 MiB message",
            input: Publish { topic: "orders", payload: vec![b' '; 5 << 20] }, refusal: "more than the" },
        Case { door: HqTopics, class: OutOfRange, what: "a relayed order of 0 units",
            input: Publish { topic: "orders", payload: relayed("HQ-1", json!([{"sku": "W550", "qty": 0, "unit_price": 1}]), now) },
            refusal: "quantity 0" },
        Case { door: HqTopics, class: OutOfRange, what: "a relayed order placed a week ago",
            input: Publish { topic: "orders", payload: relayed("HQ-2", json!([{"sku": "W550", "qty": 1, "unit_price": 1}]), now - 7 * 86_400_000) },
            refusal: "not within 3 days" },
        Case { door: HqTopics, class: WrongType, what: "an order that is a string",
            input: Publish { topic: "orders", payload: br#"{"v":1,"id":"HQ-3","order":"nope"}"#.to_vec() },
            refusal: "not a relayed order" },
        Case { door: HqTopics, class: Duplicate, what: "one relayed order id with other lines",
            input: Publish { topic: "orders", payload: relayed("HQ-DUP", json!([{"sku": "W550", "qty": 3, "unit_price": 1}]), now) },
            refusal: "other content" },
        Case { door: HqTopics, class: Duplicate, what: "a delta giving W550's code to another item",
            input: Publish { topic: "catalog", payload: json!({"v": 1, "version": 1, "changes": [
                {"op": "item", "sku": "T1", "name": "茶", "location": "A-9", "barcodes": ["06901234567892"]}]}).to_string().into_bytes() },
            refusal: "already belongs to sku W550" },
        Case { door: HqTopics, class: Flood, what: "a burst of 1,000 relayed orders",
            input: Elsewhere("hq_tests::hq_relay_burst_is_not_stalled_by_acks"), refusal: "" },
        Case { door: HqTopics, class: SlowPeer, what: "a broker that answers slowly or not at all",
            input: Elsewhere("fault_campaign::network_fault_campaign"), refusal: "" },
        // Serial scanners.
        Case { door: Serial, class: Oversize, what: "a frame longer than max_frame",
            input: Bytes([vec![b'7'; 600], b"\r".to_vec()].concat()), refusal: "too_long" },
        Case { door: Serial, class: OutOfRange, what: "a GTIN with a wrong check digit",
            input: Bytes(b"6901234567893\r".to_vec()), refusal: "check digit" },
        Case { door: Serial, class: WrongType, what: "bytes that are not text",
            input: Bytes(vec![0xff, 0xfe, 0xfd, b'\r']), refusal: "not_utf8" },
        Case { door: Serial, class: Duplicate, what: "one read sent twice by the scanner",
            input: Bytes(b"6901234567892\r6901234567892\r".to_vec()), refusal: "repeat" },
        Case { door: Serial, class: Flood, what: "10 MB of noise",
            input: Elsewhere("flood_tests::noise_on_a_scanner_is_counted_and_logged_once_per_interval"), refusal: "" },
        Case { door: Serial, class: SlowPeer, what: "a scanner that trickles",
            input: NotApplicable("a serial line has no connection to hold: a frame ends at its suffix or when the line goes quiet (inter_byte_timeout_ms), so a slow scanner only makes slow frames"),
            refusal: "" },
    ]
}

async fn status(c: &mut Client) -> Value {
    c.request(Request::Status).await.unwrap()
}

/// The store's facts, to compare before and after a refused input.
fn facts(d: &Daemon) -> Vec<i64> {
    d.store()
        .read(|c| {
            let n = |q: &str| c.query_row(q, [], |r| r.get::<_, i64>(0));
            Ok(vec![
                n("SELECT count(*) FROM \"order\"")?,
                n("SELECT count(*) FROM order_line")?,
                n("SELECT count(*) FROM sku")?,
                n("SELECT count(*) FROM barcode")?,
                n("SELECT count(*) FROM stock_move")?,
                n("SELECT COALESCE(sum(on_hand), 0) FROM stock")?,
                n("SELECT COALESCE(sum(picked), 0) FROM order_line")?,
            ])
        })
        .unwrap()
}

fn rows(door: Door) -> Vec<Case> {
    cases()
        .into_iter()
        .filter(|c| {
            c.door == door && !matches!(c.input, Input::Elsewhere(_) | Input::NotApplicable(_))
        })
        .collect()
}

/// Every door meets every class: a case, a test of its own, or a reason it cannot apply.
#[test]
fn every_door_meets_every_class() {
    use Class::*;
    use Door::*;
    let all = cases();
    for door in [Socket, Webhook, Csv, HqTopics, Serial] {
        for class in [Oversize, OutOfRange, WrongType, Duplicate, Flood, SlowPeer] {
            assert!(
                all.iter().any(|c| c.door == door && c.class == class),
                "no case for {door:?} × {class:?}"
            );
        }
    }
    // A cell that points at a test points at one that exists.
    let sources: String = ["flood_tests.rs", "hq_tests.rs", "fault_campaign.rs"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/it")
                    .join(f),
            )
            .unwrap()
        })
        .collect();
    for c in &all {
        if let Input::NotApplicable(why) = c.input {
            assert!(
                why.len() > 20,
                "{:?} × {:?}: say why it cannot apply",
                c.door,
                c.class
            );
        }
        if let Input::Elsewhere(test) = c.input {
            let name = test.rsplit("::").next().unwrap();
            assert!(
                sources.contains(&format!("fn {name}(")),
                "{test} does not exist"
            );
        }
    }
}

/// The daemon every door's test runs against: both platforms pushing to it, HQ on a broker, a
/// scanner on a pseudo-terminal bound to picker p1.
struct Store {
    d: Daemon,
    sim: flashpick::sim::SimHandle,
    _broker: Broker,
    hq: Hq,
    gun: serialport::TTYPort,
    _dir: tempfile::TempDir,
}

async fn store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    // Order 1, for the requests that name one.
    seed_db(dir.path(), &[("MT-SEED", &[("W550", 1)])]);
    let sim = crate::platform_tests::start_sim().await;
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let gun_path = dir.path().join("gun-1");
    let gun = crate::scanner_tests::plug(&gun_path);
    let text = daemon_config(dir.path())
        .source
        .0
        .replace("mqtt://127.0.0.1:9", &broker.url())
        .replace("mode = \"poll\"", "mode = \"push\"\nreconcile_secs = 0")
        .replace(
            "base_url = \"http://127.0.0.1:9/api/v1\"",
            &format!(
                "base_url = \"{}\"\npush_url = \"{PUSH_URL}\"",
                sim.meituan_base()
            ),
        )
        .replace(
            "base_url = \"http://127.0.0.1:9/djapi\"",
            &format!("base_url = \"{}\"", sim.jd_base()),
        )
        .replace("app_id = \"mt-app\"", "app_id = \"sim-meituan\"")
        .replace("secret = \"mt-secret\"", "secret = \"sim-meituan-secret\"")
        .replace("app_id = \"jd-app\"", "app_id = \"sim-jd\"")
        .replace("secret = \"jd-secret\"", "secret = \"sim-jd-secret\"")
        .replace("token = \"jd-token\"", "token = \"sim-jd-token\"")
        + &format!(
            "[webhooks]\nlisten = \"127.0.0.1:0\"\n[[scanners]]\nname = \"gun-1\"\npath = \"{}\"\npicker = \"p1\"\nmax_frame = 512\n",
            gun_path.display()
        );
    let d = Daemon::start(Config::parse(&text, Path::new("hostile.toml")).unwrap())
        .await
        .unwrap();
    sim.sim
        .set_push_to(Some(format!("http://{}", d.webhook_addr().unwrap())));
    Store {
        d,
        sim,
        _broker: broker,
        hq,
        gun,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_refuses_every_case_of_the_table() {
    let s = store().await;
    let mut c = Client::connect(s.d.socket_path(), "hostile", Some("p1"))
        .await
        .unwrap();
    for case in rows(Door::Socket) {
        let Input::Line(text) = &case.input else {
            unreachable!()
        };
        let before = facts(&s.d);
        let mut replies = Vec::new();
        for l in text.lines() {
            c.send_line(l).await.unwrap();
            replies.push(within(10, case.what, c.read_line()).await.unwrap());
        }
        let last = replies.last().unwrap();
        assert!(
            last.contains("\"error\"") && last.contains(case.refusal),
            "{}: {last}",
            case.what
        );
        assert_eq!(
            facts(&s.d),
            before,
            "{}: a refused request changed the store",
            case.what
        );
    }
    s.d.shutdown().await;
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_port_refuses_every_case_of_the_table() {
    let s = store().await;
    let base = format!("http://{}", s.d.webhook_addr().unwrap());
    let http = reqwest::Client::new();
    let post = |path: &str, body: String| {
        http.post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let mut screen = Client::connect(s.d.socket_path(), "screen", Some("p1"))
        .await
        .unwrap();
    screen
        .request(Request::Subscribe {
            topics: vec![Topic::Alerts],
        })
        .await
        .unwrap();
    // The order the duplicate case changes.
    let first = post("/meituan/paid", mt_push("HD-OK", json!(1), json!("2.00")))
        .await
        .unwrap();
    assert_eq!(first.json::<Value>().await.unwrap()["data"], "ok");
    for case in rows(Door::Webhook) {
        let Input::Push { path, body } = &case.input else {
            unreachable!()
        };
        let before = facts(&s.d);
        let answer = post(path, body.clone()).await.unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        if case.refusal == "413" {
            assert_eq!(status, 413, "{}: {text}", case.what);
        } else {
            // Signed: received (a refusal would be retried for hours), and told.
            assert!(
                text.contains("\"ok\"") || text.contains("\"0\""),
                "{}: {text}",
                case.what
            );
            let told = within(10, case.what, async {
                loop {
                    if let Event::Alert { message, .. } = screen.next_event().await.unwrap()
                        && message.contains(case.refusal)
                    {
                        return message;
                    }
                }
            })
            .await;
            assert!(!told.is_empty());
        }
        assert_eq!(facts(&s.d), before, "{}: changed the store", case.what);
    }
    s.d.shutdown().await;
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_files_refuse_every_case_of_the_table() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("store.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nid = \"T-0001\"\nstate_dir = \"{}\"\n[api]\nsocket = \"{}\"\n",
            dir.path().display(),
            s.d.socket_path().display()
        ),
    )
    .unwrap();
    for (i, case) in rows(Door::Csv).into_iter().enumerate() {
        let Input::File(text) = &case.input else {
            unreachable!()
        };
        let file = dir.path().join(format!("case-{i}.csv"));
        std::fs::write(&file, text).unwrap();
        let before = facts(&s.d);
        let (cfg, file) = (cfg.clone(), file.clone());
        let o = tokio::task::spawn_blocking(move || {
            crate::cli_tests::bin()
                .args([
                    "--config",
                    cfg.to_str().unwrap(),
                    "catalog",
                    "import",
                    file.to_str().unwrap(),
                ])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let err = crate::cli_tests::stderr(&o);
        assert_eq!(o.status.code(), Some(65), "{}: {err}", case.what);
        assert!(err.contains(case.refusal), "{}: {err}", case.what);
        assert_eq!(facts(&s.d), before, "{}: changed the store", case.what);
    }
    s.d.shutdown().await;
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hq_topics_refuse_every_case_of_the_table() {
    let s = store().await;
    s.hq.until(10, "the store online", |h| {
        h.last("T-0001/status")
            .is_some_and(|st| st["online"] == true)
    })
    .await;
    // The order the duplicate case sends again with other lines.
    s.hq.client
        .publish(
            "flashpick/v1/T-0001/orders",
            QoS::AtLeastOnce,
            false,
            relayed(
                "HQ-DUP",
                json!([{"sku": "W550", "qty": 1, "unit_price": 1}]),
                Timestamp::now().0,
            ),
        )
        .await
        .unwrap();
    within(10, "the first HQ-DUP", async {
        loop {
            let n: i64 =
                s.d.store()
                    .read(|c| {
                        Ok(c.query_row(
                            "SELECT count(*) FROM \"order\" WHERE external_id = 'HQ-DUP'",
                            [],
                            |r| r.get(0),
                        )?)
                    })
                    .unwrap();
            if n == 1 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    for case in rows(Door::HqTopics) {
        let Input::Publish { topic, payload } = &case.input else {
            unreachable!()
        };
        let before = facts(&s.d);
        s.hq.client
            .publish(
                format!("flashpick/v1/T-0001/{topic}"),
                QoS::AtLeastOnce,
                false,
                payload.clone(),
            )
            .await
            .unwrap();
        s.hq.until(15, case.what, |h| {
            h.events.lock().unwrap().iter().any(|e| {
                e.kind == "rejected"
                    && e.data["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains(case.refusal))
            })
        })
        .await;
        assert_eq!(facts(&s.d), before, "{}: changed the store", case.what);
    }
    s.d.shutdown().await;
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_scanners_refuse_every_case_of_the_table() {
    let mut s = store().await;
    let mut c = Client::connect(s.d.socket_path(), "screen", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Scans],
    })
    .await
    .unwrap();
    // An order in picking for p1, so that scans have somewhere to go.
    let ext = s
        .sim
        .sim
        .new_order(
            flashpick::model::Platform::Meituan,
            &[("W550".into(), 5)],
            false,
        )
        .await
        .unwrap();
    let id = within(10, "the order", async {
        loop {
            let list = c.request(Request::ListOrders { all: true }).await.unwrap();
            if let Some(o) = list["orders"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["external_id"] == ext.as_str())
                && o["state"] == "accepted"
            {
                return o["id"].as_i64().unwrap();
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    c.request(Request::ClaimOrder {
        order_id: id,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    // The scanner is open (raw mode) before anything is sent.
    within(10, "the scanner open", async {
        while status(&mut c).await["scanners"][0]["connected"] != true {
            tokio::task::yield_now().await;
        }
    })
    .await;
    for case in rows(Door::Serial) {
        let Input::Bytes(bytes) = &case.input else {
            unreachable!()
        };
        let before = facts(&s.d);
        let errors_before = status(&mut c).await["scanners"][0]["errors"]
            .as_u64()
            .unwrap();
        s.gun.write_all(bytes).unwrap();
        s.gun.flush().unwrap();
        match case.refusal {
            // Framing rejects: counted and shown in the status.
            "too_long" | "not_utf8" => {
                within(10, case.what, async {
                    loop {
                        let st = status(&mut c).await;
                        let sc = &st["scanners"][0];
                        if sc["errors"].as_u64().unwrap() > errors_before
                            && sc["last_error"]
                                .as_str()
                                .is_some_and(|e| e.contains(case.refusal))
                        {
                            return;
                        }
                        tokio::task::yield_now().await;
                    }
                })
                .await;
                assert_eq!(facts(&s.d), before, "{}: changed the store", case.what);
            }
            // One read twice within the repeat window: one unit, not two.
            "repeat" => {
                let picked = within(10, case.what, async {
                    loop {
                        if let Event::ScanResult { reply } = c.next_event().await.unwrap() {
                            return reply;
                        }
                    }
                })
                .await;
                assert_eq!(picked.result, flashpick::api::ScanOutcome::Ok, "{picked:?}");
                let (_, metrics) = crate::common::http_get(s.d.http_addr(), "/metrics").await;
                assert!(
                    metrics.contains("flashpick_scan_repeats_total 1"),
                    "{metrics}"
                );
                let after = facts(&s.d);
                assert_eq!(after[6], before[6] + 1, "{}: counted twice", case.what);
            }
            // A code the decoder refuses: told, nothing counted.
            refusal => {
                let reply = within(10, case.what, async {
                    loop {
                        if let Event::ScanResult { reply } = c.next_event().await.unwrap() {
                            return reply;
                        }
                    }
                })
                .await;
                assert!(reply.message.contains(refusal), "{}: {reply:?}", case.what);
                assert_eq!(facts(&s.d)[6], before[6], "{}: counted", case.what);
            }
        }
    }
    s.d.shutdown().await;
    s.sim.stop().await;
}
