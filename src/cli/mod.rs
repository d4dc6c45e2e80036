//! The `flashpick` command line. Each command is a thin shell over the library; exit codes follow
//! sysexits: 78 bad config, 69 daemon not running, 65 bad input file, 1 anything else.

mod backup;
mod barcode_cmd;
mod client_cmds;
mod demo;
pub mod doctor;
pub mod hq_cmd;
mod print_cmd;
pub mod report_cmd;
pub mod requests_cmd;

pub use barcode_cmd::report as barcode_report;

use crate::config::{self, Config, ConfigError};
use crate::store::{self, Store, StoreOptions};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit status when the daemon is not running (EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: u8 = 69;
/// Exit status for a bad input file (EX_DATAERR).
pub const EXIT_DATAERR: u8 = 65;

/// flashpick: the store-side agent for 30-minute delivery.
#[derive(Debug, Parser)]
#[command(name = "flashpick", version, about, long_about = None)]
pub struct Cli {
    /// The store config (default /etc/flashpick/store.toml).
    #[arg(long, global = true, env = "FLASHPICK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (systemd Type=notify).
    Serve {
        /// Start with a new empty database even where one was before and is now missing
        /// (after a loss, when there is nothing to restore).
        #[arg(long)]
        new_database: bool,
    },
    /// Copy the database to a snapshot file while the daemon runs (default: the state dir's
    /// backups folder).
    Backup {
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Put a snapshot back as the store's database (the daemon must be stopped).
    Restore {
        /// The snapshot (`flashpick doctor` lists them).
        file: PathBuf,
    },
    /// A whole store on this machine: simulated platforms, a virtual scanner, the screen.
    Demo(demo::DemoArgs),
    /// Check this store PC: config, state dir, database, scanners, broker, platforms, clock.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check configuration files.
    Config {
        /// What to check.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage the catalog.
    Catalog {
        /// What to do.
        #[command(subcommand)]
        action: CatalogAction,
    },
    /// Stock at the platforms (asks the running daemon).
    Stock {
        /// What to do.
        #[command(subcommand)]
        action: StockAction,
    },
    /// Open orders, most urgent first (asks the running daemon).
    Orders {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Include finished and cancelled orders.
        #[arg(long)]
        all: bool,
    },
    /// Customers' refund and cancel requests waiting for a manager (asks the running daemon);
    /// `requests decide ID --agree|--reject --reason … --as MANAGER` decides one.
    Requests {
        /// Decide one.
        #[command(subcommand)]
        action: Option<requests_cmd::RequestsAction>,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The day's numbers (asks the running daemon): received, on time, pick time, shorts,
    /// pickers, closed minutes, per hour; today unless --day.
    Report {
        /// The business day, YYYY-MM-DD (China time).
        #[arg(long)]
        day: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Print CSV: date,scope,figure,value.
        #[arg(long)]
        csv: bool,
    },
    /// The store open or closed (休息) at each platform; `store close --reason … --as MANAGER
    /// [--until HH:MM] [--platform P]` and `store open --as MANAGER` change it.
    Store {
        /// Open or close.
        #[command(subcommand)]
        action: Option<requests_cmd::StoreAction>,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The outbox's parked rows, settled by hand (asks the running daemon).
    Outbox {
        /// What to do.
        #[command(subcommand)]
        action: requests_cmd::OutboxAction,
    },
    /// Daemon health, outbox, scanners, config version (asks the running daemon).
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The pick-and-pack screen, attached to the running daemon.
    Tui {
        /// This terminal's station number (the picker is `station-N` unless --picker says).
        #[arg(long)]
        station: Option<String>,
        /// Who picks at this terminal.
        #[arg(long)]
        picker: Option<String>,
        /// Screen language, zh or en (default: [tui] lang, else zh).
        #[arg(long)]
        lang: Option<String>,
        /// The daemon's socket (default: from the config when this user may read it, else
        /// /run/flashpick/flashpick.sock).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// The platform simulator: Meituan and JD Daojia on one local HTTP server.
    Sim(SimArgs),
    /// HQ-side helpers: keygen, sign, push a config.
    Hq {
        /// What to do.
        #[command(subcommand)]
        action: hq_cmd::HqAction,
    },
    /// The thermal printers: `print test [--printer NAME]` prints a test page; `print slip|
    /// pick-list|label ORDER` prints an order's document again (asks the running daemon).
    Print {
        /// What to print.
        #[command(subcommand)]
        action: print_cmd::PrintAction,
    },
    /// How CODE decodes (type `<GS>` for the GS separator) and which item it is.
    Barcode {
        /// Raw scanner data, e.g. `]C10109520123456788<GS>10LOT1` or `(01)…(3103)…`.
        code: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// `flashpick sim` options. The defaults match `assets/dev-store.toml`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Where to listen (the agent's base URLs are http://ADDR/api/v1 and http://ADDR/djapi).
    #[arg(long, default_value = "127.0.0.1:9478")]
    pub listen: std::net::SocketAddr,
    /// Meituan app_id to accept.
    #[arg(long, default_value = "sim-meituan")]
    pub meituan_app_id: String,
    /// Meituan secret.
    #[arg(long, default_value = "sim-meituan-secret")]
    pub meituan_secret: String,
    /// JD app_key to accept.
    #[arg(long, default_value = "sim-jd")]
    pub jd_app_key: String,
    /// JD secret.
    #[arg(long, default_value = "sim-jd-secret")]
    pub jd_secret: String,
    /// JD token.
    #[arg(long, default_value = "sim-jd-token")]
    pub jd_token: String,
    /// The agent's push receiver, e.g. http://127.0.0.1:8088; without it orders wait to be polled.
    #[arg(long)]
    pub push_to: Option<String>,
    /// The Meituan push URL prefix the agent verifies (default PUSH_TO/meituan).
    #[arg(long)]
    pub meituan_push_url: Option<String>,
    /// New orders per minute (0: only on request, POST /sim/orders).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Percent of pushes sent twice on purpose.
    #[arg(long, default_value_t = 0)]
    pub duplicates: u32,
    /// Make orders from this catalog CSV (default: the sample catalog).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
}

/// `flashpick config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate FILE: exit 0, or 78 naming the key and the reason.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// `flashpick catalog …`.
#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// Load or update items from a CSV file (sku,name,barcode,location,on_hand,…).
    Import {
        /// The CSV file.
        file: PathBuf,
    },
}

/// `flashpick stock …`
#[derive(Debug, Subcommand)]
pub enum StockAction {
    /// Send every stock level to every platform again: after items were fixed on a platform's
    /// console, or to be sure the platforms show what the shelves hold.
    Resync,
}

/// A failure with the exit status it deserves.
#[derive(Debug)]
pub struct Failure {
    /// Exit status.
    pub code: u8,
    /// Message for stderr.
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 1,
            error: e.into(),
        }
    }
}

fn fail(code: u8, error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code,
        error: error.into(),
    }
}

fn config_failure(e: ConfigError) -> Failure {
    fail(config::EXIT_CONFIG as u8, e)
}

/// Parses the command line, runs the command, and turns the outcome into an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("flashpick: {}", one_line(&f.error));
            ExitCode::from(f.code)
        }
    }
}

