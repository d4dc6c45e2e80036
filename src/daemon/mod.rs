//! The daemon: opens the store, listens on the Unix socket and the loopback HTTP port, fans
//! committed changes out to subscribers, tells systemd when it is ready, and stops cleanly.
//!
//! [`run`] lives in the library so tests start the real daemon in-process (as mini-redis does).

mod capacity;
mod claims;
mod conn;
mod convert;
mod door;
pub use door::HEADER_TIMEOUT;
mod guard;
mod health;
mod hq_host;
mod http;
pub mod metrics;
mod notices;
pub mod notify;
pub use door::raise_fd_limit;
mod platforms;
mod scanning;
mod schedule;
mod socket;
mod summary;
mod views;

use crate::api::Event;
use crate::config::Config;
use crate::model::Timestamp;
use crate::scan::ScannerStats;
use crate::store::{self, Store, StoreError, StoreOptions};
pub(crate) use health::status;
use health::{status_ticker, watchdog};
use metrics::Metrics;
use socket::{bind_socket, mkdir};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

/// How long shutdown waits for connections to finish their current request.
const DRAIN: Duration = Duration::from_secs(3);
/// How often subscribers get a status event.
const STATUS_EVERY: Duration = Duration::from_secs(5);
/// Events a slow client may fall behind before it is told to resync.
const EVENT_BACKLOG: usize = 1024;

/// The daemon cannot start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A directory cannot be created.
    #[error("cannot create {path}: {cause}; create it and give it to the service user")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// Another daemon already serves this socket.
    #[error(
        "another flashpick daemon is already running on {0}; stop it first (systemctl stop flashpick)"
    )]
    AlreadyRunning(PathBuf),
    /// The socket cannot be bound.
    #[error("cannot listen on {path}: {cause}")]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// A platform channel cannot be set up.
    #[error("platform: {0}")]
    Platform(String),
    /// Another process holds the state dir.
    #[error(transparent)]
    Locked(#[from] crate::store::lock::LockError),
    /// The webhook port cannot be bound.
    #[error(
        "cannot listen on {addr} for the platforms' pushes: {cause}; change webhooks.listen or stop what uses the port"
    )]
    Webhooks {
        /// The address.
        addr: SocketAddr,
        /// Why.
        cause: std::io::Error,
    },
    /// The HTTP port cannot be bound.
    #[error(
        "cannot listen on {addr} for /metrics: {cause}; change http.listen or stop what uses the port"
    )]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        cause: std::io::Error,
    },
}

impl DaemonError {
    /// The exit status: 77 and 74 for a database (or state dir) restarting cannot fix, 75 while
    /// another process holds the state dir, 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            DaemonError::Store(e) => e.exit_code().unwrap_or(1),
            DaemonError::Dir { cause, .. }
                if cause.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                crate::store::EXIT_NOPERM
            }
            DaemonError::Locked(crate::store::lock::LockError::Held { .. }) => EXIT_LOCKED,
            DaemonError::Locked(crate::store::lock::LockError::Io { cause, .. })
                if cause.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                crate::store::EXIT_NOPERM
            }
            _ => 1,
        }
    }
}

/// Exit status while another process holds the state dir (EX_TEMPFAIL: try again later).
pub const EXIT_LOCKED: u8 = 75;

/// How the daemon starts, beyond its config.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Create a new empty database even where one was before and is now missing
    /// (`serve --new-database`).
    pub new_database: bool,
    /// Where "now" comes from (the system clock unless a test moves one by hand).
    pub clock: crate::model::Clock,
}

