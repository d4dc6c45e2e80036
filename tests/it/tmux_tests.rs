//! End to end with the real binaries: the daemon, the TUI in a tmux pane, a scanner on a
//! pseudo-terminal. Keys go in with `tmux send-keys`, the screen comes out of `tmux capture-pane`.

use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_flashpick");

struct Tmux {
    server: String,
}

impl Tmux {
    fn new(dir: &Path) -> Tmux {
        // A server of our own (-S), so parallel tests and the developer's tmux never mix.
        let server = dir.join("tmux.sock").display().to_string();
        // The server it starts keeps whatever descriptors it was given: never our pipes, or
        // reading its output would wait for ever.
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
            .expect("tmux is installed (CI installs it)");
        assert!(status.success(), "tmux new-session");
        Tmux { server }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.server])
            .args(args)
            .output()
            .expect("tmux is installed (CI installs it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    /// Waits for the pane to show what `pred` looks for. tmux has no event for "the screen
    /// changed", so this polls, with a deadline.
    fn until(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.server, "kill-server"])
            .output();
    }
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

    let tmux = Tmux::new(dir.path());
    let cmd = format!(
        "{BIN} --config {} tui --picker p1 --lang zh; echo \"EX\"\"IT=$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon'; echo \"DO\"\"NE\"",
        cfg.display()
    );
    tmux.keys(&[&cmd, "Enter"]);
    tmux.until("the queue", |s| {
        s.contains("订单队列") && s.contains("新订单")
    });
    tmux.keys(&["a"]); // accept
    tmux.until("the order accepted", |s| s.contains("待拣货"));
    tmux.keys(&["Enter"]); // claim
    tmux.until("the pick screen", |s| {
        s.contains("货位") && s.contains("农夫山泉")
    });
    // The scanner on its serial line.
    gun.write_all(b"6901234567892\r").unwrap();
    gun.flush().unwrap();
    let s = tmux.until("the scan result", |s| s.contains("✔ 正确"));
    assert!(s.contains("1/1"), "{s}");
    tmux.keys(&["Enter"]); // complete
    tmux.until("the pack screen", |s| s.contains("取货码"));
    tmux.keys(&["Escape"]);
    tmux.until("back on the queue", |s| s.contains("待打包"));
    tmux.keys(&["q"]);
    // The markers are split in the command line, so only the shell's output matches.
    let s = tmux.until("the TUI to exit", |s| s.contains("DONE"));
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