/// An error and its causes on one line, each said once: a cause whose text its parent already
/// carries is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve { new_database } => serve(&config_path(cli.config.as_deref()), new_database),
        Command::Backup { out } => backup::backup(&config_path(cli.config.as_deref()), out),
        Command::Restore { file } => backup::restore(&config_path(cli.config.as_deref()), &file),
        Command::Config {
            action: ConfigAction::Check { file },
        } => {
            let c = Config::load(&file).map_err(config_failure)?;
            for w in c.plaintext_warnings() {
                eprintln!("warning: UNENCRYPTED: {w}");
            }
            println!(
                "{}: ok (store {}, database {})",
                file.display(),
                c.store.id,
                c.db_path().display()
            );
            Ok(())
        }
        Command::Catalog {
            action: CatalogAction::Import { file },
        } => import(&config_path(cli.config.as_deref()), &file),
        Command::Orders { json, all } => {
            client_cmds::orders(&socket_path(cli.config.as_deref())?, json, all)
        }
        Command::Status { json } => client_cmds::status(&socket_path(cli.config.as_deref())?, json),
        Command::Report { day, json, csv } => {
            report_cmd::run(&socket_path(cli.config.as_deref())?, day, json, csv)
        }
        Command::Store { action, json } => {
            requests_cmd::store(&socket_path(cli.config.as_deref())?, action, json)
        }
        Command::Outbox { action } => {
            requests_cmd::outbox(&socket_path(cli.config.as_deref())?, action)
        }
        Command::Requests { action, json } => {
            requests_cmd::run(&socket_path(cli.config.as_deref())?, action, json)
        }
        Command::Stock {
            action: StockAction::Resync,
        } => client_cmds::stock_resync(&socket_path(cli.config.as_deref())?),
        Command::Barcode { code, json } => barcode_cmd::run(cli.config.as_deref(), &code, json),
        Command::Print { action } => print_cmd::run(cli.config.as_deref(), action),
        Command::Sim(args) => sim(args),
        Command::Demo(args) => demo::run(args),
        Command::Doctor { json } => doctor::run(&config_path(cli.config.as_deref()), json),
        Command::Hq { action } => hq_cmd::run(action),
        Command::Tui {
            station,
            picker,
            lang,
            socket,
        } => tui(cli.config.as_deref(), socket, station, picker, lang),
    }
}

