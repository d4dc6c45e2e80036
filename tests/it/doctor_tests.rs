//! `flashpick doctor` against real parts: the platform simulator over HTTP with real signatures,
//! a real broker, scanners on pseudo-terminals, state directories on disk. Each failing check
//! must say what is wrong and print its fix.

use crate::net::Broker;
use flashpick::sim::{self, SimConfig};
use serde_json::Value;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_flashpick");

struct Setup<'a> {
    state_dir: &'a str,
    scanner: &'a str,
    broker: &'a str,
    mt_secret: &'a str,
}

async fn start_sim() -> sim::SimHandle {
    sim::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        SimConfig::default(),
    )
    .await
    .unwrap()
}

fn write_config(dir: &Path, sim: &sim::SimHandle, s: &Setup) -> std::path::PathBuf {
    let text = format!(
        r#"[store]
id = "DR-1"
state_dir = "{state}"
[api]
socket = "{d}/fp.sock"
[http]
listen = "127.0.0.1:0"
[platforms.meituan]
enabled = true
base_url = "{mt}"
app_id = "sim-meituan"
secret = "{mt_secret}"
store_code = "DR-1"
mode = "poll"
[platforms.jddj]
enabled = true
base_url = "{jd}"
app_id = "sim-jd"
secret = "sim-jd-secret"
token = "sim-jd-token"
store_code = "DR-1"
mode = "poll"
[hq]
enabled = true
broker = "{broker}"
[[scanners]]
name = "gun-1"
path = "{scanner}"
"#,
        state = s.state_dir,
        d = dir.display(),
        mt = sim.meituan_base(),
        jd = sim.jd_base(),
        mt_secret = s.mt_secret,
        broker = s.broker,
        scanner = s.scanner,
    );
    let path = dir.join("store.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `flashpick doctor --json`: (exit code, findings by check name).
pub async fn doctor(config: &Path) -> (i32, std::collections::HashMap<String, Value>) {
    let config = config.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "doctor", "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let by_name = findings
        .into_iter()
        .map(|f| (f["check"].as_str().unwrap().to_string(), f))
        .collect();
    (out.status.code().unwrap(), by_name)
}

pub fn assert_finding(
    f: &std::collections::HashMap<String, Value>,
    check: &str,
    level: &str,
    detail: &str,
    fix: &str,
) {
    let x = f
        .get(check)
        .unwrap_or_else(|| panic!("no `{check}` check in {f:?}"));
    assert_eq!(x["level"], level, "{check}: {x}");
    assert!(
        x["detail"].as_str().unwrap().contains(detail),
        "{check}: wanted `{detail}` in {x}"
    );
    if !fix.is_empty() {
        assert!(
            x["fix"].as_str().unwrap_or_default().contains(fix),
            "{check}: wanted fix `{fix}` in {x}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_store_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim().await;
    let broker = Broker::start();
    let gun = crate::scanner_tests::plug(&dir.path().join("gun-1"));
    crate::common::seed_db(dir.path(), &[]);
    let cfg = write_config(
        dir.path(),
        &sim,
        &Setup {
            state_dir: &dir.path().display().to_string(),
            scanner: &dir.path().join("gun-1").display().to_string(),
            broker: &broker.url(),
            mt_secret: "sim-meituan-secret",
        },
    );
    // Written under the usual umask, every user may read its secrets: said, with the fix.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (_, f) = doctor(&cfg).await;
        assert_finding(
            &f,
            "config file access",
            "warn",
            "every user may read it",
            "chmod 0640",
        );
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let (code, f) = doctor(&cfg).await;
    for (name, x) in &f {
        assert_eq!(x["level"], "ok", "{name}: {x}");
    }
    assert_eq!(code, 0);
    for check in [
        "config",
        "state dir",
        "database",
        "scanner gun-1",
        "HQ broker",
        "platform meituan",
        "platform jddj",
        "clock",
    ] {
        assert!(f.contains_key(check), "{check} missing: {f:?}");
    }
    assert_finding(&f, "database", "ok", "integrity ok", "");
    drop(gun);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_part_is_named_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim().await;
    // A state directory that cannot exist: its parent is a file.
    std::fs::write(dir.path().join("afile"), b"x").unwrap();
    let closed = crate::net::free_port();
    let cfg = write_config(
        dir.path(),
        &sim,
        &Setup {
            state_dir: &dir.path().join("afile/state").display().to_string(),
            scanner: "/dev/serial/by-id/usb-Honeywell_1900-if00-port0",
            broker: &format!("mqtt://127.0.0.1:{closed}"),
            mt_secret: "not-the-secret",
        },
    );
    let (code, f) = doctor(&cfg).await;
    assert_eq!(code, 1);
    assert_finding(&f, "state dir", "fail", "not a directory", "install -d");
    assert_finding(
        &f,
        "scanner gun-1",
        "fail",
        "does not exist",
        "ls -l /dev/serial/by-id/",
    );
    assert_finding(&f, "HQ broker", "fail", "127.0.0.1", "hq.broker");
    assert_finding(
        &f,
        "platform meituan",
        "fail",
        "refused",
        "check app_id, secret and store_code in [platforms.meituan]",
    );
    // The other platform's credentials are right: it passes, and the clock is compared.
    assert_finding(&f, "platform jddj", "ok", "signature accepted", "");
    assert_finding(&f, "clock", "ok", "against the platform's clock", "");
    sim.stop().await;
}

#[test]
fn a_bad_config_is_one_finding_and_exit_78() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("store.toml");
    std::fs::write(&cfg, "[store]\nid = \"bad id!\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✘ config"), "{text}");
    assert!(text.contains("fix: edit"), "{text}");
}

#[test]
fn http_dates_parse() {
    use flashpick::cli::doctor::parse_http_date;
    assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    assert_eq!(
        parse_http_date("Wed, 25 Nov 2026 17:30:00 GMT"),
        Some(1_795_627_800)
    );
    assert_eq!(parse_http_date("yesterday"), None);
}

/// A weighed item without its portion size (imported before the column existed) is named, with
/// the fix: the platforms are told 0 for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weighed_item_without_its_portion_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim().await;
    crate::common::seed_db(dir.path(), &[]);
    let db = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    db.execute(
        "INSERT INTO sku (sku, name, unit, location, walk_seq, updated_at) VALUES ('PORK', '猪肉', 'gram', 'G-01', 1, 0)",
        [],
    )
    .unwrap();
    let cfg = write_config(
        dir.path(),
        &sim,
        &Setup {
            state_dir: &dir.path().display().to_string(),
            scanner: "/dev/null",
            broker: &format!("mqtt://127.0.0.1:{}", crate::net::free_port()),
            mt_secret: "sim-meituan-secret",
        },
    );
    let (_, f) = doctor(&cfg).await;
    assert_finding(
        &f,
        "database",
        "warn",
        "1 weighed item(s) (first: PORK) have no sale_unit_g",
        "sale_unit_g column",
    );
    sim.stop().await;
}

/// A wrong HQ password is a refused login, said as such with the keys to fix (it once read as
/// "nothing accepts connections there"). The broker here answers every CONNECT as the MQTT 3.1.1
/// spec has a broker refuse a login: CONNACK with return code 4, bad user name or password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_hq_password_is_named_as_a_refused_login() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim().await;
    let refuser = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = refuser.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = refuser.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                if s.read(&mut buf)
                    .await
                    .is_ok_and(|n| n > 0 && buf[0] >> 4 == 1)
                {
                    let _ = s.write_all(&[0x20, 0x02, 0x00, 0x04]).await;
                }
            });
        }
    });
    crate::common::seed_db(dir.path(), &[]);
    let url = format!("mqtt://127.0.0.1:{port}");
    let cfg = write_config(
        dir.path(),
        &sim,
        &Setup {
            state_dir: &dir.path().display().to_string(),
            scanner: "/dev/null",
            broker: &url,
            mt_secret: "sim-meituan-secret",
        },
    );
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("broker = \"{url}\"\n"),
        &format!("broker = \"{url}\"\nusername = \"store\"\npassword = \"wrong\"\n"),
    );
    std::fs::write(&cfg, text).unwrap();
    let (_, f) = doctor(&cfg).await;
    assert_finding(&f, "HQ broker", "fail", "", "hq.username and hq.password");
    sim.stop().await;
}

