//! The database and its state dir against operator mistakes, through the real binary: a second
//! daemon on one state dir, the database deleted, replaced, unwritable, damaged or too new, and
//! the way back from a snapshot. Each refusal names the fix and exits with a code the unit does
//! not restart on.

use crate::cli_tests::{bin, fixture, stderr};
use crate::common::{daemon_config, http_get, seed_db, within};
use flashpick::api::client::Client;
use flashpick::api::{Event, Request, Topic};
use flashpick::daemon::{Daemon, DaemonError, StartOptions};
use flashpick::store::{StoreError, file};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

/// A store config in `dir` with its own socket name (two may share one state dir).
pub(crate) fn config(dir: &Path, state: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "[store]\nid = \"GD-1\"\nstate_dir = \"{s}\"\n[api]\nsocket = \"{d}/{name}.sock\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
            s = state.display(),
            d = dir.display()
        ),
    )
    .unwrap();
    path
}

/// `flashpick serve` with a notify socket of ours; returns once READY=1 arrived.
pub(crate) fn serve_ready(dir: &Path, cfg: &Path, name: &str) -> (Child, UnixDatagram) {
    let notify_path = dir.join(format!("{name}.notify"));
    let _ = std::fs::remove_file(&notify_path);
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // The log to a file: a pipe nobody reads would stall the daemon once full, and the file
    // says what happened when a test fails.
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let child = bin()
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1 within the deadline");
    assert!(buf[..n].starts_with(b"READY=1"));
    (child, notify)
}

