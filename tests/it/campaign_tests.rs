//! The crash campaign: a scripted shift — orders from the simulator (Meituan and JD, polled) and
//! from HQ (relayed over a real broker), a picker scanning through a pseudo-terminal, stock
//! sync, events to HQ, signed config pushes from HQ — while the real daemon binary is killed
//! with SIGKILL at random moments. Then: every scan acknowledged to a subscriber is in the
//! store, the ledger invariants hold, the outbox drains, the simulator saw every effect once and
//! HQ every event once (in order per order), every order can still be finished, and the last
//! config pushed is the one in force.
//!
//! `FLASHPICK_CAMPAIGN_KILLS` sets the number of kills (CI: 50; the long mode: 1000).

use crate::hq_tests::{check_exactly_once, hq_rows};
use crate::mqtt::Hq;
use crate::net::Broker;
use crate::picker::{Feed, Picker, Rng, STORE, Scan};
use flashpick::hq::signed;
use flashpick::hq::wire::{ConfigDoc, ConfigResult, ConfigStatus};
use flashpick::sim::{self, SimConfig, SimHandle};
use rumqttc::QoS;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_flashpick");

/// The campaign store: both platforms polled, and a push receiver on a fixed port (every start
/// binds it again) for what the platforms push around the orders: riders, reminders, refund
/// requests (and Meituan's new orders, taken once whichever way they come).
fn config(dir: &Path, sim: &SimHandle, broker: &str, gun: &Path, key: &str, web: u16) -> String {
    crate::picker::store_config(
        dir,
        (&sim.meituan_base(), &sim.jd_base()),
        broker,
        &format!("trusted_keys = [\"{key}\"]\n"),
    )
    .replacen(
        "mode = \"poll\"",
        &format!("mode = \"poll\"\npush_url = \"http://127.0.0.1:{web}/meituan\""),
        1,
    )
    .replace(
        "[platforms.meituan]",
        &format!("[webhooks]\nlisten = \"127.0.0.1:{web}\"\n[platforms.meituan]"),
    ) + &format!(
        "[[scanners]]\nname = \"gun-1\"\npath = \"{}\"\npicker = \"p1\"\n",
        gun.display()
    )
}

struct Shift {
    dir: PathBuf,
    cfg: PathBuf,
    feed: Feed,
    picker: Picker,
    notify: UnixDatagram,
    notify_path: PathBuf,
}