fn config_path(explicit: Option<&Path>) -> PathBuf {
    explicit.map_or_else(|| PathBuf::from(config::DEFAULT_PATH), Path::to_path_buf)
}

/// The socket to ask: from the config when there is one and this user may read it, else the
/// default path (staff may not read the config's secrets; they need only the socket).
fn socket_path(explicit: Option<&Path>) -> Result<PathBuf, Failure> {
    let path = config_path(explicit);
    if explicit.is_none() && !path.exists() {
        return Ok(config::ApiSection::default().socket);
    }
    match Config::load(&path) {
        Ok(c) => Ok(c.api.socket),
        Err(e) if Config::unreadable(&e) => Ok(config::ApiSection::default().socket),
        Err(e) => Err(config_failure(e)),
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn serve(path: &Path, new_database: bool) -> Result<(), Failure> {
    let config = Config::load(path).map_err(config_failure)?;
    init_logging(&config.log.level);
    let fds = crate::daemon::raise_fd_limit();
    tracing::debug!(open_files = fds, "open-file limit");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("flashpick")
        .build()
        .context("cannot start the async runtime")?;
    let opts = crate::daemon::StartOptions {
        new_database,
        ..Default::default()
    };
    let shutdown = {
        let _runtime = rt.enter();
        shutdown_signal()
    };
    rt.block_on(crate::daemon::run_with(config, opts, Some(path), shutdown))
        .map_err(|e| fail(e.exit_code(), e))?;
    Ok(())
}

/// Completes on SIGTERM (systemd stop) or SIGINT (Ctrl-C). The handlers are installed when this
/// is called, not when the future is first polled: a stop that arrives right after READY=1 would
/// otherwise meet the default action and kill the daemon without its orderly stop.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = int.recv() => tracing::info!("SIGINT: stopping"),
        }
    }
}

/// Refuses to start a screen without a terminal on both ends, with the reason and exit 1.
pub(crate) fn need_terminal(what: &str) -> Result<(), Failure> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return Ok(());
    }
    Err(fail(
        1,
        anyhow::anyhow!(
            "{what} draws a screen and needs a terminal on its input and output (run it in a console or an SSH session, not through a pipe or a service)"
        ),
    ))
}

