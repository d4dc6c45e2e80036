//! The network fault campaign: the same shift as the crash campaign (orders from both platforms
//! and from HQ, a picker at work, stock sync, events to HQ), Meituan pushing its orders and JD
//! polled, with a fault proxy on each of the store's lines: its calls to the platforms, the
//! platform's pushes to it, and its link to the broker. Random faults hit any line —
//! added latency, black holes, refused connections, resets, clean and slow closes — and once
//! per run the store goes offline on both lines for a long outage while picking carries on.
//! Then every line comes back, and: every order is finished, every acknowledged scan is in the
//! store, the outbox drains, each platform saw every effect once and the store's last stock
//! level, HQ saw every event once and in order per order.
//!
//! `FLASHPICK_FAULTS` sets the number of faults (CI: 30; the long mode: 1000),
//! `FLASHPICK_FAULT_MAX_MS` the longest of each (CI: 3 s) and `FLASHPICK_OUTAGE_SECS` the
//! store-offline outage (CI: 10 s; with the campaign store's retry ceilings cut 120×, that is as
//! many reconnect attempts as 20 minutes make with the defaults).

use crate::hq_tests::{check_exactly_once, hq_rows};
use crate::mqtt::Hq;
use crate::net::{Broker, Cut, Proxy};
use crate::picker::{Feed, Picker, Rng, SKU, Scan};
use flashpick::api::client::Client;
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use flashpick::model::{Platform, SkuCode};
use flashpick::sim::{self, SimConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The store's lines.
const LINES: [&str; 3] = ["platforms", "pushes", "broker"];
/// The push URL registered with Meituan (pushes are signed over it; any host will do).
const PUSH_URL: &str = "http://store.example/meituan";

/// What was injected, by line and kind, and the store-offline outage.
#[derive(Default)]
struct Tally {
    faults: BTreeMap<(&'static str, &'static str), u32>,
    total: u32,
    faulted: Duration,
}

/// Waits `d` as part of a fault: not a synchronisation, the fault's own length.
async fn hold(d: Duration) {
    tokio::time::sleep_until(Instant::now() + d).await;
}

/// Injects one random fault on `proxy` and lifts it again.
async fn one_fault(rng: &mut Rng, proxy: &Proxy, max: Duration) -> &'static str {
    let max = max.as_millis() as u64;
    match rng.below(6) {
        0 => {
            proxy.set_latency(rng.ms(50, 1500));
            hold(rng.ms(200, max)).await;
            proxy.set_latency(Duration::ZERO);
            "latency"
        }
        1 => {
            proxy.stall();
            hold(rng.ms(100, max)).await;
            proxy.up();
            "black hole"
        }
        2 => {
            proxy.down();
            hold(rng.ms(100, max)).await;
            proxy.up();
            "refused"
        }
        3 => {
            proxy.cut(Cut::Reset);
            "reset"
        }
        4 => {
            proxy.cut(Cut::Close);
            "close"
        }
        _ => {
            proxy.cut(Cut::SlowClose(rng.ms(100, max)));
            "slow close"
        }
    }
}

/// A count from the store's database as it is now.
fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

const OPEN: &str = "SELECT count(*) FROM \"order\" WHERE state IN ('new', 'accepted', 'picking')";
const HANDED_OVER: &str = "SELECT count(*) FROM \"order\" WHERE state = 'handed_over'";
const PENDING: &str = "SELECT count(*) FROM outbox WHERE state = 'pending'";