/// What every task shares.
pub(crate) struct Shared {
    pub config: Config,
    pub store: Store,
    pub metrics: Metrics,
    pub started_at: Timestamp,
    /// Events for subscribers, already in wire form (one conversion, many clients).
    pub events: broadcast::Sender<Event>,
    /// The decoder's rules, from `[barcodes]`.
    pub rules: crate::model::barcode::DecodeRules,
    /// Serial scanners and their bindings.
    pub scanners: scanning::Scanners,
    /// The delivery platforms' channels.
    pub channels: Vec<Arc<crate::sync::channel::Channel>>,
    /// The link to HQ, as a channel in the status (when `[hq]` is enabled).
    pub hq_link: crate::sync::channel::ChannelState,
    /// Connections subscribed to each topic (indexed like `Topic::ALL`), so that events nobody
    /// wants are not built at all.
    pub topic_subs: [std::sync::atomic::AtomicUsize; 5],
    /// A new config to restart with (applied from HQ, or a rollback).
    pub reload: tokio::sync::mpsc::Sender<Config>,
    /// What is wrong with the store itself (its file lost or damaged).
    pub alarms: guard::Alarms,
    /// Notices standing until someone acts (decisions, …).
    pub notices: notices::Notices,
    /// Where "now" comes from: the store's clock.
    pub clock: crate::model::Clock,
    /// Bytes of catalog rows staged on every connection together.
    pub staged_bytes: std::sync::atomic::AtomicUsize,
    /// The printers' threads and what is known of each printer.
    pub printers: crate::print::worker::Printers,
}

impl Shared {
    /// Whether any client is subscribed to `topic`.
    pub fn wants(&self, topic: crate::api::Topic) -> bool {
        self.topic_subs[topic_index(topic)].load(std::sync::atomic::Ordering::Relaxed) > 0
    }
}

/// Position of a topic in `Topic::ALL`.
pub(crate) fn topic_index(topic: crate::api::Topic) -> usize {
    crate::api::Topic::ALL
        .iter()
        .position(|t| *t == topic)
        .expect("every topic is in ALL")
}

/// A running daemon.
pub struct Daemon {
    shared: Arc<Shared>,
    http_addr: SocketAddr,
    webhook_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    readers: Vec<crate::scan::ScannerHandle>,
    stop_readers: Arc<std::sync::atomic::AtomicBool>,
    reload: tokio::sync::mpsc::Receiver<Config>,
}

/// A daemon dropped without [`Daemon::shutdown`] (a failed start-up, a test that panicked) still
/// lets go of its serial ports: its reader threads stop within one read timeout, so the ports
/// can be opened again.
impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop_readers
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.shared.printers.ask_stop();
    }
}

impl Daemon {
    /// Starts everything and returns once the daemon is ready to serve (READY=1 has been sent).
    pub async fn start(config: Config) -> Result<Daemon, DaemonError> {
        Self::start_with(config, StartOptions::default()).await
    }

    /// [`Daemon::start`] with start options.
    pub async fn start_with(config: Config, opts: StartOptions) -> Result<Daemon, DaemonError> {
        let clock = opts.clock.clone();
        let started_at = clock.now();
        for w in config.plaintext_warnings() {
            tracing::warn!("UNENCRYPTED: {w}");
        }
        mkdir(&config.store.state_dir)?;
        let options = StoreOptions {
            clock: clock.clone(),
            ..StoreOptions::from_config(&config)
        };
        let db = config.db_path();
        let store = tokio::task::spawn_blocking(move || {
            if opts.new_database {
                Store::open_allowing_new(&db, options)
            } else {
                Store::open(&db, options)
            }
        })
        .await
        .map_err(|_| StoreError::Closed)??;
        // Every early error below closes the store and removes the socket this start bound
        // (never one another daemon serves).
        let mut bound = false;
        match Self::start_on(config.clone(), store.clone(), started_at, &mut bound).await {
            Ok(d) => Ok(d),
            Err(e) => {
                store.close_async().await;
                if bound {
                    let _ = std::fs::remove_file(&config.api.socket);
                }
                Err(e)
            }
        }
    }