/// The daemon says a refused HQ login as such in its log, as an error (it once logged it only
/// at debug level, so nobody saw why the store never reached HQ).
#[test]
fn the_daemon_logs_a_refused_hq_login_as_an_error() {
    use std::io::{BufRead, Read, Write};
    let refuser = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = refuser.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in refuser.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 512];
            if s.read(&mut buf).is_ok_and(|n| n > 0 && buf[0] >> 4 == 1) {
                let _ = s.write_all(&[0x20, 0x02, 0x00, 0x04]);
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("store.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nid = \"LG-1\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n[http]\nlisten = \"127.0.0.1:0\"\n[hq]\nenabled = true\nbroker = \"mqtt://127.0.0.1:{port}\"\nusername = \"store\"\npassword = \"wrong\"\nreconnect_min_ms = 50\nreconnect_max_ms = 200\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("RUST_LOG", "warn")
        .env_remove("NOTIFY_SOCKET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let line = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).expect("the refused login in the log");
        if line.contains("refused the login") {
            break line;
        }
    };
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("hq.username and hq.password"), "{line}");
    let _ = child.kill();
    let _ = child.wait();
}

/// The state dir's lock held by a process that does not answer on the socket (a stuck command,
/// a second daemon on another socket) fails with the pid to look at; stock figures that are not
/// whole numbers (written by a release before the stock triggers) are named with their fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_a_silent_process_and_broken_figures_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim().await;
    crate::common::seed_db(dir.path(), &[]);
    let db = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    db.execute_batch(
        "DROP TRIGGER stock_whole_update; UPDATE stock SET on_hand = 2.5 WHERE sku = 'W550';",
    )
    .unwrap();
    drop(db);
    let cfg = write_config(
        dir.path(),
        &sim,
        &Setup {
            state_dir: &dir.path().display().to_string(),
            scanner: "/dev/null",
            broker: &format!("mqtt://127.0.0.1:{}", crate::net::free_port()),
            mt_secret: "sim-meituan-secret",
        },
    );
    // This test process holds the lock, as a stuck `catalog import` would, and answers nothing.
    let held = flashpick::store::lock::StateLock::acquire(dir.path(), "a stuck import").unwrap();
    let (code, f) = doctor(&cfg).await;
    assert_ne!(code, 0);
    assert_finding(
        &f,
        "state dir lock",
        "fail",
        &format!("{}", std::process::id()),
        "stop that process",
    );
    assert_finding(&f, "database", "fail", "W550", "count those shelves");
    drop(held);
    sim.stop().await;
}