/// Figures of the store-offline outage.
#[derive(Default, Debug)]
struct Offline {
    handed_over: i64,
    scans: i64,
    queued: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn network_fault_campaign() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let faults = env("FLASHPICK_FAULTS", 30) as u32;
    let outage = Duration::from_secs(env("FLASHPICK_OUTAGE_SECS", 10));
    let mut rng = Rng::from_env_or_clock();
    println!(
        "network fault campaign: {faults} faults, a {} s outage, seed {} (replay: FLASHPICK_SEED={1})",
        outage.as_secs(),
        rng.0
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join("store.db");
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let sim = sim::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig {
            meituan_push_url: Some(PUSH_URL.into()),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let to_sim = Arc::new(Proxy::start(sim.addr.port(), Duration::ZERO).await);
    let to_broker = Arc::new(Proxy::start(broker.port, Duration::ZERO).await);
    crate::picker::seed_catalog(&db);
    let text = crate::picker::store_config(
        dir,
        (&sim.meituan_base(), &sim.jd_base()),
        &to_broker.url(),
        "keep_alive_secs = 5\n",
    )
    .replace(&sim.addr.to_string(), &to_sim.addr())
    .replace(
        "max_retry_secs = 1\n",
        "max_retry_secs = 1\ntimeout_secs = 2\n",
    )
    // Meituan pushes (with a reconciliation round every 2 s for pushes lost on the way).
    .replacen(
        "mode = \"poll\"",
        &format!("mode = \"push\"\npush_url = \"{PUSH_URL}\"\nreconcile_secs = 2"),
        1,
    )
    .replace(
        "[platforms.meituan]",
        "[webhooks]\nlisten = \"127.0.0.1:0\"\n[platforms.meituan]",
    );
    let d = Daemon::start(Config::parse(&text, Path::new("faults.toml")).unwrap())
        .await
        .unwrap();
    let to_store = Arc::new(Proxy::start(d.webhook_addr().unwrap().port(), Duration::ZERO).await);
    sim.sim
        .set_push_to(Some(format!("http://{}", to_store.addr())));
    let mut feed = Feed::new(sim, hq);
    feed.after_life = true;
    feed.store_online().await;
    let mut picker = Picker::new(Scan::Api);
    let mut c = Client::connect(d.socket_path(), "campaign", Some("p1"))
        .await
        .unwrap();

    // The faults, in a task of their own while the picker works.
    // The outage's start and end, each seen by the picker's loop (a channel, not a watch: both
    // may come within one step).
    let (phase_tx, mut phase) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let injector = tokio::spawn({
        let (to_sim, to_store, to_broker, db) = (
            to_sim.clone(),
            to_store.clone(),
            to_broker.clone(),
            db.clone(),
        );
        let mut rng = Rng(rng.below(u64::MAX) | 1);
        let longest = Duration::from_millis(env("FLASHPICK_FAULT_MAX_MS", 3_000));
        async move {
            let mut tally = Tally::default();
            let proxies = [&to_sim, &to_store, &to_broker];
            // At least one round, so that the outage happens with no other fault too.
            for i in 0..faults.max(1) {
                if i == faults / 2 {
                    // The store offline: both lines gone while orders are being picked.
                    crate::common::within(60, "open orders to pick offline", async {
                        let mut tick = tokio::time::interval(Duration::from_millis(50));
                        while count(&db, OPEN) < 2 {
                            tick.tick().await;
                        }
                    })
                    .await;
                    let _ = phase_tx.send(true);
                    for p in proxies {
                        p.down();
                    }
                    hold(outage).await;
                    let _ = phase_tx.send(false);
                    for p in proxies {
                        p.up();
                    }
                }
                if i >= faults {
                    break;
                }
                hold(rng.ms(100, 1000)).await;
                let line = rng.below(LINES.len() as u64) as usize;
                let started = Instant::now();
                let kind = one_fault(&mut rng, proxies[line], longest).await;
                tally.faulted += started.elapsed();
                *tally.faults.entry((LINES[line], kind)).or_default() += 1;
                tally.total += 1;
            }
            tally
        }
    });

    // The picker works through all of it.
    let mut offline = Offline::default();
    let mut at_start = (0, 0, 0);
    let mut idle = tokio::time::interval(Duration::from_millis(100));
    let tally = loop {
        if injector.is_finished() {
            break injector.await.unwrap();
        }
        while let Ok(offline_now) = phase.try_recv() {
            let now = (
                count(&db, HANDED_OVER),
                picker.acked_total(),
                count(&db, PENDING),
            );
            if offline_now {
                at_start = now;
            } else {
                offline = Offline {
                    handed_over: now.0 - at_start.0,
                    scans: now.1 - at_start.1,
                    queued: now.2,
                };
            }
        }
        if !picker.step(&mut c, &mut feed).await.unwrap() {
            idle.tick().await;
        }
    };
    assert!(
        offline.scans > 0 && offline.queued > 0,
        "picking carries on offline and its reports wait: {offline:?}"
    );

    // Every line back: the shift ends, and nothing was lost or doubled.
    drop(c);
    crate::picker::finish_shift(d.socket_path(), &mut picker, &mut feed, &db, 120).await;
    crate::picker::outbox_drains(&db, 60).await;
    let total_hq = hq_rows(&db).len();
    feed.hq
        .until(60, "every event at HQ", |h| h.distinct().len() >= total_hq)
        .await;
    // The platforms' last stock level is the store's.
    let figures = |p: Platform| {
        d.store()
            .read(|c| flashpick::store::stock_figures(c, &SkuCode::new(SKU), p, 0))
            .unwrap()
            .publishable()
    };
    let want = (figures(Platform::Meituan), figures(Platform::Jddj));
    feed.sim
        .sim
        .wait_for("the store's stock level at both platforms", 30, |st| {
            let last = |k: &str| st.levels.get(k).and_then(|v| v.last().copied());
            (last(&format!("meituan:{SKU}")) == Some(want.0)
                && last(&format!("jddj:{SKU}")) == Some(want.1))
            .then_some(())
        })
        .await;
    d.shutdown().await;

    // Pushes the faults made fail: their orders were taken all the same (checked above).
    let (pushes, lost) = {
        let st = feed.sim.sim.state.lock().unwrap();
        (st.pushes.len(), st.pushes.iter().filter(|p| !p.3).count())
    };
    // The rest of the orders' lives reached the store too, despite the faults, and changed no
    // order's effects (checked once each below).
    let after: Vec<(&str, usize)> = [
        "logistics",
        "pushDeliveryStatus",
        "remind",
        "refund",
        "applyCancelOrder",
    ]
    .into_iter()
    .map(|m| (m, crate::picker::answered(&feed.sim, m)))
    .collect();
    for (m, n) in &after {
        assert!(*n > 0, "no {m} push reached the store: {after:?}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (riders, requests): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM \"order\" WHERE rider IS NOT NULL),
                    (SELECT count(*) FROM customer_request)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        riders > 0 && requests > 0,
        "riders {riders}, requests {requests}"
    );
    let acked = crate::picker::acked_scans_are_stored(&conn, &picker);
    let (handed, effects) = crate::picker::shift_ended_well(&conn, &feed);
    let rejected = crate::picker::decisions_went_once(&conn, &feed);
    check_exactly_once(&feed.hq, &hq_rows(&db));
    let kinds = tally
        .faults
        .iter()
        .map(|((line, kind), n)| format!("{line} {kind} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "network fault campaign done: {} faults injected ({kinds}), {:.1} s under fault; offline {} s: {} orders handed over, {} scans acknowledged, {} reports queued; {lost} of {pushes} pushes failed on the way (their orders taken by reconciliation); {} orders ({handed} handed over), {acked} acknowledged scans checked, {effects} platform effects checked once, {total_hq} HQ events checked once in order, stock levels {want:?} at both platforms; pushed and answered: {after:?}, {riders} orders with a rider, {requests} customer requests ({rejected} rejected by the manager, once each at the platforms)",
        tally.total,
        tally.faulted.as_secs_f64(),
        outage.as_secs(),
        offline.handed_over,
        offline.scans,
        offline.queued,
        feed.orders(),
    );
}