/// `flashpick ARGS` with a deadline: a refusal must come at once, not after a hang.
fn run_within(secs: u64, args: &[&str]) -> Output {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("flashpick {args:?} did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn term(child: &Child) {
    let ok = std::process::Command::new("sh")
        .args(["-c", "kill -TERM \"$0\"", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A copy of a config under another socket and HTTP port — the mistake that ran two daemons on
/// one database and sent JD's accepts twice — is refused at once, naming the first one's pid;
/// so is an offline import through that copy. The first daemon carries on.
#[test]
fn a_second_daemon_on_one_state_dir_exits_at_once_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let first_cfg = config(dir.path(), dir.path(), "first");
    let second_cfg = config(dir.path(), dir.path(), "second");
    let (first, notify) = serve_ready(dir.path(), &first_cfg, "first");
    let pid = format!("pid {}", first.id());

    let o = run_within(10, &["--config", second_cfg.to_str().unwrap(), "serve"]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&pid) && stderr(&o).contains("state dir"),
        "{}",
        stderr(&o)
    );
    let good = fixture("catalog/good.csv");
    let o = run_within(
        10,
        &[
            "--config",
            second_cfg.to_str().unwrap(),
            "catalog",
            "import",
            good.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(stderr(&o).contains(&pid), "{}", stderr(&o));
    // The first one still answers.
    let o = run_within(
        10,
        &["--config", first_cfg.to_str().unwrap(), "status", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    term(&first);
    stops_cleanly_named(first, &notify, dir.path(), "first");
    // Its lock went with it.
    let (second, notify) = serve_ready(dir.path(), &second_cfg, "second");
    term(&second);
    stops_cleanly_named(second, &notify, dir.path(), "second");
}

/// After SIGTERM: STOPPING=1, exit 0 within 5 s, its socket gone; the daemon's log on failure.
fn stops_cleanly_named(mut child: Child, notify: &UnixDatagram, dir: &Path, name: &str) {
    let log = || std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
    let mut buf = [0u8; 512];
    let stopping = loop {
        let n = notify
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no STOPPING=1 from {name} ({e}); its log:\n{}", log()));
        if &buf[..n] != b"WATCHDOG=1" {
            break String::from_utf8_lossy(&buf[..n]).into_owned();
        }
    };
    assert_eq!(stopping, "STOPPING=1", "{}", log());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} did not exit within 5 s; its log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", log());
    let sock = dir.join(format!("{name}.sock"));
    assert!(!sock.exists(), "{} left behind", sock.display());
}

/// The database deleted under a running daemon: within seconds every write is refused (nothing
/// more is acknowledged into an unlinked file), every screen gets the alarm, `/healthz` fails,
/// `status` names it. Restarting then refuses to create an empty database in its place until
/// the operator says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_deleted_under_the_daemon_stops_writes_and_is_not_silently_recreated() {
    let dir = tempfile::tempdir().unwrap();
    seed_db(dir.path(), &[]);
    let cfg = daemon_config(dir.path());
    let d = Daemon::start(cfg.clone()).await.unwrap();
    let mut c = Client::connect(d.socket_path(), "test", Some("manager"))
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Alerts],
    })
    .await
    .unwrap();
    let receive = || Request::StockReceive {
        code: "W550".into(),
        qty: 1,
    };
    c.request(receive()).await.unwrap();
    let db = dir.path().join("store.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let alarm = within(10, "the alarm", async {
        loop {
            if let Event::Alert { level, message, .. } = c.next_event().await.unwrap()
                && level == "error"
            {
                return message;
            }
        }
    })
    .await;
    assert!(alarm.contains("was deleted"), "{alarm}");
    let e = c.request(receive()).await.unwrap_err().to_string();
    assert!(e.contains("writes are refused"), "{e}");
    let status = c.request(Request::Status).await.unwrap();
    assert!(
        status["alarms"][0].as_str().unwrap().contains("deleted"),
        "{status}"
    );
    let (code, body) = http_get(d.http_addr(), "/healthz").await;
    assert!(
        code.contains("503") && body.contains("deleted"),
        "{code} {body}"
    );
    // A screen that attaches later is told too.
    let mut late = Client::connect(d.socket_path(), "late", Some("p2"))
        .await
        .unwrap();
    late.request(Request::Subscribe {
        topics: vec![Topic::Alerts],
    })
    .await
    .unwrap();
    let told = within(5, "the standing alarm", late.next_event())
        .await
        .unwrap();
    assert!(
        matches!(&told, Event::Alert { message, .. } if message.contains("deleted")),
        "{told:?}"
    );
    // Doctor hears the alarm from the running daemon.
    let cfg_file = dir.path().join("t.toml");
    std::fs::write(&cfg_file, &cfg.source.0).unwrap();
    let o = tokio::task::spawn_blocking(move || {
        run_within(
            30,
            &["--config", cfg_file.to_str().unwrap(), "doctor", "--json"],
        )
    })
    .await
    .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let alarm = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "daemon alarms")
        .unwrap_or_else(|| panic!("no alarm finding in {findings}"))
        .clone();
    assert_eq!(alarm["level"], "fail", "{alarm}");
    assert!(
        alarm["detail"].as_str().unwrap().contains("deleted"),
        "{alarm}"
    );
    d.shutdown().await;

    let e = Daemon::start(cfg.clone()).await.err().expect("refused");
    assert!(
        matches!(&e, DaemonError::Store(StoreError::Missing { .. })),
        "{e}"
    );
    assert_eq!(e.exit_code(), 74);
    assert!(e.to_string().contains("--new-database"), "{e}");
    assert!(!db.exists(), "no empty database was made");
    let d = Daemon::start_with(
        cfg,
        StartOptions {
            new_database: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let items = d
        .store()
        .read(|c| flashpick::store::lookup_skus(c, "W550", 5))
        .unwrap();
    assert!(items.is_empty(), "a new, empty store");
    d.shutdown().await;
}

/// Another file moved over the database path is noticed like a deleted one.
#[test]
fn a_database_replaced_under_the_store_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::common::seeded_store(dir.path());
    assert_eq!(store.check_file(), Ok(()));
    let other = dir.path().join("other.db");
    std::fs::write(&other, b"").unwrap();
    std::fs::rename(&other, dir.path().join("store.db")).unwrap();
    let e = store.check_file().unwrap_err();
    assert!(e.contains("replaced"), "{e}");
    store.refuse_writes(&e);
    let e = store
        .import_catalog_blocking(crate::common::small_catalog())
        .unwrap_err()
        .to_string();
    assert!(e.contains("replaced") && e.contains("restart"), "{e}");
    store.close();
}

