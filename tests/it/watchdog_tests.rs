//! What the real binary tells systemd and asks of the kernel: the watchdog is fed only while
//! the store is healthy (an alarm stands: systemd sees a failed daemon, not a healthy one), and
//! a soft open-file limit below the hard one is raised at start so accepting never runs out of
//! descriptors first.

use crate::cli_tests::bin;
use crate::guard_tests::{config, term};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// `flashpick serve` started by `sh -c PREFIX; exec …` with our notify socket and watchdog
/// interval; returns once READY=1 arrived.
fn serve(
    dir: &Path,
    cfg: &Path,
    name: &str,
    prefix: &str,
    watchdog_usec: u64,
) -> (Child, UnixDatagram) {
    let notify_path = dir.join(format!("{name}.notify"));
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let exe = bin().get_program().to_owned();
    let script = format!("{prefix}; exec \"$0\" --config \"$1\" serve",);
    let mut child = std::process::Command::new("sh")
        .args(["-c", &script])
        .arg(&exe)
        .arg(cfg)
        .env_remove("FLASHPICK_CONFIG")
        .env("RUST_LOG", "warn")
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", watchdog_usec.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut buf = [0u8; 512];
    loop {
        match notify.recv(&mut buf) {
            Ok(n) if buf[..n].starts_with(b"READY=1") => return (child, notify),
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no READY=1 within the deadline: {e}");
            }
        }
    }
}

/// The next notify message, or `None` when none came within `secs`.
fn next(notify: &UnixDatagram, secs: u64) -> Option<String> {
    notify
        .set_read_timeout(Some(Duration::from_secs(secs)))
        .unwrap();
    let mut buf = [0u8; 512];
    notify
        .recv(&mut buf)
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn the_watchdog_is_fed_while_healthy_and_withheld_once_an_alarm_stands() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = config(dir.path(), &state, "wd");
    // Systemd's interval 0.4 s: a ping every 0.2 s.
    let (mut child, notify) = serve(dir.path(), &cfg, "wd", "true", 400_000);
    let fed = (0..20).find_map(|_| next(&notify, 5).filter(|m| m.starts_with("WATCHDOG=1")));
    assert!(fed.is_some(), "no watchdog ping while healthy");
    // The database deleted under the daemon: an alarm, and no ping after it.
    let db = state.join("store.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let alarm = (0..200).find_map(|_| next(&notify, 15).filter(|m| m.contains("ALARM")));
    assert!(
        alarm.is_some_and(|a| a.contains("deleted")),
        "no alarm told to systemd"
    );
    // Fifteen intervals without a ping: a bounded wait for something that must not come.
    let mut pinged = Vec::new();
    while let Some(m) = next(&notify, 3) {
        if m.starts_with("WATCHDOG=1") {
            pinged.push(m);
        }
    }
    assert!(
        pinged.is_empty(),
        "the watchdog was fed with an alarm standing"
    );
    term(&child);
    child.wait().unwrap();
}

/// The soft and hard open-file limits of a running process.
fn nofile(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_string();
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[3].to_string(), f[4].to_string())
}

#[test]
fn a_soft_open_file_limit_below_the_hard_one_is_raised_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = config(dir.path(), &state, "fd");
    // Only the soft limit lowered, as a shell or an old unit leaves it.
    let (mut child, _notify) = serve(dir.path(), &cfg, "fd", "ulimit -S -n 256", 0);
    let (soft, hard) = nofile(child.id());
    assert_eq!(soft, hard, "the soft limit was not raised to the hard one");
    // The state dir the daemon made is not for other users (finding 11).
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o007, 0, "state dir mode {mode:o}");
    term(&child);
    child.wait().unwrap();
}
