//! End to end with the real binaries: the daemon, the TUI in a tmux pane, a scanner on a
//! pseudo-terminal. Keys go in with `tmux send-keys`, the screen comes out of `tmux capture-pane`.
//! On a machine without tmux (the README promises `cargo test` needs only Rust) the TUI runs on
//! a pseudo-terminal of our own and a vt100 parser reads its screen: the same steps, the same
//! checks.

use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_flashpick");

/// A terminal the TUI runs in.
trait Term {
    /// Types keys (tmux key names: `Enter`, `Escape`, or text).
    fn keys(&mut self, keys: &[&str]);
    /// The screen as text.
    fn screen(&mut self) -> String;
    /// Waits for the screen to show what `pred` looks for. A terminal has no event for "the
    /// screen changed", so this polls, with a deadline.
    fn until(&mut self, what: &str, pred: &dyn Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut tick = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{s}"
            );
            tick += Duration::from_millis(50);
            while Instant::now() < tick {
                std::hint::spin_loop();
            }
        }
    }
}

struct Tmux {
    server: String,
}

impl Tmux {
    fn new(dir: &Path, command: &str) -> Tmux {
        // A server of our own (-S), so parallel tests and the developer's tmux never mix. The
        // server keeps whatever descriptors it was given: never our pipes, or reading its
        // output would wait for ever.
        let server = dir.join("tmux.sock").display().to_string();
        let status = Command::new("tmux")
            .args([
                "-S",
                &server,
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "100",
                "-y",
                "30",
                "sh",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session");
        let mut t = Tmux { server };
        t.keys(&[command, "Enter"]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.server])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Term for Tmux {
    fn keys(&mut self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&mut self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.server, "kill-server"])
            .output();
    }
}

/// `sh` on a pseudo-terminal of our own, its screen kept by a vt100 parser.
struct Pty {
    master: TTYPort,
    parser: vt100::Parser,
    _shell: std::process::Child,
    // Held open so the master never sees a hang-up: Linux may drop output still queued when
    // the last slave descriptor closes, and the shell's last lines are what the test reads.
    _slave: TTYPort,
}

impl Pty {
    fn new(command: &str) -> Pty {
        let (master, slave) = TTYPort::pair().unwrap();
        let device = slave.name().unwrap();
        let status = Command::new("stty")
            // serialport opened it raw; a terminal starts cooked, which the TUI must give back.
            .args(["-F", &device, "sane", "rows", "30", "cols", "100"])
            .status()
            .unwrap();
        assert!(status.success());
        let io = |d: &str| {
            Stdio::from(
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(d)
                    .unwrap(),
            )
        };
        // A session of its own with the pty as its controlling terminal, as in a real terminal.
        let shell = Command::new("setsid")
            .args(["--ctty", "sh", "-c", command])
            .env("TERM", "xterm")
            .stdin(io(&device))
            .stdout(io(&device))
            .stderr(io(&device))
            .spawn()
            .unwrap();
        let mut master = master;
        master.set_timeout(Duration::from_millis(20)).unwrap();
        let size = |n: u16| std::num::NonZeroU16::new(n).expect("not zero");
        Pty {
            master,
            parser: vt100::Parser::new(size(30), size(100), 0),
            _shell: shell,
            _slave: slave,
        }
    }
}

impl Term for Pty {
    fn keys(&mut self, keys: &[&str]) {
        for k in keys {
            let bytes: Vec<u8> = match *k {
                "Enter" => b"\r".to_vec(),
                "Escape" => b"\x1b".to_vec(),
                text => text.as_bytes().to_vec(),
            };
            self.master.write_all(&bytes).unwrap();
            // One key per write: an Escape must not run into the next key.
            self.master.flush().unwrap();
            let _ = self.screen();
        }
    }

    fn screen(&mut self) -> String {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut self.master, &mut buf) {
            if n == 0 {
                break;
            }
            self.parser.process(&buf[..n]);
        }
        self.parser.screen().contents()
    }
}

/// Whether tmux is here. CI installs it and sets FLASHPICK_REQUIRE_TOOLS=1, so there the test
/// cannot fall back to the pty without saying so.
fn has_tmux() -> bool {
    let here = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        here || std::env::var_os("FLASHPICK_REQUIRE_TOOLS").is_none(),
        "FLASHPICK_REQUIRE_TOOLS is set but tmux is missing (apt-get install tmux)"
    );
    here
}