    async fn start_on(
        config: Config,
        store: Store,
        started_at: Timestamp,
        bound: &mut bool,
    ) -> Result<Daemon, DaemonError> {
        if let Ok((n @ 1.., first)) = store.read(crate::store::weighed_without_portion) {
            tracing::warn!(
                "{n} weighed item(s) (first: {}) have no sale_unit_g: the platforms are told 0 until the catalog is imported again with that column",
                first.unwrap_or_default()
            );
        }
        let listener = bind_socket(&config.api.socket, &config.api.group).await?;
        *bound = true;
        let http = TcpListener::bind(config.http.listen)
            .await
            .map_err(|cause| DaemonError::Http {
                addr: config.http.listen,
                cause,
            })?;
        let http_addr = http.local_addr().map_err(|cause| DaemonError::Http {
            addr: config.http.listen,
            cause,
        })?;
        let saved = store.read_async(store::scanner_bindings).await?;
        let channels = platforms::channels(&config)?;
        let webhooks = platforms::bind_webhooks(&config).await?;
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let mut bindings: std::collections::HashMap<String, String> = config
            .scanners
            .iter()
            .filter_map(|s| s.picker.clone().map(|p| (s.name.clone(), p)))
            .collect();
        bindings.extend(
            saved
                .into_iter()
                .filter(|(s, _)| config.scanners.iter().any(|c| &c.name == s)),
        );
        let scanners = scanning::Scanners {
            list: config
                .scanners
                .iter()
                .map(|c| (Arc::new(ScannerStats::new(c)), c.station.clone()))
                .collect(),
            bindings: std::sync::Mutex::new(bindings),
            directed: Default::default(),
        };
        let (reload_tx, reload) = tokio::sync::mpsc::channel(1);
        let clock = store.options().clock.clone();
        let printers = crate::print::worker::Printers::new(&config.printers);
        let shared = Arc::new(Shared {
            printers,
            reload: reload_tx,
            rules: config.barcodes.rules(),
            config,
            store,
            metrics: Metrics::default(),
            started_at,
            events,
            scanners,
            topic_subs: Default::default(),
            channels,
            hq_link: Default::default(),
            alarms: Default::default(),
            notices: Default::default(),
            staged_bytes: Default::default(),
            clock,
        });
        let (shutdown, _) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(conn::accept_loop(
            listener,
            shared.clone(),
            shutdown.subscribe(),
        ));
        tasks.spawn(http::serve(http, shared.clone(), shutdown.subscribe()));
        tasks.spawn(views::fan_out(shared.clone(), shutdown.subscribe()));
        notices::restore(&shared).await;
        tasks.spawn(status_ticker(shared.clone(), shutdown.subscribe()));
        let webhook_addr = platforms::spawn(&shared, &mut tasks, &shutdown, webhooks).await?;
        if shared.config.hq.enabled {
            tasks.spawn(crate::hq::link::run(shared.clone(), shutdown.subscribe()));
            tasks.spawn(summary::run(shared.clone(), shutdown.subscribe()));
        }
        let watchdog_every = notify::watchdog_interval();
        let file_every = watchdog_every.map_or(guard::FILE_CHECK, |w| w.min(guard::FILE_CHECK));
        tasks.spawn(guard::watch_file(
            shared.clone(),
            file_every,
            shutdown.subscribe(),
        ));
        tasks.spawn(guard::quick_check(shared.clone()));
        tasks.spawn(guard::snapshots(shared.clone(), shutdown.subscribe()));
        tasks.spawn(claims::release_idle(shared.clone(), shutdown.subscribe()));
        tasks.spawn(schedule::release(shared.clone(), shutdown.subscribe()));
        tasks.spawn(schedule::reopen(shared.clone(), shutdown.subscribe()));
        tasks.spawn(capacity::run(shared.clone(), shutdown.subscribe()));
        tasks.spawn(notices::expire_requests(
            shared.clone(),
            shutdown.subscribe(),
        ));
        // Jobs left at printers the config no longer has go where their documents go now.
        let routes = store::StoreOptions::from_config(&shared.config).printers;
        match shared.store.reroute_print_jobs(routes).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                jobs = n,
                "print jobs of printers no longer configured were moved to the printers that print those documents now"
            ),
            Err(e) => {
                tracing::error!(error = %e, "cannot move the print jobs of printers no longer configured")
            }
        }
        // Last, so that nothing below can fail and leave reader or printer threads running.
        shared.printers.spawn(
            &shared.store,
            shared
                .config
                .barcodes
                .order_prefixes
                .iter()
                .find(|p| !p.is_empty())
                .cloned(),
        );
        let stop_readers = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for (cfg, (stats, _)) in shared.config.scanners.iter().zip(&shared.scanners.list) {
            let sink = scanning::sink(shared.clone());
            match crate::scan::spawn(cfg.clone(), stats.clone(), sink, stop_readers.clone()) {
                Ok(h) => readers.push(h),
                Err(e) => {
                    tracing::error!(scanner = %cfg.name, error = %e, "cannot start a reader thread")
                }
            }
        }
        tracing::info!(
            store = %shared.config.store.id,
            socket = %shared.config.api.socket.display(),
            http = %http_addr,
            "flashpick ready"
        );
        notify::notify(&format!(
            "READY=1\nSTATUS=serving store {}",
            shared.config.store.id
        ));
        // After READY=1: a ping must never reach systemd before the daemon said it is ready (a
        // race seen under load when the watchdog started first).
        if let Some(every) = watchdog_every {
            tasks.spawn(watchdog(shared.clone(), every, shutdown.subscribe()));
        }
        Ok(Daemon {
            shared,
            http_addr,
            webhook_addr,
            shutdown,
            tasks,
            readers,
            stop_readers,
            reload,
        })
    }

    /// Waits until the daemon asks to be restarted with a new config (one from HQ was applied,
    /// or rolled back).
    pub async fn reload_requested(&mut self) -> Config {
        match self.reload.recv().await {
            Some(c) => c,
            None => std::future::pending().await,
        }
    }

    /// Where `/metrics` and `/healthz` are served (the real port when the config said 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where the platforms push (the real port when the config said 0).
    pub fn webhook_addr(&self) -> Option<SocketAddr> {
        self.webhook_addr
    }

    /// The Unix socket path.
    pub fn socket_path(&self) -> &Path {
        &self.shared.config.api.socket
    }

    /// The store, for in-process callers (tests, and the channels of later layers).
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Pushes an alert to every subscriber.
    pub fn alert(&self, level: &str, message: &str, order_id: Option<i64>) {
        let _ = self.shared.events.send(Event::Alert {
            level: level.into(),
            message: message.into(),
            order_id,
        });
    }

    /// Stops accepting, lets connections finish their request, finishes queued writes, removes the
    /// socket. Returns within a few seconds.
    pub async fn shutdown(mut self) {
        notify::notify("STOPPING=1");
        let _ = self.shutdown.send(true);
        // Reader threads notice within one read timeout (≤ 50 ms).
        self.stop_readers
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let readers = std::mem::take(&mut self.readers);
        let _ =
            tokio::task::spawn_blocking(move || readers.into_iter().for_each(|h| h.join())).await;
        let drained = tokio::time::timeout(DRAIN + Duration::from_millis(500), async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("tasks did not stop in time; aborting them");
            self.tasks.abort_all();
        }
        // Each printer finishes the job in hand: one it sent is marked, not printed again.
        let shared = self.shared.clone();
        let _ =
            tokio::task::spawn_blocking(move || shared.printers.stop(Duration::from_secs(2))).await;
        self.shared.store.close_async().await;
        let _ = std::fs::remove_file(&self.shared.config.api.socket);
        tracing::info!("flashpick stopped");
    }
}

