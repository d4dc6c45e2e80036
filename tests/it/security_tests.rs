//! Secrets stay secret: a full run of the real daemon at `trace` level — orders polled from both
//! platforms with real signatures, stock levels pushed, the HQ link logged in with a password —
//! and its whole log is searched for every configured secret.

use crate::mqtt::Hq;
use crate::net::Broker;
use flashpick::model::Platform;
use flashpick::sim::{self, SimConfig};
use std::time::Duration;

const MT_SECRET: &str = "mt-SECRET-7f3a9c";
const JD_SECRET: &str = "jd-SECRET-91c2e4";
const JD_TOKEN: &str = "jd-TOKEN-55d0b8";
const HQ_PASSWORD: &str = "hq-PASSWORD-0b7e61";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = sim::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig {
            meituan_secret: MT_SECRET.into(),
            jd_secret: JD_SECRET.into(),
            jd_token: JD_TOKEN.into(),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let cfg = dir.path().join("store.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[store]
id = "SEC-1"
state_dir = "{d}"
[api]
socket = "{d}/fp.sock"
[http]
listen = "127.0.0.1:0"
[platforms.meituan]
enabled = true
base_url = "{mt}"
app_id = "sim-meituan"
secret = "{MT_SECRET}"
store_code = "SEC-1"
mode = "poll"
poll_interval_secs = 1
[platforms.jddj]
enabled = true
base_url = "{jd}"
app_id = "sim-jd"
secret = "{JD_SECRET}"
token = "{JD_TOKEN}"
store_code = "SEC-1"
mode = "poll"
poll_interval_secs = 1
[hq]
enabled = true
broker = "{broker}"
username = "store-SEC-1"
password = "{HQ_PASSWORD}"
"#,
            d = dir.path().display(),
            mt = sim.meituan_base(),
            jd = sim.jd_base(),
            broker = broker.url(),
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_flashpick"))
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("RUST_LOG", "trace")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    for p in [Platform::Meituan, Platform::Jddj] {
        sim.sim
            .new_order(p, &[("W550".into(), 1)], false)
            .await
            .unwrap();
    }
    // Both orders in (each confirmed with a signed call), and the store online at HQ.
    let db = dir.path().join("store.db");
    let run = async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            let confirmed = sim
                .sim
                .state
                .lock()
                .unwrap()
                .effects
                .iter()
                .filter(|e| e.action == "confirm")
                .count();
            let online = hq.last("SEC-1/status").is_some_and(|s| s["online"] == true);
            if confirmed == 2 && online {
                return;
            }
            tick.tick().await;
        }
    };
    let finished = tokio::time::timeout(Duration::from_secs(30), run).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    daemon.wait().unwrap();
    finished.expect("the orders confirmed and the store online at HQ");
    assert!(db.exists());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().count() > 50,
        "a trace-level run logs plenty ({} lines)",
        text.lines().count()
    );
    for secret in [MT_SECRET, JD_SECRET, JD_TOKEN, HQ_PASSWORD] {
        let hits: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(
            hits.is_empty(),
            "`{secret}` is in the log:\n{}",
            hits.join("\n")
        );
    }
    sim.stop().await;
}