impl Shift {
    /// Starts the daemon binary and waits for READY=1.
    fn start(&mut self) -> Running {
        // Held by `Running` at once, so a panic below still kills it.
        let running = Running(
            std::process::Command::new(BIN)
                .args(["--config", self.cfg.to_str().unwrap(), "serve"])
                .env("NOTIFY_SOCKET", &self.notify_path)
                .env("RUST_LOG", "error")
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut buf = [0u8; 512];
        loop {
            let n = self
                .notify
                .recv(&mut buf)
                .expect("the daemon says READY in time");
            if buf[..n].starts_with(b"READY=1") {
                return running;
            }
        }
    }

    /// Works until the connection breaks (the daemon was killed, or restarted for a new config)
    /// or `budget` runs out.
    async fn work(&mut self, budget: Duration) {
        let Ok(mut c) = crate::picker::connect_picker(&self.dir.join("fp.sock")).await else {
            return;
        };
        let _ = tokio::time::timeout(budget, async {
            let mut idle = tokio::time::interval(Duration::from_millis(100));
            loop {
                match self.picker.step(&mut c, &mut self.feed).await {
                    Ok(true) => {}
                    // Waiting for orders to arrive from the platforms and HQ.
                    Ok(false) => {
                        idle.tick().await;
                    }
                    Err(_) => return,
                }
            }
        })
        .await;
    }
}

/// HQ's config pushes during the shift: each a new version, signed, retained on the broker.
struct Pushes {
    key: String,
    version: i64,
}

impl Pushes {
    async fn push(&mut self, hq: &Hq) {
        self.version += 1;
        // Harmless to the shift, and different every time: the at-risk threshold.
        let toml = format!("[sla]\nat_risk_secs = {}\n", 300 + self.version);
        let doc = ConfigDoc {
            minisig: signed::sign(&toml, &self.key, STORE, self.version).unwrap(),
            config: toml,
        };
        hq.client
            .publish(
                format!("flashpick/v1/{STORE}/config"),
                QoS::AtLeastOnce,
                true,
                serde_json::to_vec(&doc).unwrap(),
            )
            .await
            .unwrap();
    }
}

/// The daemon process; killed however the test ends.
struct Running(std::process::Child);

impl Running {
    fn kill(&mut self) {
        self.0.kill().unwrap(); // SIGKILL
        self.0.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The ledger invariants, read from the database file as it is after a kill.
fn invariants_hold(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let inv = flashpick::store::check_invariants(&conn).unwrap();
    assert!(inv.hold(), "{inv:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_campaign() {
    let kills: u64 = std::env::var("FLASHPICK_CAMPAIGN_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mut rng = Rng::from_env_or_clock();
    println!(
        "crash campaign: {kills} kills, seed {0} (replay: FLASHPICK_SEED={0})",
        rng.0
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let db = dir.join("store.db");
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let sim = sim::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig::default(),
    )
    .await
    .unwrap();
    crate::picker::seed_catalog(&db);
    let gun = crate::scanner_tests::plug(&dir.join("gun-1"));
    let (public, key) = signed::keygen().unwrap();
    let public = public.lines().nth(1).unwrap().to_string();
    let cfg = dir.join("store.toml");
    let web = crate::net::free_port();
    std::fs::write(
        &cfg,
        config(&dir, &sim, &broker.url(), &dir.join("gun-1"), &public, web),
    )
    .unwrap();
    sim.sim.set_push_to(Some(format!("http://127.0.0.1:{web}")));
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut shift = Shift {
        dir: dir.clone(),
        cfg,
        feed: Feed::new(sim, hq),
        picker: Picker::new(Scan::Gun(gun)),
        notify,
        notify_path,
    };
    shift.feed.after_life = true;
    let mut pushes = Pushes { key, version: 0 };
    for i in 0..kills {
        let mut child = shift.start();
        if i == 0 {
            shift.feed.store_online().await;
        }
        // One start in five, HQ pushes a new config: applied while the picker works, or killed
        // anywhere in between.
        if rng.below(5) == 0 {
            pushes.push(&shift.feed.hq).await;
        }
        // Killed at a random moment of its work: between 0 and 600 ms after READY.
        let budget = Duration::from_millis(rng.below(600));
        shift.work(budget).await;
        child.kill();
        invariants_hold(&db);
    }
    // The end of the shift: one more start, every open order finished.
    let mut child = shift.start();
    shift.feed.closing = true;
    crate::picker::finish_shift(
        &dir.join("fp.sock"),
        &mut shift.picker,
        &mut shift.feed,
        &db,
        120,
    )
    .await;
    crate::picker::outbox_drains(&db, 60).await;
    let total_hq = hq_rows(&db).len();
    shift
        .feed
        .hq
        .until(60, "every event at HQ", |h| h.distinct().len() >= total_hq)
        .await;
    // The last config pushed is the one in force, and none was refused but as outdated (a copy
    // redelivered after a kill).
    let last = pushes.version;
    shift
        .feed
        .hq
        .until(60, &format!("config version {last} in force"), |h| {
            h.last(&format!("{STORE}/status")).is_some_and(|s| {
                s["detail"]["config_version"].as_i64() == (last > 0).then_some(last)
            })
        })
        .await;
    let mut applied = std::collections::BTreeSet::new();
    for (topic, payload) in shift.feed.hq.other.lock().unwrap().iter() {
        if topic.ends_with("/config/status") {
            let st: ConfigStatus = serde_json::from_slice(payload).unwrap();
            if st.result == ConfigResult::Applied {
                applied.extend(st.version);
            } else {
                assert!(
                    st.reason
                        .as_deref()
                        .is_some_and(|r| r.contains("not newer")),
                    "{st:?}"
                );
            }
        }
    }
    child.kill();

    let conn = rusqlite::Connection::open(&db).unwrap();
    // The rest of the orders' lives reached the store between the kills, and changed no order's
    // effects (each checked once below).
    let after: Vec<(&str, usize)> = [
        "logistics",
        "pushDeliveryStatus",
        "remind",
        "refund",
        "applyCancelOrder",
    ]
    .into_iter()
    .map(|m| (m, crate::picker::answered(&shift.feed.sim, m)))
    .collect();
    for (m, n) in &after {
        assert!(*n > 0, "no {m} push reached the store: {after:?}");
    }
    let acked = crate::picker::acked_scans_are_stored(&conn, &shift.picker);
    let (handed, effects) = crate::picker::shift_ended_well(&conn, &shift.feed);
    let rejected = crate::picker::decisions_went_once(&conn, &shift.feed);
    // HQ saw every event once in effect, in order per order.
    check_exactly_once(&shift.feed.hq, &hq_rows(&db));
    println!(
        "crash campaign done: {kills} kills, {} orders ({handed} handed over), {} scans sent, {acked} acknowledged scans checked, {effects} platform effects checked, {total_hq} HQ events checked, {last} config pushes ({} reported applied, the last in force); pushed and answered between the kills: {after:?}, {rejected} customer requests rejected by the manager (once each at the platforms)",
        shift.feed.orders(),
        shift.picker.scans_sent,
        applied.len(),
    );
}