/// Runs the daemon until `shutdown` completes, then stops it cleanly. `config` is the local
/// file's; the config from HQ in force is laid over it. When a config from HQ is applied (or
/// rolled back) the daemon stops cleanly and starts again with it: clients reconnect by
/// themselves, the store and its outbox carry on.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    run_with(config, StartOptions::default(), None, shutdown).await
}

/// [`run`] with start options (they apply to the first start only).
///
/// The state dir's lock is taken here, before the first start, and held across the restarts a
/// config from HQ causes: taken in [`Daemon::start`], every restart would open a window for a
/// second daemon.
///
/// With `config_file`, SIGHUP reloads: the file is read and checked again and, when it is good,
/// the daemon restarts in-process with it (the config from HQ laid over it), as for a config from
/// HQ; a bad file is logged and the daemon carries on with the config it has.
pub async fn run_with(
    config: Config,
    mut opts: StartOptions,
    config_file: Option<&Path>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    mkdir(&config.store.state_dir)?;
    let _lock = crate::store::lock::StateLock::acquire(&config.store.state_dir, "serve")?;
    let mut config = crate::hq::applied::effective(config);
    let mut hangups = config_file
        .and_then(|_| tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok());
    tokio::pin!(shutdown);
    // The config before a SIGHUP reload, to go back to if the new one cannot start.
    let mut before_reload: Option<Config> = None;
    loop {
        let started = Daemon::start_with(config.clone(), opts.clone()).await;
        opts.new_database = false;
        let mut daemon = match started {
            Ok(d) => {
                before_reload = None;
                d
            }
            // A reloaded file that parses but cannot run (a port taken): back to the one before
            // rather than exit; the operator sees why.
            Err(e) if before_reload.is_some() && !matches!(e, DaemonError::Store(_)) => {
                tracing::error!(
                    "SIGHUP: the daemon cannot start with the reloaded file ({e}); back to the config before"
                );
                config = before_reload.take().expect("checked");
                continue;
            }
            // A config from HQ that parses but cannot run here (a port taken, say): undo it
            // rather than crash-loop on it. A database that cannot be used is not the config's
            // fault: undoing it would not help.
            Err(e) if config.hq_version.is_some() && !matches!(e, DaemonError::Store(_)) => {
                let reason = format!(
                    "the daemon could not start with version {}: {e}",
                    config.hq_version.unwrap_or(0)
                );
                config = crate::hq::applied::revert(&config, reason);
                continue;
            }
            Err(e) => return Err(e),
        };
        let next = loop {
            tokio::select! {
                _ = &mut shutdown => {
                    daemon.shutdown().await;
                    return Ok(());
                }
                next = daemon.reload_requested() => {
                    tracing::info!(version = ?next.hq_version, "restarting with a new config");
                    break next;
                }
                Some(()) = hangup(&mut hangups) => {
                    let Some(path) = config_file else { continue };
                    match Config::load(path) {
                        // The lock and the database belong to the state dir, and HQ knows the
                        // store by its id: those change with a restart, not a reload.
                        Ok(local)
                            if local.store.state_dir != config.store.state_dir
                                || local.store.id != config.store.id =>
                        {
                            tracing::error!("SIGHUP: not reloaded: store.id or store.state_dir changed; restart the service to apply them (systemctl restart flashpick)");
                        }
                        Ok(local) => {
                            tracing::info!(file = %path.display(), "SIGHUP: reloading the config");
                            before_reload = Some(config.clone());
                            break crate::hq::applied::effective(local);
                        }
                        // The daemon carries on with what it has; the file waits to be fixed.
                        Err(e) => tracing::error!(
                            "SIGHUP: not reloaded, carrying on with the config in force: {e}; fix the file (`flashpick config check`) and reload again"
                        ),
                    }
                }
            }
        };
        notify::notify("RELOADING=1");
        daemon.shutdown().await;
        config = next;
    }
}

/// The next SIGHUP, or never when none are listened for.
async fn hangup(signals: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signals {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
