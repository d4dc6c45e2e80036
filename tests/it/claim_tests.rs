//! Whose order it is: a second screen logged in as another picker once scanned, shorted and
//! released p1's order, and its scans were booked to p1. Now the claiming picker's work is
//! theirs (or a manager's), someone else takes the order over first (a logged transfer), the
//! ledger and the scan log name who did it, and a claim nobody works on goes back to the queue.

use crate::common::{daemon_config, new_order, seed_db, seeded_store};
use flashpick::api::Request;
use flashpick::api::client::Client;
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::model::{OrderEvent, Timestamp};
use flashpick::store::{self, Ingested};
use std::path::Path;

async fn client(d: &Daemon, actor: &str) -> Client {
    Client::connect(d.socket_path(), "test", Some(actor))
        .await
        .unwrap()
}

fn who_did(d: &Daemon, sql: &str) -> Vec<String> {
    let sql = sql.to_string();
    d.store()
        .read(move |c| {
            Ok(c.prepare(&sql)?
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?)
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_pickers_order_needs_a_takeover_and_the_ledger_names_who_did_it() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-1", &[("W550", 3), ("BREAD", 1)])]);
    let text = daemon_config(dir.path()).source.0 + "\n[staff]\nmanagers = [\"m1\"]\n";
    let d = Daemon::start(Config::parse(&text, Path::new("t.toml")).unwrap())
        .await
        .unwrap();
    let id = ids[0].0;
    let (mut p1, mut p2, mut m1) = (
        client(&d, "p1").await,
        client(&d, "p2").await,
        client(&d, "m1").await,
    );
    p1.request(Request::AcceptOrder { order_id: id })
        .await
        .unwrap();
    p1.request(Request::ClaimOrder {
        order_id: id,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    let scan = |code: &str| Request::RecordScan {
        order_id: id,
        code: code.into(),
        scanner: None,
    };
    assert_eq!(
        p1.request(scan("6901234567892")).await.unwrap()["result"],
        "ok"
    );
    // p2's screen: every piece of p1's work is refused, and nothing is booked.
    for r in [
        scan("6901234567892"),
        Request::MarkShort {
            order_id: id,
            line_no: 2,
            qty: 1,
            reason: "out_of_stock".into(),
        },
        Request::ReleaseOrder { order_id: id },
        Request::ClaimOrder {
            order_id: id,
            picker: "p2".into(),
            take_over: false,
        },
    ] {
        let e = p2.request(r).await.unwrap_err().to_string();
        assert!(e.contains("p1"), "{e}");
    }
    assert_eq!(who_did(&d, "SELECT actor FROM pick_scan"), ["p1"]);
    assert_eq!(
        who_did(&d, "SELECT actor FROM stock_move WHERE kind = 'pick'"),
        ["p1"]
    );
    // On purpose: taken over, and the transfer is in the order's history.
    let taken = p2
        .request(Request::ClaimOrder {
            order_id: id,
            picker: "p2".into(),
            take_over: true,
        })
        .await
        .unwrap();
    assert_eq!(taken["order"]["picker"], "p2");
    assert_eq!(
        taken["order"]["lines"][0]["picked"], 1,
        "picked units stay picked"
    );
    assert_eq!(
        p2.request(scan("6901234567892")).await.unwrap()["result"],
        "ok"
    );
    assert_eq!(
        who_did(&d, "SELECT actor FROM pick_scan ORDER BY id"),
        ["p1", "p2"]
    );
    assert_eq!(
        who_did(
            &d,
            "SELECT actor FROM stock_move WHERE kind = 'pick' ORDER BY id"
        ),
        ["p1", "p2"]
    );
    let history = who_did(
        &d,
        "SELECT json_extract(event, '$.type') || ':' || actor FROM order_transition
         WHERE actor != 'platform' ORDER BY id",
    );
    assert_eq!(
        history,
        [
            "accept:p1",
            "claim:p1",
            "pick:p1",
            "release:p2",
            "claim:p2",
            "pick:p2"
        ]
    );
    // p1's old screen is now the one refused.
    let e = p1
        .request(scan("6901234567892"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("being picked by p2"), "{e}");
    // A manager may act on anyone's order without taking it, and is named for it.
    m1.request(Request::ReleaseOrder { order_id: id })
        .await
        .unwrap();
    let last = who_did(
        &d,
        "SELECT json_extract(event, '$.type') || ':' || actor FROM order_transition
         ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(last, ["release:m1"]);
    d.shutdown().await;
}

/// A claim nobody touches goes back to the queue; a touch (a scan, a transition) keeps it.
#[test]
fn an_idle_claim_goes_back_to_the_queue_and_a_touched_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(dir.path());
    let Ingested::New(o) = store
        .ingest_blocking("meituan", "MT-1", new_order("MT-1", &[("W550", 1)]))
        .unwrap()
    else {
        panic!()
    };
    store
        .apply_blocking(o.id, OrderEvent::Accept, "p1")
        .unwrap();
    store
        .apply_blocking(
            o.id,
            OrderEvent::Claim {
                picker: "p1".into(),
            },
            "p1",
        )
        .unwrap();
    let before_claim = Timestamp(Timestamp::now().0 - 60_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Touched after `before_claim`: not idle.
    assert!(
        store
            .read(|c| store::idle_claims(c, before_claim))
            .unwrap()
            .is_empty()
    );
    assert!(
        rt.block_on(store.release_idle(o.id, before_claim))
            .unwrap()
            .is_none()
    );
    // Untouched since a moment from now: idle, and released as such.
    let later = Timestamp(Timestamp::now().0 + 1);
    let idle = store.read(|c| store::idle_claims(c, later)).unwrap();
    assert_eq!(idle, vec![(o.id, o.day_seq, "p1".to_string())]);
    let released = rt
        .block_on(store.release_idle(o.id, later))
        .unwrap()
        .unwrap();
    assert_eq!(released.order.picker, None);
    let actor: String = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT actor FROM order_transition ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(actor, store::IDLE_RELEASE);
    drop(rt);
    store.close();
}

/// The daemon releases a claim nobody touches, with an alert naming the picker; the order is back
/// in the queue with its picked units.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_releases_an_idle_claim_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-1", &[("W550", 2)])]);
    let text = daemon_config(dir.path()).source.0 + "\n[picking]\nclaim_idle_secs = 1\n";
    let d = Daemon::start(Config::parse(&text, Path::new("t.toml")).unwrap())
        .await
        .unwrap();
    let id = ids[0].0;
    let mut p1 = client(&d, "p1").await;
    p1.request(Request::Subscribe {
        topics: vec![flashpick::api::Topic::Alerts],
    })
    .await
    .unwrap();
    p1.request(Request::AcceptOrder { order_id: id })
        .await
        .unwrap();
    p1.request(Request::ClaimOrder {
        order_id: id,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    assert_eq!(
        p1.request(Request::RecordScan {
            order_id: id,
            code: "6901234567892".into(),
            scanner: None,
        })
        .await
        .unwrap()["result"],
        "ok"
    );
    let told = crate::common::within(10, "the idle release", async {
        loop {
            if let flashpick::api::Event::Alert {
                message, order_id, ..
            } = p1.next_event().await.unwrap()
                && order_id == Some(id)
            {
                return message;
            }
        }
    })
    .await;
    assert!(
        told.contains("went back to the queue") && told.contains("p1"),
        "{told}"
    );
    let o = p1
        .request(Request::GetOrder { order_id: id })
        .await
        .unwrap();
    assert_eq!(o["order"]["state"], "accepted", "{o}");
    assert_eq!(
        o["order"]["lines"][0]["picked"], 1,
        "picked units stay picked"
    );
    d.shutdown().await;
}

/// A hello with a misspelt field is refused naming it: `actr` once made the actor `station`
/// without a word, and the ledger named nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_hello_is_refused_naming_the_field() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let s = tokio::net::UnixStream::connect(d.socket_path())
        .await
        .unwrap();
    let (r, mut w) = s.into_split();
    w.write_all(b"{\"hello\":{\"protocol\":1,\"client\":\"x\",\"actr\":\"p2\"}}\n")
        .await
        .unwrap();
    let mut lines = tokio::io::BufReader::new(r).lines();
    let reply = crate::common::within(5, "the refusal", lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert!(reply.contains("unknown field `actr`"), "{reply}");
    d.shutdown().await;
}

/// A dropped connection alone never releases a claim: an HQ config apply drops every screen and
/// serial scanners pick with no screen at all. The picker's screen goes away; once the daemon
/// has counted it gone, the order is still theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_leaves_the_claim_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-1", &[("W550", 2)])]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let id = ids[0].0;
    let mut p1 = client(&d, "p1").await;
    p1.request(Request::AcceptOrder { order_id: id })
        .await
        .unwrap();
    p1.request(Request::ClaimOrder {
        order_id: id,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    drop(p1);
    let mut other = client(&d, "p2").await;
    crate::common::within(10, "the dropped screen counted gone", async {
        loop {
            let s = other.request(Request::Status).await.unwrap();
            if s["clients"] == 1 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    let o = other
        .request(Request::GetOrder { order_id: id })
        .await
        .unwrap();
    assert_eq!(o["order"]["state"], "picking");
    assert_eq!(o["order"]["picker"], "p1");
    d.shutdown().await;
}
