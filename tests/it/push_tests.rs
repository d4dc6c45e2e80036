//! Pushes a platform really signed but whose content is absurd: answered as received (a refusal
//! would be retried for hours), kept in the inbox as refused with the reason, no order made, one
//! alert naming the platform's order id; an order that changed under the same id is an alert.

use crate::platform_tests::{agent, start_sim};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::model::Timestamp;
use serde_json::{Value, json};

const PUSH_URL: &str = "https://store.example.com/meituan";

fn mt_signed(fields: &[(&str, String)]) -> String {
    mt_signed_as("paid", fields)
}

/// A Meituan push of `message` with these fields, signed as the platform signs it.
pub(crate) fn mt_signed_as(message: &str, fields: &[(&str, String)]) -> String {
    let mut f: Vec<(String, String)> = vec![
        ("app_id".into(), "sim-meituan".into()),
        ("timestamp".into(), (Timestamp::now().0 / 1000).to_string()),
    ];
    f.extend(fields.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sig = flashpick::sync::sign::meituan(
        &format!("{PUSH_URL}/{message}"),
        &refs,
        "sim-meituan-secret",
    );
    f.push(("sig".into(), sig));
    flashpick::sync::channel::form(&f)
}

fn jd_signed(param: &str) -> String {
    jd_signed_with("jd_param_json", param)
}

/// A JD push whose parameters travel under `key` (`jd_param_json`, or `encrypt_jd_param_json`).
fn jd_signed_with(key: &str, param: &str) -> String {
    jd_signed_fields(&[(key, param)])
}

/// A JD push with these parameter fields, signed.
fn jd_signed_fields(params: &[(&str, &str)]) -> String {
    let mut f: Vec<(String, String)> = vec![
        ("app_key".into(), "sim-jd".into()),
        ("token".into(), "sim-jd-token".into()),
        (
            "timestamp".into(),
            flashpick::model::china_time::format(Timestamp::now()),
        ),
        ("format".into(), "json".into()),
        ("v".into(), "1.0".into()),
    ];
    f.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sign = flashpick::sync::sign::jddj(&refs, "sim-jd-secret");
    f.push(("sign".into(), sign));
    flashpick::sync::channel::form(&f)
}

/// An order push with these details.
pub(crate) fn paid(order: &str, ctime: &str, detail: Value) -> String {
    mt_signed(&[
        ("order_id", order.to_string()),
        ("ctime", ctime.to_string()),
        ("detail", detail.to_string()),
    ])
}

/// Alerts until one matches `last` (a deadline, not a quiet period: events arrive in order, so
/// anything sent before the last one has arrived by then).
async fn alerts_until(c: &mut Client, last: impl Fn(&str) -> bool) -> Vec<String> {
    crate::common::within(10, "the last alert", async {
        let mut got = Vec::new();
        loop {
            if let Event::Alert { message, .. } = c.next_event().await.unwrap() {
                let done = last(&message);
                got.push(message);
                if done {
                    return got;
                }
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_but_signed_pushes_are_received_refused_and_told_once() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, _) = agent(dir.path(), &sim, "push").await;
    let mut screen = Client::connect(d.socket_path(), "screen", Some("p1"))
        .await
        .unwrap();
    screen
        .request(Request::Subscribe {
            topics: vec![Topic::Alerts],
        })
        .await
        .unwrap();
    let base = format!("http://{}", d.webhook_addr().unwrap());
    let http = reqwest::Client::new();
    let post = |path: &'static str, body: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            http.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let now = (Timestamp::now().0 / 1000).to_string();
    let line =
        |q: Value, price: Value| json!([{"app_food_code": "W550", "quantity": q, "price": price}]);
    let absurd = [
        (
            "MT-T1",
            paid(
                "MT-T1",
                "9223372036854775807",
                line(json!(1), json!("2.00")),
            ),
            "ctime",
        ),
        (
            "MT-T2",
            paid("MT-T2", &now, line(json!(-5), json!("2.00"))),
            "quantity -5",
        ),
        (
            "MT-T3",
            paid("MT-T3", &now, line(json!(5_000_000_000i64), json!("2.00"))),
            "quantity 5000000000",
        ),
        (
            "MT-T4",
            paid(
                "MT-T4",
                &now,
                line(json!(1), json!("-99999999999999999999.99")),
            ),
            "price",
        ),
        (
            "MT-T5",
            paid(
                "MT-T5",
                &(Timestamp::now().0 / 1000 - 5 * 86400).to_string(),
                line(json!(1), json!("2.00")),
            ),
            "placed at",
        ),
        (
            "MT-T6",
            paid(&"9".repeat(5000), &now, line(json!(1), json!("2.00"))),
            "order_id",
        ),
        // A time that does not read is not taken as "now" (which would pass the window).
        (
            "MT-T7",
            paid("MT-T7", "yesterday", line(json!(1), json!("2.00"))),
            "ctime \"yesterday\" is not a time",
        ),
        // A delivery booked a month ahead.
        (
            "MT-T8",
            mt_signed(&[
                ("order_id", "MT-T8".to_string()),
                ("ctime", now.clone()),
                (
                    "delivery_time",
                    (Timestamp::now().0 / 1000 + 30 * 86400).to_string(),
                ),
                ("detail", line(json!(1), json!("2.00")).to_string()),
            ]),
            "more than 7 days ahead",
        ),
    ];
    for (what, body, _) in &absurd {
        let answer = post("/meituan/paid", body.clone()).await;
        assert_eq!(answer["data"], "ok", "{what}: {answer}");
    }
    // The same pushes again (the platform retries): still received, not told twice.
    for (_, body, _) in &absurd {
        post("/meituan/paid", body.clone()).await;
    }
    let jd_absurd = [
        r#"{"billId":"","statusId":"32000"}"#.to_string(),
        "[1,2,3]".to_string(),
        r#"{"billId":"-1","statusId":"32000"}"#.to_string(),
        format!(r#"{{"billId":"{}","statusId":"32000"}}"#, "7".repeat(5000)),
    ];
    for param in &jd_absurd {
        let answer = post("/djsw/newOrder", jd_signed(param)).await;
        assert_eq!(answer["code"], "0", "{param}: {answer}");
    }
    let told = alerts_until(&mut screen, |m| m.contains("billId `77777")).await;
    for (what, _, reason) in &absurd {
        let shown: String = what.chars().take(12).collect();
        let n = told
            .iter()
            .filter(|m| m.contains("refused") && m.contains(reason))
            .count();
        assert!(n >= 1, "{shown}: no alert with `{reason}` in {told:#?}");
        // The alert names the platform's order id, so the manager finds it on the console
        // (MT-T6's 5,000 digits are no id to name).
        assert!(
            *what == "MT-T6" || told.iter().any(|m| m.contains(reason) && m.contains(what)),
            "{shown}: no alert naming the order in {told:#?}"
        );
    }
    assert_eq!(
        told.iter().filter(|m| m.contains("refused")).count(),
        absurd.len() + jd_absurd.len(),
        "one alert per refused push: {told:#?}"
    );
    let (orders, refused, fetches) = d
        .store()
        .read(|c| {
            let one = |q: &str| c.query_row(q, [], |r| r.get::<_, i64>(0));
            Ok((
                one("SELECT count(*) FROM \"order\"")?,
                one("SELECT count(*) FROM inbox WHERE refused IS NOT NULL")?,
                one("SELECT count(*) FROM outbox WHERE kind = 'fetch_order'")?,
            ))
        })
        .unwrap();
    assert_eq!(orders, 0, "no absurd order was taken");
    assert_eq!(refused as usize, absurd.len() + jd_absurd.len());
    assert_eq!(fetches, 0, "no fetch of an order without an id");
    let longest: i64 = d
        .store()
        .read(|c| {
            Ok(
                c.query_row("SELECT max(length(message_id)) FROM inbox", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap();
    assert!(longest < 100, "a 5,000-digit id was stored whole");

    // A good order, then the same id with other lines: received, the store keeps the first,
    // and every screen is told.
    let good = paid("MT-G1", &now, line(json!(1), json!("2.00")));
    assert_eq!(post("/meituan/paid", good).await["data"], "ok");
    let changed = paid("MT-G1", &now, line(json!(3), json!("2.00")));
    assert_eq!(post("/meituan/paid", changed).await["data"], "ok");
    let told = alerts_until(&mut screen, |m| {
        m.contains("MT-G1") && m.contains("other content")
    })
    .await;
    assert!(
        !told.iter().any(|m| m.contains("the store refused")),
        "a refusal told twice: {told:#?}"
    );
    let qty: i64 = d
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT l.qty FROM order_line l JOIN \"order\" o ON o.id = l.order_id WHERE o.external_id = 'MT-G1'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(qty, 1);
    d.shutdown().await;
    sim.stop().await;
}

/// The database deleted while a platform action is in flight: the answer cannot be marked done,
/// and the action must not go out again and again (it once went every second). Deliveries stop
/// until the daemon is restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_action_goes_out_twice_once_the_store_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, mut c) = agent(dir.path(), &sim, "push").await;
    c.request(Request::Subscribe {
        topics: vec![Topic::Orders, Topic::Alerts],
    })
    .await
    .unwrap();
    // The start-up stock sync first, so that the next call to Meituan is the order's confirm;
    // that one the platform will hold for 4 s.
    sim.sim
        .wait_for("the start-up stock sync", 10, |st| {
            st.calls
                .iter()
                .any(|(k, n)| k.starts_with("meituan retail/sku/stock") && *n >= 1)
                .then_some(())
        })
        .await;
    let r = reqwest::Client::new()
        .post(format!("http://{}/sim/faults", sim.addr))
        .json(&json!({"platform": "meituan", "kind": "slow", "slow_ms": 4000, "count": 1}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let ext = sim
        .sim
        .new_order(
            flashpick::model::Platform::Meituan,
            &[("W550".into(), 1)],
            false,
        )
        .await
        .unwrap();
    let confirms = |st: &flashpick::sim::State| -> u64 {
        st.calls
            .iter()
            .filter(|(k, _)| k.starts_with("meituan") && k.contains("confirm"))
            .map(|(_, n)| *n)
            .sum()
    };
    // Taken and accepted; the confirm is on its way.
    crate::common::within(10, "the order accepted", async {
        loop {
            if let Event::OrderChanged { order, .. } = c.next_event().await.unwrap()
                && order.order.external_id == ext
                && order.order.state == flashpick::model::OrderState::Accepted
            {
                return;
            }
        }
    })
    .await;
    let db = dir.path().join("store.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    crate::common::within(10, "the alarm", async {
        loop {
            if let Event::Alert { level, .. } = c.next_event().await.unwrap()
                && level == "error"
            {
                return;
            }
        }
    })
    .await;
    // The held confirm answered (the platform records its effect after the hold).
    sim.sim
        .wait_for("the held confirm", 10, |st| {
            st.effects
                .iter()
                .any(|e| e.order.as_deref() == Some(ext.as_str()) && e.action == "confirm")
                .then_some(())
        })
        .await;
    // A window in which the old worker would have sent it again (every second); not a wait
    // for anything to happen.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        confirms(&sim.sim.state.lock().unwrap()),
        1,
        "the confirm went out again"
    );
    d.shutdown().await;
    sim.stop().await;
}

/// A push JD encrypted (`encrypt_jd_param_json`, a scheme not documented here) is refused with
/// what to do, told once per bill however often JD retries it, and never read as an empty push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_jd_push_is_refused_and_told_once_per_bill() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = start_sim().await;
    let (d, _) = agent(dir.path(), &sim, "push").await;
    let mut screen = Client::connect(d.socket_path(), "screen", Some("p1"))
        .await
        .unwrap();
    screen
        .request(Request::Subscribe {
            topics: vec![Topic::Alerts],
        })
        .await
        .unwrap();
    let url = format!("http://{}/djsw/newOrder", d.webhook_addr().unwrap());
    let http = reqwest::Client::new();
    // Two bills, the first retried twice (JD retries for hours).
    for cipher in ["QmlsbCAx", "QmlsbCAx", "QmlsbCAx", "QmlsbCAy"] {
        let answer: Value = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(jd_signed_with("encrypt_jd_param_json", cipher))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["code"], "0", "{answer}");
    }
    // One more bill, sent with an empty jd_param_json beside the encrypted one.
    let answer: Value = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(jd_signed_fields(&[
            ("jd_param_json", ""),
            ("encrypt_jd_param_json", "QmlsbCAz"),
        ]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["code"], "0", "{answer}");
    // A plain push after them: when its alert is in, the others are too.
    let plain = jd_signed(r#"{"statusId":"32000"}"#);
    http.post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(plain)
        .send()
        .await
        .unwrap();
    let told = alerts_until(&mut screen, |m| m.contains("billId")).await;
    let encrypted: Vec<_> = told
        .iter()
        .filter(|m| m.contains("encrypt_jd_param_json") && m.contains("developer console"))
        .collect();
    assert_eq!(encrypted.len(), 3, "once per bill: {told:#?}");
    let fetches = d
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE kind = 'fetch_order'",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .unwrap();
    assert_eq!(fetches, 0, "nothing was fetched for an unreadable push");
    d.shutdown().await;
}

/// The webhook port's own deadlines: a peer still sending its request headers after
/// `HEADER_TIMEOUT` is closed, and a body not complete after `BODY_TIMEOUT` is answered 408 —
/// neither holds a connection for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_peer_is_closed_and_a_late_body_answered_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = crate::platform_tests::start_sim().await;
    let (d, _c) = crate::platform_tests::agent(dir.path(), &sim, "push").await;
    let addr = d.webhook_addr().unwrap();
    let limit = flashpick::daemon::HEADER_TIMEOUT
        .max(flashpick::sync::webhook::BODY_TIMEOUT)
        .as_secs()
        + 5;
    // Headers that never end.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /meituan/paid HTTP/1.1\r\nHost: store\r\n")
        .await
        .unwrap();
    // A body that never completes.
    let mut late = tokio::net::TcpStream::connect(addr).await.unwrap();
    late.write_all(
        b"POST /meituan/paid HTTP/1.1\r\nHost: store\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\norder_id=1",
    )
    .await
    .unwrap();
    let (closed, answered) = crate::common::within(limit, "both peers dealt with", async {
        let mut buf = Vec::new();
        let closed = slow.read_to_end(&mut buf).await.map(|_| buf);
        let mut answer = vec![0u8; 256];
        let n = late.read(&mut answer).await.unwrap();
        (closed, String::from_utf8_lossy(&answer[..n]).into_owned())
    })
    .await;
    // Closed without a request ever read (hyper may say 408 first; nothing else).
    let closed = closed.unwrap_or_default();
    assert!(
        closed.is_empty() || closed.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&closed)
    );
    assert!(answered.starts_with("HTTP/1.1 408"), "{answered}");
    d.shutdown().await;
}
