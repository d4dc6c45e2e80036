//! Alerts that do not stop: a new order rings on every screen until someone claims it (or
//! accepts it, where the store accepts by hand), escalating as its acceptance deadline nears;
//! one screen may snooze it for itself. The bells counted with the clock injected, and the
//! daemon's notices through the real socket.

use crate::common::{daemon_config, seed_db, within};
use flashpick::api::client::Client;
use flashpick::api::{Event, Notice, NoticeKind, Request, Topic};
use flashpick::daemon::Daemon;
use flashpick::model::Timestamp;
use flashpick::tui::app::{App, Cmd, Msg};
use flashpick::tui::i18n::Lang;
use std::time::{Duration, Instant};

const T0: Timestamp = Timestamp(1_790_000_000_000);

fn new_order(key: &str, repeat: u32, escalate_in: Option<i64>) -> Notice {
    Notice {
        key: key.into(),
        kind: NoticeKind::NewOrder,
        level: "warning".into(),
        message: "order #23 (Meituan) waits".into(),
        order_id: Some(1),
        since: T0.0,
        due: escalate_in.map(|s| T0.0 + (s + 120) * 1000),
        repeat_secs: repeat,
        escalate_at: escalate_in.map(|s| T0.0 + s * 1000),
        request: None,
    }
}

/// Bells in the first 60 s after the notice, a tick a second; `claimed_at`: resolved then.
fn bells(notice: Notice, claimed_at: Option<u64>) -> usize {
    let start = Instant::now();
    let mut app = App::new(Lang::Zh, "p1", T0, start);
    let key = notice.key.clone();
    let mut rung = 0;
    let count = |out: Vec<Cmd>| out.iter().filter(|c| **c == Cmd::Bell).count();
    rung += count(app.update(Msg::Event(Box::new(Event::Notice {
        notice: Box::new(notice),
    }))));
    for s in 1..=60u64 {
        if claimed_at == Some(s) {
            app.update(Msg::Event(Box::new(Event::NoticeResolved {
                key: key.clone(),
                by: "p1".into(),
            })));
        }
        let wall = Timestamp(T0.0 + s as i64 * 1000);
        rung += count(app.update(Msg::Tick(start + Duration::from_secs(s), wall)));
    }
    rung
}

#[test]
fn a_new_order_rings_until_claimed_and_faster_as_its_acceptance_deadline_nears() {
    // Every 30 s until someone claims it (it rang once as it arrived, with the order itself).
    assert_eq!(bells(new_order("claim:1", 30, None), None), 2);
    // Claimed after 10 s: silent from then on.
    assert_eq!(bells(new_order("claim:1", 30, None), Some(10)), 0);
    // Waiting to be accepted, escalating 10 s in: every 5 s from then (10, 15, … 60).
    assert_eq!(bells(new_order("new:1", 30, Some(10)), None), 11);
    // Escalated, the line is red on this screen.
    let mut app = App::new(Lang::En, "p1", T0, Instant::now());
    app.update(Msg::Event(Box::new(Event::Notice {
        notice: Box::new(new_order("new:1", 30, Some(10))),
    })));
    assert!(!app.escalated(&app.notices[0].clone()));
    app.update(Msg::Tick(
        app.instant + Duration::from_secs(11),
        Timestamp(T0.0 + 11_000),
    ));
    assert!(app.escalated(&app.notices[0].clone()));
}

async fn next_notice_event(c: &mut Client) -> Event {
    within(10, "a notice event", async {
        loop {
            let e = c.next_event().await.unwrap();
            if matches!(e, Event::Notice { .. } | Event::NoticeResolved { .. }) {
                return e;
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_order_stands_until_accepted_then_until_claimed() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[("MT-1", &[("W550", 1)])]);
    let d = Daemon::start(daemon_config(dir.path())).await.unwrap();
    let mut c = Client::connect(d.socket_path(), "test", Some("p1"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Alerts],
    })
    .await
    .unwrap();
    // Waiting to be accepted: counts down to the acceptance deadline, escalating 2 min before.
    let Event::Notice { notice } = next_notice_event(&mut c).await else {
        panic!("a notice first")
    };
    assert_eq!(notice.key, "new:1");
    let (due, at) = (notice.due.unwrap(), notice.escalate_at.unwrap());
    assert_eq!(due - notice.since, 300_000);
    assert_eq!(due - at, 120_000);
    assert_eq!(notice.repeat_secs, 30);
    c.request(Request::AcceptOrder { order_id: 1 })
        .await
        .unwrap();
    // Accepted: that notice is resolved, and the order now waits for a picker.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match next_notice_event(&mut c).await {
            Event::NoticeResolved { key, .. } => seen.push(format!("resolved {key}")),
            Event::Notice { notice } => seen.push(format!("raised {}", notice.key)),
            _ => {}
        }
    }
    seen.sort();
    assert_eq!(seen, ["raised claim:1", "resolved new:1"]);
    c.request(Request::ClaimOrder {
        order_id: 1,
        picker: "p1".into(),
        take_over: false,
    })
    .await
    .unwrap();
    let Event::NoticeResolved { key, by } = next_notice_event(&mut c).await else {
        panic!("resolved by the claim")
    };
    assert_eq!((key.as_str(), by.as_str()), ("claim:1", "p1"));
    d.shutdown().await;
}
