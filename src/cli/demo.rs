//! `flashpick demo`: a whole store on one machine, no setup, no network, no root — a 310-item
//! Chinese dark-store catalog, the platform simulator making Meituan and JD orders, a virtual
//! scanner on a pseudo-terminal, the daemon, and the pick-and-pack screen attached. `q` stops
//! everything.

use super::{Failure, fail};
use crate::config::Config;
use crate::daemon::Daemon;
use crate::sim::{SimConfig, SimHandle};
use anyhow::Context;
use serialport::{SerialPort, TTYPort};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The demo store's catalog.
const CATALOG: &str = include_str!("../../assets/demo-catalog.csv");

/// `flashpick demo` options.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the store in DIR (created if needed) instead of a temporary directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// New orders per minute from the simulator (both platforms).
    #[arg(long, default_value_t = 6.0)]
    pub rate: f64,
    /// Screen language, zh or en.
    #[arg(long, default_value = "zh")]
    pub lang: String,
}

/// Runs the demo until the screen is left.
pub fn run(args: DemoArgs) -> Result<(), Failure> {
    // Before the store, the socket and the scanner exist: nothing to leave behind.
    super::need_terminal("flashpick demo")?;
    let lang = args
        .lang
        .parse::<crate::model::Lang>()
        .map_err(|e| fail(2, anyhow::anyhow!(e)))?;
    let (dir, temporary) = match args.dir {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!("flashpick-demo-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let result = demo(&dir, args.rate, lang);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("the demo store stays in {}", dir.display());
    }
    result
}

fn demo(dir: &Path, rate: f64, lang: crate::model::Lang) -> Result<(), Failure> {
    // Two demos on one --dir would be two daemons on one database.
    let _lock = crate::store::lock::StateLock::acquire(dir, "demo")?;
    // The daemon's log goes to a file: the terminal belongs to the screen.
    let log = std::fs::File::create(dir.join("flashpick.log"))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::sync::Mutex::new(log))
        .with_ansi(false)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let scanner = VirtualScanner::new()?;
    let outcome = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let sim = crate::sim::start(
            listener,
            SimConfig {
                rate_per_min: rate,
                duplicate_pct: 5,
                catalog_csv: Some(CATALOG.to_string()),
                ..SimConfig::default()
            },
        )
        .await?;
        let config = config(dir, &sim, &scanner.daemon_side)?;
        if !config.db_path().exists() {
            import(config.clone()).await?;
        }
        let daemon = Daemon::start(config.clone())
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        // A few orders at once, so the queue is not empty while the first ones are polled.
        for p in [
            crate::model::Platform::Meituan,
            crate::model::Platform::Jddj,
        ] {
            let _ = sim.sim.new_order(p, &[], false).await;
        }
        let hint = format!(
            "扫描枪 scanner: echo 6901234567892 > {} · 打印机 printer: {}",
            scanner.user_side.display(),
            dir.join("printer").display()
        );
        println!("{hint}");
        let shown = crate::tui::run(
            config.api.socket.clone(),
            crate::tui::Who {
                picker: "p1".into(),
                station: Some("1".into()),
            },
            lang,
            Some(hint),
        )
        .await;
        daemon.shutdown().await;
        sim.stop().await;
        shown
    });
    scanner.stop();
    outcome.map_err(|e| fail(1, e))
}

fn config(dir: &Path, sim: &SimHandle, scanner: &Path) -> anyhow::Result<Config> {
    let sim_defaults = SimConfig::default();
    let text = format!(
        r#"[store]
id = "DEMO-0001"
name = "演示店 · 前置仓"
state_dir = "{d}"
[api]
socket = "{d}/flashpick.sock"
[http]
listen = "127.0.0.1:0"
[platforms.meituan]
enabled = true
safety_stock = 1
base_url = "{mt}"
app_id = "{mt_id}"
secret = "{mt_secret}"
store_code = "DEMO-0001"
mode = "poll"
poll_interval_secs = 2
[platforms.jddj]
enabled = true
safety_stock = 1
base_url = "{jd}"
app_id = "{jd_id}"
secret = "{jd_secret}"
token = "{jd_token}"
store_code = "DEMO-0001"
mode = "poll"
poll_interval_secs = 2
[barcodes]
badge_prefixes = ["PK"]
order_prefixes = ["ORD"]
[[barcodes.scale]]
name = "weight-13"
layout = "FFWWWWWNNNNNC"
flags = ["21", "22"]
[[scanners]]
name = "gun-1"
path = "{scanner}"
picker = "p1"
# A virtual printer: each job an .escpos file (the printer's own bytes) in {d}/printer.
[[printers]]
name = "front"
kind = "file"
address = "{d}/printer"
paper_mm = 80
slip = 1
pick_list = 1
label = 1
"#,
        d = dir.display(),
        mt = sim.meituan_base(),
        jd = sim.jd_base(),
        mt_id = sim_defaults.meituan_app_id,
        mt_secret = sim_defaults.meituan_secret,
        jd_id = sim_defaults.jd_app_key,
        jd_secret = sim_defaults.jd_secret,
        jd_token = sim_defaults.jd_token,
        scanner = scanner.display(),
    );
    std::fs::write(dir.join("store.toml"), &text)?;
    Ok(Config::parse(&text, &dir.join("store.toml"))?)
}

async fn import(config: Config) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let rows = crate::store::catalog::parse(CATALOG.as_bytes(), |_| {})?;
        let store = crate::store::Store::open(
            &config.db_path(),
            crate::store::StoreOptions::from_config(&config),
        )?;
        store.import_catalog_blocking(rows)?;
        store.close();
        Ok(())
    })
    .await?
}

/// A scanner made of two pseudo-terminals: people write codes to `user_side` (`echo CODE >`),
/// a thread copies them to the pseudo-terminal the daemon reads as a serial scanner at
/// `daemon_side`, turning the newline `echo` adds into the CR a scanner sends.
struct VirtualScanner {
    user_side: PathBuf,
    daemon_side: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl VirtualScanner {
    fn new() -> anyhow::Result<VirtualScanner> {
        let (mut to_daemon, daemon_end) = TTYPort::pair().context("no pseudo-terminals")?;
        let (mut from_user, user_end) = TTYPort::pair().context("no pseudo-terminals")?;
        let daemon_side = PathBuf::from(daemon_end.name().context("pty name")?);
        let user_side = PathBuf::from(user_end.name().context("pty name")?);
        // The daemon opens its end by path; ours is closed so only the daemon reads it.
        drop(daemon_end);
        from_user.set_timeout(Duration::from_millis(100))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // Held open so `echo` from another terminal never finds the line hung up.
            let _user_end = user_end;
            let mut buf = [0u8; 256];
            while !flag.load(Ordering::Relaxed) {
                match from_user.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        let bytes: Vec<u8> = buf[..n]
                            .iter()
                            .map(|b| if *b == b'\n' { b'\r' } else { *b })
                            .collect();
                        let _ = to_daemon.write_all(&bytes);
                    }
                    _ => {}
                }
            }
        });
        Ok(VirtualScanner {
            user_side,
            daemon_side,
            stop,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
