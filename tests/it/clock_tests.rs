//! The store and the daemon tell time by their clock: moved by hand, the order clocks on the
//! screens and every row written follow it, with nothing waited for.

use crate::common::{daemon_config, seed_db};
use flashpick::api::client::Client;
use flashpick::api::{Request, Response};
use flashpick::daemon::{Daemon, StartOptions};
use flashpick::model::{Clock, SlaState, Timestamp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_and_the_daemon_tell_time_by_their_clock() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seed_db(dir.path(), &[("MT-CLK", &[("W550", 1)])]);
    let start = Timestamp::now();
    let clock = Clock::manual(start);
    let d = Daemon::start_with(
        daemon_config(dir.path()),
        StartOptions {
            clock: clock.clone(),
            ..StartOptions::default()
        },
    )
    .await
    .unwrap();
    let mut c = Client::connect(d.socket_path(), "clock", Some("p1"))
        .await
        .unwrap();
    let order_id = ids[0].0;
    let order = async |c: &mut Client| match c.call(Request::GetOrder { order_id }).await {
        Ok(Response::Order(o)) => o.order,
        other => panic!("{other:?}"),
    };
    let before = order(&mut c).await;
    assert_eq!(before.sla, SlaState::OnTime);
    // An hour later by the clock, and not a moment waited.
    assert!(clock.advance(3600));
    let after = order(&mut c).await;
    assert_eq!(after.sla, SlaState::Late);
    assert_eq!(after.seconds_left, before.seconds_left - 3600);
    // What is written is stamped by it: the accept's transition, a receipt's ledger row.
    c.call(Request::AcceptOrder { order_id }).await.unwrap();
    c.call(Request::StockReceive {
        code: "W550".into(),
        qty: 1,
    })
    .await
    .unwrap();
    let (moved_at, accepted_at): (i64, i64) = d
        .store()
        .read(|c| {
            Ok((
                c.query_row("SELECT max(at) FROM stock_move", [], |r| r.get(0))?,
                c.query_row(
                    "SELECT at FROM order_transition WHERE to_state = 'accepted'",
                    [],
                    |r| r.get(0),
                )?,
            ))
        })
        .unwrap();
    assert_eq!(
        (moved_at, accepted_at),
        (start.0 + 3_600_000, start.0 + 3_600_000)
    );
    let Response::Status(s) = c.call(Request::Status).await.unwrap() else {
        panic!()
    };
    assert_eq!(s.uptime_secs, 3600);
    d.shutdown().await;
}