/// Damage found before READY exits 74 with the fix, printed once: a header that is not SQLite's,
/// a file cut short, a schema from a newer release. A damaged page deeper in is found by the
/// check after READY: the alarm, `/healthz` 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_is_refused_before_ready_or_alarmed_after() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), dir.path(), "fp");
    let db = dir.path().join("store.db");
    let serve = |cfg: PathBuf| {
        tokio::task::spawn_blocking(move || {
            run_within(15, &["--config", cfg.to_str().unwrap(), "serve"])
        })
    };
    // A big enough catalog for many pages, closed cleanly (no log left).
    std::thread::scope(|s| s.spawn(|| big_db(&db)).join().unwrap());
    let whole = std::fs::read(&db).unwrap();

    std::fs::write(
        &db,
        b"this is not a database at all, just text that was copied over",
    )
    .unwrap();
    let o = serve(cfg.clone()).await.unwrap();
    assert_eq!(o.status.code(), Some(74), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a SQLite database"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).matches("damaged").count(), 1, "{}", stderr(&o));

    std::fs::write(&db, &whole[..whole.len() / 2]).unwrap();
    let o = serve(cfg.clone()).await.unwrap();
    assert_eq!(o.status.code(), Some(74), "{}", stderr(&o));
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));
    assert!(stderr(&o).contains("flashpick restore"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("chown"),
        "not a permissions problem: {}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).matches("truncated").count(), 1, "{}", stderr(&o));

    std::fs::write(&db, &whole).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let o = serve(cfg.clone()).await.unwrap();
    assert_eq!(o.status.code(), Some(74), "{}", stderr(&o));
    assert!(stderr(&o).contains("newer"), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("schema version 99").count(),
        1,
        "{}",
        stderr(&o)
    );

    // Garbage over the root page of the stock ledger, which nothing reads at start.
    let mut damaged = whole.clone();
    let (root, page) = {
        std::fs::write(&db, &whole).unwrap();
        let c = rusqlite::Connection::open(&db).unwrap();
        let root: i64 = c
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'stock_move'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let page: i64 = c
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap();
        (root as usize, page as usize)
    };
    let at = (root - 1) * page;
    damaged[at..at + page].fill(0xA5);
    std::fs::write(&db, &damaged).unwrap();
    let d = Daemon::start(flashpick::config::Config::load(&cfg).unwrap())
        .await
        .expect("the header and a write are fine: READY");
    let mut c = Client::connect(d.socket_path(), "test", None)
        .await
        .unwrap();
    c.request(Request::Subscribe {
        topics: vec![Topic::Alerts],
    })
    .await
    .unwrap();
    let status = c.request(Request::Status).await.unwrap();
    if status["alarms"].as_array().is_none_or(|a| a.is_empty()) {
        within(20, "the damage alarm", async {
            loop {
                if let Event::Alert { level, .. } = c.next_event().await.unwrap()
                    && level == "error"
                {
                    return;
                }
            }
        })
        .await;
    }
    let (code, body) = http_get(d.http_addr(), "/healthz").await;
    assert!(
        code.contains("503") && body.contains("damaged"),
        "{code} {body}"
    );
    d.shutdown().await;
    // Found while running, it is noted: the next start refuses the file with exit 74 instead of
    // coming up READY on it (and being restarted by the watchdog in a loop), and doctor says so.
    let e = Daemon::start(flashpick::config::Config::load(&cfg).unwrap())
        .await
        .err()
        .expect("refused");
    assert_eq!(e.exit_code(), 74, "{e}");
    assert!(e.to_string().contains("quick_check found damage"), "{e}");
    let c = cfg.clone();
    let o = tokio::task::spawn_blocking(move || {
        run_within(30, &["--config", c.to_str().unwrap(), "doctor", "--json"])
    })
    .await
    .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let db_finding = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "database")
        .unwrap()
        .clone();
    assert_eq!(db_finding["level"], "fail", "{db_finding}");
    assert!(
        db_finding["fix"]
            .as_str()
            .unwrap()
            .contains("flashpick restore"),
        "{db_finding}"
    );
}

