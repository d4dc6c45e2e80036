//! The real daemon, in-process, on a temp dir: socket hello, requests, events, bad input, shutdown.

use crate::common::{daemon_config, http_get, seed_db, within};
use flashpick::api::client::{Client, ClientError};
use flashpick::api::{Event, Request, ScanOutcome, Topic};
use flashpick::daemon::{Daemon, DaemonError};
use flashpick::model::OrderState;
use flashpick::store::{self, Store};
use serde_json::Value;

async fn connect(d: &Daemon) -> Client {
    within(
        5,
        "connect",
        Client::connect(d.socket_path(), "test", Some("p1")),
    )
    .await
    .expect("hello")
}

async fn req(c: &mut Client, r: Request) -> Value {
    within(5, "reply", c.request(r)).await.expect("request")
}

/// Waits for the next event matching `pick`, with a deadline.
async fn wait_event(c: &mut Client, what: &str, pick: impl Fn(&Event) -> bool) -> Event {
    within(5, what, async {
        loop {
            let e = c.next_event().await.expect("event");
            if pick(&e) {
                return e;
            }
        }
    })
    .await
}

/// Like [`wait_event`], keeping the events it passes over in `kept` (searched first, in order):
/// events of different kinds (an order's change, a scan's result) may come in either order.
async fn wait_kept(
    c: &mut Client,
    kept: &mut Vec<Event>,
    what: &str,
    pick: impl Fn(&Event) -> bool,
) -> Event {
    if let Some(i) = kept.iter().position(&pick) {
        return kept.remove(i);
    }
    within(5, what, async {
        loop {
            let e = c.next_event().await.expect("event");
            if pick(&e) {
                return e;
            }
            kept.push(e);
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picker_claims_scans_and_a_second_station_sees_every_step() {
    let dir = tempfile::tempdir().unwrap();
    // Lines against the walk: BREAD (A-04) is line 1, W550 (A-02) line 2.
    let ids = seed_db(dir.path(), &[("MT-100", &[("BREAD", 1), ("W550", 2)])]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut picker = connect(&d).await;
    // The picker's own screen is subscribed too: its requests are answered while events stream.
    req(&mut picker, Request::Subscribe { topics: vec![] }).await;
    assert_eq!(picker.server.protocol, flashpick::api::PROTOCOL);
    assert_eq!(picker.server.store_id.as_deref(), Some("T-0001"));
    let mut station = connect(&d).await;
    let sub = req(
        &mut station,
        Request::Subscribe {
            topics: vec![Topic::Orders, Topic::Scans],
        },
    )
    .await;
    assert_eq!(sub["subscribed"], serde_json::json!(["orders", "scans"]));

    let list = req(&mut picker, Request::ListOrders { all: false }).await;
    assert_eq!(list["orders"].as_array().unwrap().len(), 1);
    assert_eq!(list["orders"][0]["state"], "new");
    assert_eq!(list["orders"][0]["sla"], "on_time");
    let id = ids[0].0;
    req(&mut picker, Request::AcceptOrder { order_id: id }).await;
    let early = picker
        .request(Request::RecordScan {
            order_id: id,
            code: "6901234567892".into(),
            scanner: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        early.to_string(),
        "cannot scan items into an order that is accepted"
    );
    let claimed = req(
        &mut picker,
        Request::ClaimOrder {
            order_id: id,
            picker: "p1".into(),
            take_over: false,
        },
    )
    .await;
    assert_eq!(claimed["order"]["picker"], "p1");
    // Pick list in shelf walk order, not line order: W550 at A-02 before BREAD at A-04.
    let walk: Vec<(&str, u64)> = claimed["order"]["walk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["location"].as_str().unwrap(),
                w["line_no"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(walk, [("A-02", 2), ("A-04", 1)]);

    let scan = |code: &str| Request::RecordScan {
        order_id: id,
        code: code.into(),
        scanner: Some("s1".into()),
    };
    let ok = req(&mut picker, scan("6901234567892")).await;
    assert_eq!(ok["result"], "ok");
    assert_eq!(ok["line_no"], 2);
    let wrong = req(&mut picker, scan("4006381333931")).await;
    assert_eq!(wrong["result"], "wrong_item");
    assert_eq!(wrong["name"], "光明鲜牛奶 1L");
    let unknown = req(&mut picker, scan("0000000000000")).await;
    assert_eq!(unknown["result"], "unknown");
    req(&mut picker, scan("6901234567892")).await;
    let over = req(&mut picker, scan("6901234567892")).await;
    assert_eq!(over["result"], "over");

    let mut kept = Vec::new();
    for cause in ["accept", "claim", "pick"] {
        let e = wait_kept(&mut station, &mut kept, cause, |e| {
            matches!(e, Event::OrderChanged { .. })
        })
        .await;
        match e {
            Event::OrderChanged { cause: c, order } => {
                assert_eq!(c, cause);
                assert_eq!(order.order.id.0, id);
            }
            _ => unreachable!(),
        }
    }
    // The other station sees the wrong scan too, with what was still expected.
    let wrong_scan = wait_kept(
        &mut station,
        &mut kept,
        "wrong scan",
        |e| matches!(e, Event::ScanResult { reply } if reply.result == ScanOutcome::WrongItem),
    )
    .await;
    let Event::ScanResult { reply } = wrong_scan else {
        unreachable!()
    };
    assert_eq!(reply.code, "4006381333931");
    assert_eq!(reply.expected.len(), 2, "{:?}", reply.expected);

    req(
        &mut picker,
        Request::RecordScan {
            order_id: id,
            code: "96385074".into(),
            scanner: None,
        },
    )
    .await;
    let done = req(&mut picker, Request::CompletePick { order_id: id }).await;
    assert_eq!(done["order"]["state"], "picked");
    req(
        &mut picker,
        Request::Pack {
            order_id: id,
            bags: 1,
        },
    )
    .await;
    let handed = req(
        &mut picker,
        Request::HandOver {
            order_id: id,
            code: None,
        },
    )
    .await;
    assert_eq!(handed["order"]["state"], "handed_over");
    let open = req(&mut picker, Request::ListOrders { all: false }).await;
    assert!(open["orders"].as_array().unwrap().is_empty());

    let (status_line, body) = http_get(d.http_addr(), "/metrics").await;
    assert!(status_line.contains("200"), "{status_line}");
    assert!(
        body.contains("flashpick_scans_total{result=\"wrong_item\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("flashpick_scans_total{result=\"ok\"} 3"),
        "{body}"
    );
    assert!(
        body.contains("flashpick_orders{state=\"handed_over\"} 1"),
        "{body}"
    );
    let status = req(&mut picker, Request::Status).await;
    let hq = status["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "hq");
    assert!(
        hq.is_some_and(|d| d["pending"].as_i64() > Some(5)),
        "HQ events queued: {status}"
    );
    let (health, ok) = http_get(d.http_addr(), "/healthz").await;
    assert!(health.contains("200") && ok == "ok\n", "{health} {ok}");

    within(5, "shutdown", d.shutdown()).await;
    assert!(!dir.path().join("fp.sock").exists(), "socket removed");
    // Events already in flight are still delivered; then the connection ends.
    let end = within(5, "connection closed", async {
        loop {
            if let Err(e) = station.next_event().await {
                return e;
            }
        }
    })
    .await;
    assert!(matches!(end, ClientError::Closed), "{end}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_lines_get_errors_and_the_connection_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut c = connect(&d).await;
    let cases: [(&str, Value); 5] = [
        ("this is not json", Value::Null),
        (r#"{"id":5,"req":"fly_to_the_moon"}"#, Value::from(5)),
        (
            r#"{"id":6,"req":"claim_order","order_id":1}"#,
            Value::from(6),
        ),
        (
            r#"{"id":7,"req":"claim_order","order_id":"one","picker":"p"}"#,
            Value::from(7),
        ),
        ("[1,2,3]", Value::Null),
    ];
    for (line, id) in cases {
        c.send_line(line).await.unwrap();
        let reply: Value =
            serde_json::from_str(&within(5, "error reply", c.read_line()).await.unwrap()).unwrap();
        assert_eq!(reply["id"], id, "{line}");
        assert_eq!(reply["error"]["code"], "bad_request", "{line}: {reply}");
        assert!(!reply["error"]["message"].as_str().unwrap().is_empty());
    }
    // A line far too long is refused as a whole, and the next line is read normally.
    c.send_line(&"x".repeat(flashpick::api::MAX_LINE + 10))
        .await
        .unwrap();
    let reply: Value = serde_json::from_str(&c.read_line().await.unwrap()).unwrap();
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer"),
        "{reply}"
    );
    // Not found and refused are told apart.
    let e = c
        .request(Request::GetOrder { order_id: 999 })
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::Refused { ref code, .. } if code == "not_found"),
        "{e}"
    );
    let status = req(&mut c, Request::Status).await;
    assert_eq!(status["store_id"], "T-0001");
    let (_, body) = http_get(d.http_addr(), "/metrics").await;
    assert!(body.contains("flashpick_api_malformed_total 6"), "{body}");
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_comes_first_and_versions_must_match() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut raw = tokio::io::BufReader::new(
        tokio::net::UnixStream::connect(d.socket_path())
            .await
            .unwrap(),
    );
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut line = String::new();
    raw.get_mut()
        .write_all(b"{\"id\":1,\"req\":\"status\"}\n")
        .await
        .unwrap();
    raw.read_line(&mut line).await.unwrap();
    let reply: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(reply["error"]["code"], "protocol");
    line.clear();
    raw.get_mut()
        .write_all(b"{\"hello\":{\"protocol\":1,\"client\":\"raw\"}}\n")
        .await
        .unwrap();
    raw.read_line(&mut line).await.unwrap();
    let hello: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(hello["hello"]["protocol"], 1);
    assert!(
        hello["hello"]["server"]
            .as_str()
            .unwrap()
            .starts_with("flashpick ")
    );

    let mut old = tokio::io::BufReader::new(
        tokio::net::UnixStream::connect(d.socket_path())
            .await
            .unwrap(),
    );
    old.get_mut()
        .write_all(b"{\"hello\":{\"protocol\":0}}\n")
        .await
        .unwrap();
    line.clear();
    old.read_line(&mut line).await.unwrap();
    assert!(line.contains("speaks protocol 1"), "{line}");
    line.clear();
    assert_eq!(
        old.read_line(&mut line).await.unwrap(),
        0,
        "closed after a version mismatch"
    );
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_while_picking_raises_an_alert_with_the_goods_to_put_back() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-200", &[("MILK1L", 2)])]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut c = connect(&d).await;
    let mut alerts = connect(&d).await;
    req(
        &mut alerts,
        Request::Subscribe {
            topics: vec![Topic::Alerts],
        },
    )
    .await;
    let id = ids[0].0;
    req(&mut c, Request::AcceptOrder { order_id: id }).await;
    req(
        &mut c,
        Request::ClaimOrder {
            order_id: id,
            picker: "p1".into(),
            take_over: false,
        },
    )
    .await;
    req(
        &mut c,
        Request::RecordScan {
            order_id: id,
            code: "4006381333931".into(),
            scanner: None,
        },
    )
    .await;
    req(
        &mut c,
        Request::CancelOrder {
            order_id: id,
            reason: "顾客取消".into(),
        },
    )
    .await;
    let alert = wait_event(&mut alerts, "alert", |e| matches!(e, Event::Alert { .. })).await;
    match alert {
        Event::Alert {
            level,
            message,
            order_id,
        } => {
            assert_eq!(level, "error");
            assert_eq!(order_id, Some(id));
            assert!(message.contains("光明鲜牛奶 1L ×1"), "{message}");
        }
        _ => unreachable!(),
    }
    let back = req(&mut c, Request::ConfirmReturn { order_id: id }).await;
    assert_eq!(back["order"]["return_pending"], false);
    let stock = req(
        &mut c,
        Request::StockLookup {
            query: "牛奶".into(),
        },
    )
    .await;
    assert_eq!(stock["items"][0]["on_hand"], 5);
    assert_eq!(stock["items"][0]["reserved"], 0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_receive_count_and_adjust_go_through_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut c = connect(&d).await;
    let r = req(
        &mut c,
        Request::StockReceive {
            code: "6901234567892".into(),
            qty: 12,
        },
    )
    .await;
    assert_eq!(
        (r["sku"].as_str(), r["on_hand"].as_i64()),
        (Some("W550"), Some(32))
    );
    let r = req(
        &mut c,
        Request::StockCount {
            code: "W550".into(),
            counted: 30,
            reason: None,
        },
    )
    .await;
    assert_eq!(r["on_hand"], 30);
    let e = c
        .request(Request::StockAdjust {
            code: "W550".into(),
            delta: -31,
            reason: "破损".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::Refused { ref code, .. } if code == "refused"),
        "{e}"
    );
    let e = c
        .request(Request::StockAdjust {
            code: "W550".into(),
            delta: -1,
            reason: " ".into(),
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("reason"), "{e}");
    req(
        &mut c,
        Request::StockAdjust {
            code: "W550".into(),
            delta: -2,
            reason: "破损".into(),
        },
    )
    .await;
    let store = d.store().clone();
    let kinds: Vec<(String, i64, String)> = store
        .read_async(|c| {
            let mut st = c.prepare(
                "SELECT kind, delta, actor FROM stock_move WHERE sku = 'W550' ORDER BY id",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    let kinds: Vec<(&str, i64, &str)> = kinds
        .iter()
        .map(|(k, d, a)| (k.as_str(), *d, a.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("import", 20, "catalog-import"),
            ("receive", 12, "p1"),
            ("count", -2, "p1"),
            ("adjust", -2, "p1")
        ]
    );
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_every_write_a_client_was_told_about() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-300", &[("W550", 20)])]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut c = connect(&d).await;
    let id = ids[0].0;
    req(&mut c, Request::AcceptOrder { order_id: id }).await;
    req(
        &mut c,
        Request::ClaimOrder {
            order_id: id,
            picker: "p1".into(),
            take_over: false,
        },
    )
    .await;
    // Pipeline 20 scans without waiting, then stop the daemon while they are in flight.
    for i in 0..20 {
        let line = format!(
            r#"{{"id":{},"req":"record_scan","order_id":{id},"code":"6901234567892"}}"#,
            100 + i
        );
        c.send_line(&line).await.unwrap();
    }
    let stopping = tokio::spawn(d.shutdown());
    let mut told_ok = 0;
    while let Ok(line) = c.read_line().await {
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["ok"]["result"] == "ok" {
            told_ok += 1;
        }
    }
    within(5, "shutdown", stopping).await.unwrap();
    let store = Store::open(&dir.path().join("store.db"), crate::common::options()).unwrap();
    let order = store
        .read(|c| store::load_order(c, ids[0]))
        .unwrap()
        .unwrap();
    assert_eq!(order.state, OrderState::Picking);
    assert!(
        order.lines[0].picked >= told_ok,
        "picked {} but told {told_ok}",
        order.lines[0].picked
    );
    assert!(store.read(store::check_invariants).unwrap().hold());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_the_same_socket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let e = Daemon::start(daemon_config(dir.path()))
        .await
        .err()
        .expect("refused");
    assert!(matches!(e, DaemonError::AlreadyRunning(_)), "{e}");
    d.shutdown().await;
    // A stale socket file left by a crash does not stop the next start.
    std::os::unix::net::UnixListener::bind(dir.path().join("fp.sock")).unwrap();
    let again = Daemon::start(daemon_config(dir.path())).await.unwrap();
    again.shutdown().await;
}

/// The protocol document names every request, every event and every scan result the code has:
/// the names come from serde itself (an unknown name is refused with the list of known ones).
#[test]
fn the_protocol_document_names_every_request_event_and_scan_result() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/protocol.md"),
    )
    .unwrap();
    let known = |probe: Value, what: &str| -> Vec<String> {
        let err = match what {
            "req" => serde_json::from_value::<Request>(probe).unwrap_err(),
            _ => serde_json::from_value::<Event>(probe).unwrap_err(),
        }
        .to_string();
        let list = err
            .split_once("expected one of")
            .unwrap_or_else(|| panic!("{err}"))
            .1;
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let requests = known(serde_json::json!({"req": "zz_probe"}), "req");
    let events = known(serde_json::json!({"type": "zz_probe"}), "type");
    assert!(
        requests.len() > 20 && events.len() >= 6,
        "{requests:?} {events:?}"
    );
    for name in requests.iter().chain(&events) {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "assets/protocol.md has no row for `{name}`"
        );
    }
    for outcome in ScanOutcome::ALL {
        assert!(
            doc.contains(&format!("`{}`", outcome.as_str())),
            "assets/protocol.md does not name the scan result `{}`",
            outcome.as_str()
        );
    }
}

/// The two topics the other tests do not watch: a stock change names its sku, and the status
/// arrives by itself every few seconds; a client sees only the topics it asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_and_status_events_reach_their_subscribers_only() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut stock = connect(&d).await;
    req(
        &mut stock,
        Request::Subscribe {
            topics: vec![Topic::Stock],
        },
    )
    .await;
    let mut status = connect(&d).await;
    req(
        &mut status,
        Request::Subscribe {
            topics: vec![Topic::Status],
        },
    )
    .await;
    req(
        &mut stock,
        Request::StockReceive {
            code: "6901234567892".into(),
            qty: 6,
        },
    )
    .await;
    let e = within(5, "the stock change", stock.next_event())
        .await
        .unwrap();
    let Event::StockChanged { skus } = e else {
        panic!("a stock subscriber got {e:?}")
    };
    assert_eq!(skus, ["W550"]);
    let e = within(12, "a status event", status.next_event())
        .await
        .unwrap();
    let Event::Status { status: s } = e else {
        panic!("a status subscriber got {e:?}")
    };
    assert_eq!(s.store_id, "T-0001");
    assert_eq!(s.open_orders, 0);
    d.shutdown().await;
}
