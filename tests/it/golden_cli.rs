//! A golden transcript of the command line: what each command prints and its exit status, with
//! a daemon and without, good input and bad. Run against the release before the house was put in
//! order, it gave the same transcript.

use crate::cli_tests::{bin, fixture, spawn_serve, stops_cleanly, write_config};
use std::path::Path;
use std::process::Command;

/// Lines that change from run to run (ages, times, versions), said as what they are.
fn redact(text: &str, state: &Path) -> String {
    let text = text
        .replace(&state.display().to_string(), "$STATE")
        .replace(env!("CARGO_MANIFEST_DIR"), "$REPO");
    text.lines()
        .map(|l| {
            // Deadlines and ages in the orders table: mm:ss and times of day.
            let mut out = String::new();
            for word in l.split(' ') {
                let clock = word.len() >= 4
                    && word.contains(':')
                    && word
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == ':' || c == '-');
                out.push_str(if clock { "[time]" } else { word });
                out.push(' ');
            }
            out.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn step(transcript: &mut String, dir: &Path, args: &[&str]) {
    let o = bin().args(args).output().expect("run flashpick");
    transcript.push_str(&format!(
        "$ flashpick {}\nexit {}\n",
        redact(&args.join(" "), dir),
        o.status.code().map_or("signal".into(), |c| c.to_string())
    ));
    for (name, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        if !text.trim().is_empty() {
            transcript.push_str(&format!("[{name}]\n{}\n", redact(text.trim_end(), dir)));
        }
    }
    transcript.push('\n');
}

#[test]
fn cli_output_and_exit_codes_are_what_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let cfg = cfg.to_str().unwrap();
    let good = fixture("catalog/good.csv");
    let bad = fixture("catalog/bad_row.csv");
    let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());
    let mut t = String::new();
    let root = dir.path();
    // Config checks: good, and each kind of bad (exit 78).
    step(&mut t, root, &["config", "check", cfg]);
    for f in [
        "bad_store_id",
        "bad_type",
        "bad_value",
        "missing_store",
        "platform_without_secret",
        "unknown_key",
    ] {
        let path = fixture(&format!("config/{f}.toml"));
        step(&mut t, root, &["config", "check", path.to_str().unwrap()]);
    }
    // Without a daemon.
    step(&mut t, root, &["--config", cfg, "orders"]);
    step(&mut t, root, &["--config", cfg, "status"]);
    step(&mut t, root, &["--config", cfg, "catalog", "import", bad]);
    step(&mut t, root, &["--config", cfg, "catalog", "import", good]);
    step(&mut t, root, &["--config", cfg, "barcode", "6901234567892"]);
    step(&mut t, root, &["--config", cfg, "barcode", "6901234567890"]);
    // With one.
    let (child, notify) = spawn_serve(dir.path(), Path::new(cfg), &[]);
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1 within the deadline");
    assert!(buf[..n].starts_with(b"READY=1"));
    step(&mut t, root, &["--config", cfg, "orders"]);
    step(
        &mut t,
        root,
        &["--config", cfg, "orders", "--all", "--json"],
    );
    step(&mut t, root, &["--config", cfg, "catalog", "import", good]);
    step(&mut t, root, &["--config", cfg, "catalog", "import", bad]);
    step(&mut t, root, &["--config", cfg, "stock", "resync"]);
    step(&mut t, root, &["--config", cfg, "barcode", "6901234567892"]);
    let kill = Command::new("sh")
        .args(["-c", "kill -TERM \"$0\"", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    stops_cleanly(child, &notify, dir.path(), "SIGTERM");
    insta::assert_snapshot!(t);
}