/// A store database with a few thousand items, closed cleanly.
fn big_db(db: &Path) {
    let store = flashpick::store::Store::open(db, crate::common::options()).unwrap();
    let rows = (0..3000)
        .map(|i| crate::common::row(i + 2, &format!("S{i:05}"), "商品", &format!("CODE{i}"), 5))
        .collect();
    store.import_catalog_blocking(rows).unwrap();
    store.close();
}

/// `sudo flashpick catalog import` before the first start used to leave a root-owned database
/// the service user could not write, and the daemon said READY anyway. Now the files go to the
/// state dir's owner; a database still owned by someone else stops the start with exit 77 and
/// the chown to run, and doctor names it. (Needs root to make a file another user cannot
/// write; without root, a read-only file stands in.)
#[test]
fn a_database_the_service_user_cannot_write_stops_the_start_with_exit_77() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = config(dir.path(), &state, "fp");
    let root = nix_uid() == 0;
    // Runs flashpick as the service user (nobody, when we are root).
    let as_service = |args: &[&str]| -> Output {
        let mut cmd = if root {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_flashpick"));
            c
        } else {
            std::process::Command::new(env!("CARGO_BIN_EXE_flashpick"))
        };
        cmd.args(args)
            .env("RUST_LOG", "warn")
            .env_remove("NOTIFY_SOCKET")
            .output()
            .unwrap()
    };
    let good = fixture("catalog/good.csv");
    let import = [
        "--config",
        cfg.to_str().unwrap(),
        "catalog",
        "import",
        good.to_str().unwrap(),
    ];
    let db = state.join("store.db");
    if root {
        std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
        // As root, like `sudo flashpick catalog import`: the files go to the state dir's owner.
        let o = run_within(30, &import);
        assert!(o.status.success(), "{}", stderr(&o));
        for f in [&db, &state.join("flashpick.lock"), &file::marker_path(&db)] {
            assert_eq!(
                std::fs::metadata(f).unwrap().uid(),
                65534,
                "{}",
                f.display()
            );
        }
        // A file still owned by root (made by hand, or by an older release).
        std::os::unix::fs::chown(&db, Some(0), Some(0)).unwrap();
    } else {
        let o = run_within(30, &import);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    let o = as_service(&["--config", cfg.to_str().unwrap(), "serve"]);
    assert_eq!(o.status.code(), Some(77), "{}", stderr(&o));
    assert!(stderr(&o).contains("chown"), "{}", stderr(&o));
    if root {
        let o = run_within(30, &["--config", cfg.to_str().unwrap(), "doctor", "--json"]);
        let findings: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let db_finding = findings
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "database")
            .unwrap();
        assert_eq!(db_finding["level"], "fail", "{db_finding}");
        assert!(
            db_finding["fix"].as_str().unwrap().contains("chown"),
            "{db_finding}"
        );
    }
}

fn nix_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just made is who we are (no libc call needed).
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::metadata(f.path()).unwrap().uid()
}

