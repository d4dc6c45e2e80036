//! Secrets stay secret: a full run of the real daemon at `trace` level — orders polled from both
//! platforms with real signatures, stock levels pushed, the HQ link logged in with a password —
//! and its whole log is searched for every configured secret. And encryption cannot be turned
//! off by accident.

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

/// Encryption is not turned off by a typo: plain `http://` to a platform or `mqtt://` to a
/// broker on another machine is refused by `config check` with the key and the fix; the
/// explicit local switch lets it through with a warning; HQ can never send that switch; on this
/// machine (the simulator, a local broker) plain text is fine.
#[test]
fn plain_text_to_another_machine_needs_an_explicit_local_switch() {
    let dir = tempfile::tempdir().unwrap();
    let check = |body: &str| {
        let path = dir.path().join("store.toml");
        std::fs::write(&path, format!("[store]\nid = \"P-1\"\n{body}")).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_flashpick"))
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let meituan = |url: &str, extra: &str| {
        format!(
            "[platforms.meituan]\nenabled = true\nbase_url = \"{url}\"\napp_id = \"1\"\nsecret = \"s\"\nstore_code = \"1\"\nmode = \"poll\"\n{extra}"
        )
    };
    let hq = |url: &str, extra: &str| format!("[hq]\nenabled = true\nbroker = \"{url}\"\n{extra}");

    let (rc, err) = check(&meituan("http://waimaiopen.meituan.com/api/v1", ""));
    assert_eq!(rc, Some(78), "{err}");
    assert!(
        err.contains("platforms.meituan.base_url") && err.contains("use https://"),
        "{err}"
    );
    let (rc, err) = check(&hq("mqtt://mqtt.hq.example.com:1883", ""));
    assert_eq!(rc, Some(78), "{err}");
    assert!(
        err.contains("hq.broker") && err.contains("use mqtts://"),
        "{err}"
    );
    // Addresses that only look local are not: the host is the one the client will connect to.
    let (rc, err) = check(&hq("mqtt://127.0.0.1.example.com", ""));
    assert_eq!(rc, Some(78), "{err}");
    for url in [
        "http://evil.example\\\\@127.0.0.1/api/v1",
        "http://127.0.0.1@evil.example/api/v1",
        "http://127.0.0.1.example.com/api/v1",
    ] {
        let (rc, err) = check(&meituan(url, ""));
        assert_eq!(rc, Some(78), "{url}: {err}");
    }

    // Said out loud in the local file: allowed, and warned about.
    let (rc, err) = check(&meituan(
        "http://10.0.0.5:8080/api/v1",
        "allow_plaintext = true\n",
    ));
    assert_eq!(rc, Some(0), "{err}");
    assert!(
        err.contains("UNENCRYPTED") && err.contains("10.0.0.5"),
        "{err}"
    );
    let (rc, err) = check(&hq("mqtt://10.0.0.6", "allow_plaintext = true\n"));
    assert_eq!(rc, Some(0), "{err}");
    assert!(err.contains("UNENCRYPTED") && err.contains("hq"), "{err}");

    // This machine: no switch needed, no warning.
    for body in [
        meituan("http://127.0.0.1:9478/api/v1", ""),
        meituan("http://[::1]:9478/api/v1", ""),
        meituan("http://user@localhost:9478/api/v1", ""),
        hq("mqtt://localhost:1883", ""),
    ] {
        let (rc, err) = check(&body);
        assert_eq!((rc, err.contains("UNENCRYPTED")), (Some(0), false), "{err}");
    }

    // HQ's own tool: a config (it may carry platform secrets) is not pushed in clear to another
    // machine unless asked to.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flashpick"))
        .args(["hq", "push", "sla.toml", "--broker", "mqtt://10.0.0.7:1883"])
        .args(["--store", "P-1", "--wait", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("--allow-plaintext"), "{err}");

    // HQ may not send the switch, at any level.
    let local = "[store]\nid = \"P-1\"\n";
    for remote in [
        "[hq]\nallow_plaintext = true\n",
        "[platforms.jddj]\nallow_plaintext = true\n",
        "[platforms.meituan]\nallow_plaintext = true\nbase_url = \"http://10.0.0.5/api/v1\"\n",
    ] {
        let e = flashpick::hq::applied::overlay(local, remote).unwrap_err();
        assert!(
            e.contains("allow_plaintext` may only be set in the store's local file"),
            "{e}"
        );
    }
}