fn tui(
    config: Option<&Path>,
    socket: Option<PathBuf>,
    station: Option<String>,
    picker: Option<String>,
    lang: Option<String>,
) -> Result<(), Failure> {
    // Before anything else: without a terminal there is no screen to draw (a pipe, cron, a
    // service), and the terminal must be left as it was.
    need_terminal("flashpick tui")?;
    let path = config_path(config);
    let loaded = if config.is_some() || path.exists() {
        match Config::load(&path) {
            Ok(c) => Some(c),
            // Staff may not read the config's secrets; the screen needs only the socket.
            Err(e) if Config::unreadable(&e) => None,
            Err(e) => return Err(config_failure(e)),
        }
    } else {
        None
    };
    let socket = socket
        .or_else(|| loaded.as_ref().map(|c| c.api.socket.clone()))
        .unwrap_or_else(|| config::ApiSection::default().socket);
    let lang = match lang {
        Some(l) => l
            .parse::<crate::model::Lang>()
            .map_err(|e| fail(2, anyhow::anyhow!(e)))?,
        None => loaded.as_ref().map(|c| c.tui.lang).unwrap_or_default(),
    };
    let picker = picker
        .or_else(|| station.as_ref().map(|s| format!("station-{s}")))
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "picker".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(crate::tui::run(
        socket,
        crate::tui::Who { picker, station },
        lang,
        None,
    ))
    .map_err(|e| {
        let unavailable = e
            .downcast_ref::<crate::api::client::ClientError>()
            .is_some_and(|c| {
                matches!(
                    c,
                    crate::api::client::ClientError::NotRunning { .. }
                        | crate::api::client::ClientError::PermissionDenied { .. }
                )
            });
        fail(if unavailable { EXIT_UNAVAILABLE } else { 1 }, e)
    })
}

fn sim(a: SimArgs) -> Result<(), Failure> {
    init_logging("info");
    let config = crate::sim::SimConfig {
        meituan_app_id: a.meituan_app_id,
        meituan_secret: a.meituan_secret,
        jd_app_key: a.jd_app_key,
        jd_secret: a.jd_secret,
        jd_token: a.jd_token,
        push_to: a.push_to,
        meituan_push_url: a.meituan_push_url,
        rate_per_min: a.rate,
        duplicate_pct: a.duplicates.min(100),
        catalog_csv: match &a.catalog {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            ),
            None => None,
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let handle = crate::sim::start(listener, config).await?;
        let stop = shutdown_signal();
        eprintln!(
            "platform simulator on http://{addr}: Meituan {mt}, JD {jd}; state at http://{addr}/sim/state",
            addr = handle.addr,
            mt = handle.meituan_base(),
            jd = handle.jd_base()
        );
        stop.await;
        handle.stop().await;
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(())
}

fn import(config_path: &Path, file: &Path) -> Result<(), Failure> {
    let config = Config::load(config_path).map_err(config_failure)?;
    let input = std::fs::File::open(file)
        .with_context(|| format!("cannot open {}", file.display()))
        .map_err(|e| fail(EXIT_DATAERR, e))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_message("reading");
    let rows = store::catalog::parse(std::io::BufReader::new(input), |b| bar.set_position(b))
        .map_err(|e| fail(EXIT_DATAERR, anyhow::anyhow!("{}: {e}", file.display())))?;
    bar.set_position(size);
    // With a daemon running, its one writer does the import; without one, we write the file.
    let n = rows.len();
    let via = client_cmds::import_via_daemon(&config.api.socket, &rows, &bar)?;
    if via.is_some() {
        bar.finish_and_clear();
        println!(
            "imported {n} items from {} through the running daemon",
            file.display()
        );
        return Ok(());
    }
    bar.set_message("writing");
    std::fs::create_dir_all(&config.store.state_dir)
        .with_context(|| format!("cannot create {}", config.store.state_dir.display()))?;
    // No daemon answered on the socket; one may still be running on this state dir under
    // another socket path: the lock says.
    let _lock = crate::store::lock::StateLock::acquire(&config.store.state_dir, "catalog import")
        .map_err(|e| fail(crate::daemon::EXIT_LOCKED, e))?;
    let store = Store::open(&config.db_path(), StoreOptions::from_config(&config))
        .map_err(|e| fail(e.exit_code().unwrap_or(1), e))?;
    let result = store.import_catalog_blocking(rows);
    store.close();
    bar.finish_and_clear();
    result.map_err(|e| match e {
        store::StoreError::Catalog(_) => fail(EXIT_DATAERR, e),
        e => fail(1, e),
    })?;
    println!(
        "imported {n} items from {} into {}",
        file.display(),
        config.db_path().display()
    );
    Ok(())
}