/// The way back: a snapshot taken while the daemon runs, the database lost, the start refused
/// naming `flashpick restore` (and doctor naming the newest snapshot), the snapshot put back
/// (refused while a daemon runs), and the store as it was.
#[test]
fn a_lost_database_comes_back_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), dir.path(), "fp");
    let c = cfg.to_str().unwrap();
    let (daemon, notify) = serve_ready(dir.path(), &cfg, "fp");
    let good = fixture("catalog/good.csv");
    let o = run_within(
        30,
        &["--config", c, "catalog", "import", good.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_within(30, &["--config", c, "backup"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let snapshot = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(
        Path::new(&snapshot).starts_with(dir.path().join("backups")),
        "{snapshot}"
    );
    let o = run_within(10, &["--config", c, "restore", &snapshot]);
    assert_eq!(
        o.status.code(),
        Some(75),
        "restore while the daemon runs: {}",
        stderr(&o)
    );
    let o = run_within(30, &["--config", c, "doctor", "--json"]);
    let findings: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lock = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "state dir lock")
        .unwrap()
        .clone();
    assert_eq!(lock["level"], "ok", "{lock}");
    assert!(
        lock["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("pid {}", daemon.id())),
        "{lock}"
    );
    term(&daemon);
    stops_cleanly_named(daemon, &notify, dir.path(), "fp");

    let db = dir.path().join("store.db");
    std::fs::remove_file(&db).unwrap();
    let o = run_within(10, &["--config", c, "serve"]);
    assert_eq!(o.status.code(), Some(74), "{}", stderr(&o));
    assert!(stderr(&o).contains("flashpick restore"), "{}", stderr(&o));
    let o = run_within(30, &["--config", c, "doctor", "--json"]);
    let findings: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let db_finding = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "database")
        .unwrap()
        .clone();
    assert_eq!(db_finding["level"], "fail", "{db_finding}");
    assert!(
        db_finding["fix"].as_str().unwrap().contains(&snapshot),
        "{db_finding}"
    );

    let o = run_within(30, &["--config", c, "restore", &snapshot]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (daemon, notify) = serve_ready(dir.path(), &cfg, "fp");
    let o = run_within(10, &["--config", c, "barcode", "6901234567892", "--json"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("W550"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    term(&daemon);
    stops_cleanly_named(daemon, &notify, dir.path(), "fp");
}

/// Reads after the database was deleted never make a new empty file at its path (a restart would
/// take it for the store), and a deleted write-ahead log (the latest commits) is noticed too.
#[test]
fn reads_never_recreate_a_deleted_database_and_a_lost_log_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::common::seeded_store(dir.path());
    let db = dir.path().join("store.db");
    std::fs::remove_file(format!("{}-wal", db.display())).unwrap();
    let e = store.check_file().unwrap_err();
    assert!(
        e.contains("write-ahead log") && e.contains("deleted"),
        "{e}"
    );
    for suffix in ["", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    // More readers at once than the pool holds: new connections are opened.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let _ = store.read(|c| {
                    Ok(c.query_row("SELECT count(*) FROM sku", [], |r| r.get::<_, i64>(0))?)
                });
            });
        }
    });
    store.close();
    assert!(!db.exists(), "a read made a new database at the path");
    let e = flashpick::store::Store::open(&db, crate::common::options())
        .err()
        .expect("refused");
    assert!(matches!(e, StoreError::Missing { .. }), "{e}");
}

/// `rm store.db*` takes the marker's neighbours, not the marker; and with the marker gone too,
/// snapshots still say a database was here.
#[test]
fn a_lost_database_is_noticed_even_with_its_marker_gone() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seeded_store(dir.path()).close();
    let db = dir.path().join("store.db");
    assert!(
        !file::marker_path(&db)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("store.db")
    );
    flashpick::store::backup::snapshot(&db, &dir.path().join("backups/flashpick-1.db")).unwrap();
    std::fs::remove_file(&db).unwrap();
    std::fs::remove_file(file::marker_path(&db)).unwrap();
    let e = flashpick::store::Store::open(&db, crate::common::options())
        .err()
        .expect("refused");
    assert!(matches!(e, StoreError::Missing { .. }), "{e}");
}

