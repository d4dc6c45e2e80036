//! The real `flashpick` binary: config checks, catalog import, client commands, the daemon's
//! lifecycle under systemd-style readiness and SIGTERM.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub(crate) fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flashpick"));
    c.env_remove("FLASHPICK_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .env("RUST_LOG", "warn");
    c
}

pub(crate) fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run flashpick")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("store.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nid = \"CLI-1\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\n[platforms.meituan]\nenabled = true\napp_id = \"mt-app\"\nsecret = \"mt-secret\"\nstore_code = \"S1\"\nmode = \"poll\"\nbase_url = \"http://127.0.0.1:9/api/v1\"\n",
            d = dir.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_shipped_example_config_passes_the_check() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("store-config.example.toml");
    let o = run(&["config", "check", example.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Every key the config knows is in the example, set or commented out. The keys come from the
/// parser itself: a probe key put into each table is refused with the list of the table's keys.
#[test]
fn the_example_config_shows_every_key() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("store-config.example.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let is_header = |l: &str| l.starts_with('[');
    // (header line index or none for the top level, its table's text)
    let mut tables: Vec<(Option<usize>, String)> = vec![(None, String::new())];
    for (i, l) in lines.iter().enumerate() {
        if is_header(l) {
            let body: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| !is_header(l))
                .copied()
                .collect();
            tables.push((Some(i), body.join("\n")));
        }
    }
    let all_tables = tables.clone();
    let same_tables = |header: &str| -> String {
        all_tables
            .iter()
            .filter(|(i, _)| i.is_some_and(|i| lines[i] == header))
            .map(|(_, body)| body.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (mut checked, mut missing) = (0, Vec::new());
    for (at, body) in tables {
        let mut probed: Vec<&str> = lines.clone();
        let insert = at.map_or(0, |i| i + 1);
        probed.insert(insert, "zz_probe = 1");
        let err = flashpick::config::Config::parse(&probed.join("\n"), &example)
            .err()
            .unwrap_or_else(|| panic!("a probe key after line {insert} was accepted"))
            .to_string();
        let expected = err
            .split_once("expected")
            .unwrap_or_else(|| panic!("no list of keys in: {err}"))
            .1;
        let keys: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        assert!(!keys.is_empty(), "{err}");
        let table = at.map_or("the top level".to_string(), |i| lines[i].to_string());
        for key in keys {
            let shown = match at {
                // Top-level keys are tables: their headers (perhaps commented out) show them.
                None => text.lines().any(|l| {
                    let l = l.trim_start_matches(['#', ' ']);
                    l.starts_with(&format!("[{key}]"))
                        || l.starts_with(&format!("[{key}."))
                        || l.starts_with(&format!("[[{key}]]"))
                }),
                Some(_) => {
                    body.lines().any(|l| {
                        let l = l.trim_start_matches(['#', ' ']);
                        l.starts_with(&format!("{key} =")) || l.starts_with(&format!("{key}="))
                    }) || same_tables(lines[at.unwrap()]).lines().any(|l| {
                        // An array of tables shows a key in any of its entries.
                        let l = l.trim_start_matches(['#', ' ']);
                        l.starts_with(&format!("{key} ="))
                    }) || {
                        // A table of tables shows its key in a header of its own.
                        let table = lines[at.unwrap()].trim_matches(['[', ']']);
                        text.contains(&format!("{table}.{key}]"))
                            || text.contains(&format!("[{table}.{key}."))
                    }
                }
            };
            if !shown {
                missing.push(format!("`{key}` of {table}"));
            }
            checked += 1;
        }
    }
    assert!(
        missing.is_empty(),
        "missing from the example config: {missing:?}"
    );
    assert!(checked > 60, "only {checked} keys checked");
}

#[test]
fn bad_configs_exit_78_naming_the_key_and_the_reason() {
    let cases = [
        ("unknown_key.toml", "`sla.pick_time`", "unknown field"),
        (
            "bad_type.toml",
            "`platforms.meituan.enabled`",
            "invalid type",
        ),
        (
            "bad_value.toml",
            "`sla.at_risk_secs`",
            "greater than sla.late_secs",
        ),
        ("bad_store_id.toml", "`store.id`", "not a store id"),
        ("missing_store.toml", "store", "missing field"),
        (
            "platform_without_secret.toml",
            "`platforms.jddj.secret`",
            "required",
        ),
    ];
    for (file, key, why) in cases {
        let path = fixture(&format!("config/{file}"));
        let o = run(&["config", "check", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(78), "{file}: {err}");
        assert!(err.contains(key) && err.contains(why), "{file}: {err}");
        assert!(
            err.contains(file),
            "{file}: the message names the file: {err}"
        );
    }
    // `serve` refuses a bad config the same way, so systemd does not restart it in a loop.
    let path = fixture("config/bad_value.toml");
    let o = run(&["--config", path.to_str().unwrap(), "serve"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    let unknown_line = run(&[
        "config",
        "check",
        fixture("config/unknown_key.toml").to_str().unwrap(),
    ]);
    assert!(
        stderr(&unknown_line).contains("unknown_key.toml:6:"),
        "{}",
        stderr(&unknown_line)
    );
}

#[test]
fn catalog_import_names_the_bad_line_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let bad = fixture("catalog/bad_row.csv");
    let o = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "catalog",
        "import",
        bad.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(65), "{err}");
    assert!(
        err.contains("line 4") && err.contains("on_hand `lots`"),
        "{err}"
    );
    assert!(!dir.path().join("store.db").exists(), "nothing was written");

    let good = fixture("catalog/good.csv");
    for _ in 0..2 {
        let o = run(&[
            "--config",
            cfg.to_str().unwrap(),
            "catalog",
            "import",
            good.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("imported 3 items"));
    }
    let conn = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    let (skus, codes, moves): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM sku), (SELECT COUNT(*) FROM barcode), (SELECT COUNT(*) FROM stock_move)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (skus, codes, moves),
        (3, 3, 3),
        "the second import updated in place"
    );
    let name: String = conn
        .query_row("SELECT name FROM sku WHERE sku = 'BREAD'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "桃李面包, 全麦");
}

#[test]
fn orders_and_status_without_a_daemon_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    for cmd in [&["orders"][..], &["status", "--json"][..]] {
        let mut args = vec!["--config", cfg.to_str().unwrap()];
        args.extend_from_slice(cmd);
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(69), "{cmd:?}: {err}");
        assert!(
            err.contains("not running") && err.contains("fp.sock"),
            "{err}"
        );
        assert!(
            err.contains("flashpick serve"),
            "tells how to start it: {err}"
        );
    }
}

/// `flashpick serve` on the config `cfg` with a notify socket of ours in `dir` (systemd's part),
/// and `env` besides.
pub(crate) fn spawn_serve(
    dir: &Path,
    cfg: &Path,
    env: &[(&str, &str)],
) -> (std::process::Child, UnixDatagram) {
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let child = bin()
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("NOTIFY_SOCKET", &notify_path)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child, notify)
}

#[test]
fn serve_notifies_ready_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let (child, notify) = spawn_serve(dir.path(), &cfg, &[("WATCHDOG_USEC", "400000")]);
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1 within the deadline");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.starts_with("READY=1"), "{msg}");
    // systemd asked for a watchdog every 0.4 s: the daemon pings at half that while its store answers.
    let n = notify.recv(&mut buf).expect("a watchdog ping");
    assert_eq!(&buf[..n], b"WATCHDOG=1");

    let o = run(&["--config", cfg.to_str().unwrap(), "status", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status["store_id"], "CLI-1");
    let o = run(&["--config", cfg.to_str().unwrap(), "orders"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "no open orders\n");
    // With the daemon running, the import goes through its one writer.
    let good = fixture("catalog/good.csv");
    let o = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "catalog",
        "import",
        good.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("imported 3 items") && out.contains("through the running daemon"),
        "{out}"
    );
    let bad = fixture("catalog/bad_row.csv");
    let o = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "catalog",
        "import",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(65), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 4"), "{}", stderr(&o));
    let o = run(&["--config", cfg.to_str().unwrap(), "stock", "resync"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("every stock level is queued"));
    let mode = std::fs::metadata(dir.path().join("fp.sock")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o660);

    // The shell's own `kill`: present on every machine, unlike procps.
    let kill = Command::new("sh")
        .args(["-c", "kill -TERM \"$0\"", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    stops_cleanly(child, &notify, dir.path(), "SIGTERM");
}

/// After a stop signal: STOPPING=1 (after any watchdog pings), exit 0 within 5 s, the socket gone.
pub(crate) fn stops_cleanly(
    child: std::process::Child,
    notify: &UnixDatagram,
    dir: &Path,
    signal: &str,
) {
    let mut buf = [0u8; 512];
    let stopping = loop {
        let n = notify.recv(&mut buf).expect("STOPPING=1");
        if &buf[..n] != b"WATCHDOG=1" {
            break String::from_utf8_lossy(&buf[..n]).into_owned();
        }
    };
    assert_eq!(stopping, "STOPPING=1");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let out = rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("the daemon exits within 5 s of {signal}"))
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.join("fp.sock").exists());
}

/// Ctrl-C on the store manager's SSH session stops the daemon as cleanly as systemd's SIGTERM.
#[test]
fn serve_stops_cleanly_on_sigint_too() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let (child, notify) = spawn_serve(dir.path(), &cfg, &[]);
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1 within the deadline");
    assert!(buf[..n].starts_with(b"READY=1"));
    let kill = Command::new("sh")
        .args(["-c", "kill -INT \"$0\"", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    stops_cleanly(child, &notify, dir.path(), "SIGINT");
}

#[test]
fn barcode_decodes_looks_up_and_exits_by_validity() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("store.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nid = \"BC-1\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n\
             [barcodes]\nbadge_prefixes = [\"PK\"]\n[[barcodes.scale]]\nname = \"w\"\n\
             layout = \"FFWWWWWNNNNNC\"\nflags = [\"21\"]\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let catalog = dir.path().join("c.csv");
    std::fs::write(
        &catalog,
        "sku,name,barcode,location,on_hand,unit,plu,sale_unit_g\nW550,农夫山泉,6901234567892,A-01,5,piece,,\nPORK,猪前腿肉,,G-01,8000,gram,00003,500\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    assert!(
        run(&[
            "--config",
            c,
            "catalog",
            "import",
            catalog.to_str().unwrap()
        ])
        .status
        .success()
    );
    let json = |code: &str| -> (Option<i32>, serde_json::Value) {
        let o = run(&["--config", c, "barcode", "--json", code]);
        (
            o.status.code(),
            serde_json::from_slice(&o.stdout).expect("one JSON object"),
        )
    };
    let (rc, v) = json("]E06901234567892");
    assert_eq!(rc, Some(0));
    assert_eq!(
        (v["kind"].as_str(), v["gtin"].as_str()),
        (Some("gtin"), Some("06901234567892"))
    );
    assert_eq!(
        (v["symbology"].as_str(), v["sku"].as_str()),
        (Some("ean13"), Some("W550"))
    );
    let (rc, v) = json("2100003003928");
    assert_eq!(rc, Some(0), "{v}");
    assert_eq!(
        (
            v["kind"].as_str(),
            v["plu"].as_str(),
            v["weight_g"].as_i64()
        ),
        (Some("scale"), Some("3"), Some(392))
    );
    assert_eq!(v["sku"], "PORK");
    let (rc, v) = json("]C10109520123456788<GS>10LOT7");
    assert_eq!(rc, Some(0));
    assert_eq!(v["ais"]["10"], "LOT7");
    assert!(v.get("sku").is_none(), "not in this store");
    let (rc, v) = json("PK0042");
    assert_eq!((rc, v["kind"].as_str()), (Some(0), Some("badge")));
    let (rc, v) = json("6901234567893");
    assert_eq!((rc, v["valid"].as_bool()), (Some(1), Some(false)));
    assert!(v["error"].as_str().unwrap().contains("check digit"), "{v}");
    // A store's own non-GTIN code is valid when the catalog has it; the sku code works too.
    let (rc, v) = json("W550");
    assert_eq!((rc, v["sku"].as_str()), (Some(0), Some("W550")));
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let text = "[store]\nid = \"S\"\n[platforms.jddj]\nenabled = true\napp_id = \"k\"\n\
                secret = \"TOPSECRET-1\"\ntoken = \"TOPSECRET-2\"\nstore_code = \"1\"\nmode = \"poll\"\n\
                [hq]\nenabled = true\nbroker = \"mqtts://hq:8883\"\nusername = \"u\"\npassword = \"TOPSECRET-3\"\n";
    let c = flashpick::config::Config::parse(text, Path::new("s.toml")).unwrap();
    let shown = format!("{c:?} {}", c.platforms.jddj.secret);
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert_eq!(c.platforms.jddj.secret.expose(), "TOPSECRET-1");
}

/// Without a terminal (a pipe, cron, a service) the screen and the demo say so and exit 1: no
/// panic, no core dump, nothing left behind.
#[test]
fn the_screen_and_the_demo_without_a_terminal_say_so_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let demo_dir = dir.path().join("demo");
    for args in [
        vec!["--config", cfg.to_str().unwrap(), "tui"],
        vec!["demo", "--dir", demo_dir.to_str().unwrap()],
    ] {
        let o = bin()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("needs a terminal"), "{}", stderr(&o));
    }
    assert!(!demo_dir.exists(), "the demo made its store anyway");
    assert!(!dir.path().join("fp.sock").exists());
}

/// A file far bigger than any config (`config check /dev/zero`) is refused at once.
#[test]
fn config_check_of_a_huge_file_is_refused_not_read_whole() {
    let o = run(&["config", "check", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("larger than 1024 KiB"),
        "{}",
        stderr(&o)
    );
}

/// The webhook port taken: the error names `webhooks.listen` (it once said `http.listen`), and
/// the failed start leaves no socket and no `-wal`/`-shm` files behind.
#[test]
fn a_taken_webhook_port_is_named_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cfg = write_config(dir.path());
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "[webhooks]\nlisten = \"{}\"\n",
        taken.local_addr().unwrap()
    ));
    std::fs::write(&cfg, text).unwrap();
    let o = run(&["--config", cfg.to_str().unwrap(), "serve"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("webhooks.listen"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("http.listen"), "{}", stderr(&o));
    for left in ["fp.sock", "store.db-wal", "store.db-shm"] {
        assert!(!dir.path().join(left).exists(), "{left} was left behind");
    }
}

/// SIGHUP (`systemctl reload`) checks the file again: a good one is applied by an in-process
/// restart (the new HTTP port answers), a bad one is logged and the daemon carries on.
#[test]
fn sighup_applies_a_good_file_and_carries_on_through_a_bad_one() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let (mut child, notify) = spawn_serve(dir.path(), &cfg, &[]);
    // The log, line by line, as it comes.
    let (log_tx, log) = std::sync::mpsc::channel::<String>();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let _ = log_tx.send(line);
        }
    });
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1");
    assert!(buf[..n].starts_with(b"READY=1"));
    let port = crate::net::free_port();
    let good = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&cfg, &good).unwrap();
    let hup = || {
        let ok = Command::new("sh")
            .args(["-c", "kill -HUP \"$0\"", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    hup();
    // From RELOADING=1 to READY=1 the state dir's lock stays held: tried all along the restart
    // (a lock taken per start would leave a window for a second daemon).
    let mut seen = String::new();
    let mut tries = 0u32;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    notify.set_nonblocking(true).unwrap();
    while !seen.contains("READY=1") {
        assert!(
            std::time::Instant::now() < deadline,
            "no READY=1 after the reload: {seen}"
        );
        match notify.recv(&mut buf) {
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) if seen.contains("RELOADING=1") => {
                tries += 1;
                assert!(
                    flashpick::store::lock::StateLock::acquire(dir.path(), "test").is_err(),
                    "the state dir's lock was free during the in-process restart"
                );
            }
            Err(_) => std::thread::yield_now(),
        }
    }
    notify.set_nonblocking(false).unwrap();
    assert!(tries > 0, "the restart was not watched");
    assert!(seen.starts_with("RELOADING=1"), "{seen}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the reloaded config's port does not answer"
    );
    let said = |what: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = log
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("`{what}` in the log"));
            if line.contains(what) {
                break;
            }
        }
    };
    // A broken file: said in the log, not applied, and the daemon answers as before.
    std::fs::write(&cfg, "[store\nid = ").unwrap();
    hup();
    said("not reloaded");
    notify.set_nonblocking(true).unwrap();
    assert!(notify.recv(&mut buf).is_err(), "a bad file was applied");
    // Another state dir: the lock and the database belong to the old one; a restart's job.
    std::fs::write(
        &cfg,
        good.replace(
            &format!("state_dir = \"{}\"", dir.path().display()),
            "state_dir = \"/tmp/elsewhere\"",
        ),
    )
    .unwrap();
    hup();
    said("restart the service");
    assert!(
        notify.recv(&mut buf).is_err(),
        "a new state dir was applied"
    );
    // A file that parses but cannot start (its port taken): back to the config before.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std::fs::write(
        &cfg,
        good.replace(
            &format!("127.0.0.1:{port}"),
            &taken.local_addr().unwrap().to_string(),
        ),
    )
    .unwrap();
    hup();
    said("back to the config before");
    notify.set_nonblocking(false).unwrap();
    let mut seen = String::new();
    while !seen.contains("READY=1") {
        let n = notify
            .recv(&mut buf)
            .expect("READY=1 with the config before");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the config before is not in force again"
    );
    std::fs::write(&cfg, &good).unwrap();
    let o = run(&["--config", cfg.to_str().unwrap(), "status", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let kill = Command::new("sh")
        .args(["-c", "kill -TERM \"$0\"", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// Staff may not read the config (it holds the platforms' secrets) and need only the socket:
/// `status` run by a user who cannot read the file asks the default socket instead of failing
/// on the file (and says where it asked). Shown as `nobody` when the tests run as root (as CI
/// does); as another user there is no one to switch to.
#[test]
fn status_without_the_right_to_read_the_config_asks_the_default_socket() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let me = std::fs::metadata(&cfg).unwrap().uid();
    if me != 0 {
        return;
    }
    // Directories on the way must let `nobody` reach the file (to be refused reading it).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_flashpick"))
        .args(["--config", cfg.to_str().unwrap(), "status"])
        .env_remove("FLASHPICK_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(69), "{err}");
    assert!(err.contains("/run/flashpick/flashpick.sock"), "{err}");
    assert!(
        !err.contains("Permission denied"),
        "failed on the file: {err}"
    );
}

/// A store's webhook port is fixed (the reverse proxy points at it), and a reload (a config from
/// HQ, or SIGHUP) restarts the daemon in-process: the new start binds the same port again and
/// answers on it, every time.
#[test]
fn a_reload_rebinds_a_fixed_webhook_port() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let web = crate::net::free_port();
    let text = std::fs::read_to_string(&cfg).unwrap()
        + &format!("[webhooks]\nlisten = \"127.0.0.1:{web}\"\n");
    std::fs::write(&cfg, text).unwrap();
    let (mut child, notify) = spawn_serve(dir.path(), &cfg, &[]);
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1");
    assert!(buf[..n].starts_with(b"READY=1"));
    for round in 0..5 {
        let ok = Command::new("sh")
            .args(["-c", "kill -HUP \"$0\"", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let mut seen = String::new();
        while !seen.contains("READY=1") {
            let n = notify.recv(&mut buf).unwrap_or_else(|e| {
                panic!("round {round}: no READY=1 after the reload ({e}): {seen}")
            });
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", web)).is_ok(),
            "round {round}: the webhook port does not answer"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