#[test]
fn pick_an_order_in_the_real_tui_with_a_real_scanner() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::seed_db(dir.path(), &[("MT-9", &[("W550", 1)])]);
    let (mut gun, slave) = TTYPort::pair().unwrap();
    let device = slave.name().unwrap();
    drop(slave);
    let cfg = dir.path().join("store.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nid = \"TM-1\"\nstate_dir = \"{d}\"\n[api]\nsocket = \"{d}/fp.sock\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
             [[scanners]]\nname = \"gun-1\"\npath = \"{device}\"\npicker = \"p1\"\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let daemon = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("NOTIFY_SOCKET", &notify_path)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _daemon = Stop(daemon);
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("the daemon is ready");
    assert!(buf[..n].starts_with(b"READY=1"));
    let accept = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "orders", "--json"])
        .output()
        .unwrap();
    assert!(accept.status.success());

    let cmd = format!(
        "{BIN} --config {} tui --picker p1 --lang zh; echo \"EX\"\"IT=$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon'; echo \"DO\"\"NE\"",
        cfg.display()
    );
    let mut term: Box<dyn Term> = if has_tmux() {
        Box::new(Tmux::new(dir.path(), &cmd))
    } else {
        eprintln!("tmux is not installed: driving the TUI on a pty with a vt100 parser instead");
        Box::new(Pty::new(&cmd))
    };
    let tmux = term.as_mut();
    tmux.until("the queue", &|s| {
        s.contains("订单队列") && s.contains("新订单")
    });
    tmux.keys(&["a"]); // accept
    tmux.until("the order accepted", &|s| s.contains("待拣货"));
    tmux.keys(&["Enter"]); // claim
    tmux.until("the pick screen", &|s| {
        s.contains("货位") && s.contains("农夫山泉")
    });
    // The scanner on its serial line.
    gun.write_all(b"6901234567892\r").unwrap();
    gun.flush().unwrap();
    let s = tmux.until("the scan result", &|s| s.contains("✔ 正确"));
    assert!(s.contains("1/1"), "{s}");
    tmux.keys(&["Enter"]); // complete
    tmux.until("the pack screen", &|s| s.contains("取货码"));
    tmux.keys(&["Escape"]);
    tmux.until("back on the queue", &|s| {
        s.contains("订单队列") && s.contains("待打包")
    });
    tmux.keys(&["q"]);
    // The markers are split in the command line, so only the shell's output matches.
    let s = tmux.until("the TUI to exit", &|s| s.contains("DONE"));
    assert!(s.contains("EXIT=0"), "{s}");
    // The terminal is back in canonical mode: the TUI restored it.
    assert!(s.lines().any(|l| l.trim() == "icanon"), "{s}");
}

/// Stops the daemon however the test ends.
struct Stop(std::process::Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_runs_in_one_command_and_quits_clean() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cmd = format!(
        "{BIN} demo --dir {} --rate 0; echo \"EX\"\"IT=$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon'; echo \"DO\"\"NE\"",
        store.display()
    );
    let mut term: Box<dyn Term> = if has_tmux() {
        Box::new(Tmux::new(dir.path(), &cmd))
    } else {
        Box::new(Pty::new(&cmd))
    };
    let t = term.as_mut();
    // Orders from both platforms within seconds, accepted (the demo makes one of each at start;
    // --rate 0 keeps the queue still, so Enter claims an accepted one).
    let s = t.until("orders from both platforms, accepted", &|s| {
        let rows: Vec<&str> = s.lines().filter(|l| l.contains(" #")).collect();
        s.contains("订单队列")
            // Their slips printed on the demo's virtual printer.
            && rows
                .iter()
                .any(|r| r.contains("美团") && r.contains("待拣货 已打印"))
            && rows
                .iter()
                .any(|r| r.contains("京东到家") && r.contains("待拣货 已打印"))
            && !rows.iter().any(|r| r.trim_end().ends_with("新订单"))
            // The scanner's path is on the screen too (under load it may come a frame later).
            && s.contains("6901234567892 > /dev/pts/")
    });
    // The scanner's path, as printed for the user.
    let path = s
        .lines()
        .find_map(|l| l.split("6901234567892 > ").nth(1))
        .and_then(|p| p.split_whitespace().next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no scanner path on the screen:\n{s}"));
    assert!(path.starts_with("/dev/pts/"), "{path}");
    t.keys(&["Enter"]); // claim the most urgent order
    let s = t.until("the pick screen", &|s| s.contains("货位"));
    // Chinese product names on the lines.
    let names = s
        .lines()
        .skip_while(|l| !l.contains("货位"))
        .skip(1)
        .filter(|l| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
        .count();
    assert!(names >= 1, "{s}");
    // A scan written to the printed path, as `echo` would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .write_all(b"6901234567892\n")
        .unwrap();
    t.until("the scan on the screen", &|s| {
        s.contains("6901234567892") && (s.contains("✔") || s.contains("✘"))
    });
    t.keys(&["Escape"]);
    t.until("back on the queue", &|s| s.contains("订单队列"));
    t.keys(&["q"]);
    let s = t.until("the demo to exit", &|s| s.contains("DONE"));
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(s.lines().any(|l| l.trim() == "icanon"), "{s}");
    // Everything it made is in the store directory, the catalog imported; the slips and the
    // pick list are the printer's bytes in its directory.
    assert!(store.join("store.db").exists());
    let jobs: Vec<String> = std::fs::read_dir(store.join("printer"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".escpos"))
        .collect();
    assert!(
        jobs.iter().filter(|n| n.contains("-slip-")).count() >= 2
            && jobs.iter().any(|n| n.contains("-pick_list-")),
        "{jobs:?}"
    );
}