/// Snapshots: private, listed newest first, the oldest pruned past the number kept, and checked
/// before a restore (a damaged one is refused, the database in place untouched).
#[test]
fn snapshots_are_private_kept_to_their_number_and_checked_before_a_restore() {
    use flashpick::store::backup;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    crate::common::seeded_store(dir.path()).close();
    let db = dir.path().join("store.db");
    for day in 1..=9 {
        let out = backup::dir(dir.path()).join(backup::file_name(&format!("2026110{day}-030000")));
        backup::snapshot(&db, &out).unwrap();
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Their times, a day apart, as the nightly task would leave them.
        let t =
            std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + day * 86_400);
        std::fs::File::options()
            .write(true)
            .open(&out)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    assert_eq!(backup::prune(dir.path(), backup::KEEP), 2);
    let left = backup::list(dir.path());
    assert_eq!(left.len(), backup::KEEP);
    assert!(
        left[0].path.to_string_lossy().contains("20261109"),
        "{left:?}"
    );
    assert!(
        left.last()
            .unwrap()
            .path
            .to_string_lossy()
            .contains("20261103")
    );
    // A damaged snapshot is refused, and the database in place stays.
    let bad = dir.path().join("bad.db");
    std::fs::write(&bad, b"SQLite format 3\0 and then nothing").unwrap();
    let before = std::fs::read(&db).unwrap();
    let e = backup::restore(&db, &bad, "x").unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

/// The mistake behind finding 2 — a copy of the config on another socket ran a second daemon on
/// one database and JD received every accept twice — shown at the platform: the second daemon
/// exits at once, and each JD order is accepted there exactly once, before and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_on_one_state_dir_never_accept_a_jd_order_twice() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[]);
    let sim = crate::platform_tests::start_sim().await;
    let jd = format!(
        "[platforms.jddj]\nenabled = true\nbase_url = \"{}\"\napp_id = \"sim-jd\"\nsecret = \"sim-jd-secret\"\ntoken = \"sim-jd-token\"\nstore_code = \"GD-1\"\nmode = \"poll\"\npoll_interval_secs = 1\n",
        sim.jd_base()
    );
    let with_jd = |name: &str| {
        let path = config(dir.path(), dir.path(), name);
        let text = std::fs::read_to_string(&path).unwrap() + &jd;
        std::fs::write(&path, text).unwrap();
        path
    };
    let (first_cfg, second_cfg) = (with_jd("first"), with_jd("second"));
    let base = dir.path().to_path_buf();
    let cfg = first_cfg.clone();
    let (first, notify) = tokio::task::spawn_blocking(move || serve_ready(&base, &cfg, "first"))
        .await
        .unwrap();
    let confirmed = |order: String| {
        let sim = &sim;
        async move {
            sim.sim
                .wait_for(&format!("JD {order} accepted"), 20, |st| {
                    st.effects
                        .iter()
                        .any(|e| {
                            e.order.as_deref() == Some(order.as_str()) && e.action == "confirm"
                        })
                        .then_some(())
                })
                .await
        }
    };
    let one = sim
        .sim
        .new_order(
            flashpick::model::Platform::Jddj,
            &[("W550".into(), 1)],
            false,
        )
        .await
        .unwrap();
    confirmed(one.clone()).await;
    let cfg = second_cfg.clone();
    let o = tokio::task::spawn_blocking(move || {
        run_within(10, &["--config", cfg.to_str().unwrap(), "serve"])
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    let two = sim
        .sim
        .new_order(
            flashpick::model::Platform::Jddj,
            &[("W550".into(), 1)],
            false,
        )
        .await
        .unwrap();
    confirmed(two.clone()).await;
    term(&first);
    let base = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || stops_cleanly_named(first, &notify, &base, "first"))
        .await
        .unwrap();
    let st = sim.sim.snapshot();
    for order in [&one, &two] {
        let n = st["effects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["order"] == order.as_str() && e["action"] == "confirm")
            .count();
        assert_eq!(n, 1, "JD order {order} accepted {n} times");
    }
    sim.stop().await;
}
