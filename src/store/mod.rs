//! The store: one SQLite file, ONE writer thread that owns the write connection and takes typed
//! commands over a channel, and a small pool of reader connections.
//!
//! Every order transition, its stock moves, its history row and its outbox rows are written in one
//! `BEGIN IMMEDIATE` transaction; subscribers hear about a change only after it is committed.

pub mod backup;
pub mod catalog;
mod error;
pub mod file;
pub mod lock;
pub mod open;
mod outbox;
pub mod payload;
pub mod print;
mod read;
pub mod requests;
pub mod schema;
pub mod summary;
mod write;
mod writer;
mod writes;

pub use catalog::{CatalogError, CatalogRow};
pub use error::{EXIT_IOERR, EXIT_NOPERM, StoreError};
pub use outbox::Settle;
pub use read::report;
pub use read::{
    Invariants, LineWalk, OutboxDepth, ParkedRow, SkuInfo, check_invariants, current_order,
    current_order_id, list_orders, load_order, lookup_skus, order_counts, order_id_by_external,
    outbox_depth, picker_for_badge, scanner_bindings, sku_by_code, sku_for_scan, sku_info,
    stock_figures, walk,
};
pub use read::{
    OutboxRow, PlatformLevel, all_levels, idle_claims, last_touched, parked_orders, pending_outbox,
    pending_outbox_after, resolve_item, sale_unit, sync_state, weighed_without_portion,
};
pub use write::order_check;
pub use write::{
    Applied, BatchInPicking, CatalogChange, CatalogDelta, DeltaOutcome, IDLE_RELEASE, Ingested,
    NewLine, NewOrder, Rejection, RiderChange, ScanDone, ScanLog, ScanRequest, StockOp,
    StockOpKind, UnknownItem, batches_in_picking, conflicting_codes,
};

use crate::model::{Clock, Platform, SkuCode, SlaPolicy};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};
use writer::Command;

/// Settings the store needs from the config.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Platforms that sell from this store's stock, with their default safety stock.
    pub selling: Vec<(Platform, i64)>,
    /// Deadlines for new orders.
    pub sla: SlaPolicy,
    /// Whether every transition and stock move is queued as an event for HQ.
    pub hq_events: bool,
    /// Actors who may act on an order another picker claimed (`[staff] managers`).
    pub managers: Vec<String>,
    /// A short for "not on the shelf" marks the item sold out at every platform
    /// (`[picking] sold_out_on_short`).
    pub sold_out_on_short: bool,
    /// Where the store's "now" comes from: every time it writes (transitions, ledger rows,
    /// outbox rows and their retries, scans) is read from it.
    pub clock: Clock,
    /// Which printers print which documents for which station (`[[printers]]`).
    pub printers: Vec<print::PrintRoute>,
    /// Batch picking (`[picking] batch_*`).
    pub batch: BatchOptions,
}

/// Batch picking's rules and the cart's slots.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Which orders make a batch.
    pub rules: crate::model::batch::BatchRules,
    /// The cart's slot labels, in order.
    pub slots: Vec<String>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        let p = crate::config::PickingSection::default();
        BatchOptions {
            rules: p.batch_rules(),
            slots: p.batch_slots,
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            selling: vec![(Platform::Meituan, 0), (Platform::Jddj, 0)],
            sla: SlaPolicy::default(),
            hq_events: false,
            managers: Vec::new(),
            sold_out_on_short: true,
            clock: Clock::system(),
            printers: Vec::new(),
            batch: BatchOptions::default(),
        }
    }
}

impl StoreOptions {
    /// From the daemon's config.
    pub fn from_config(config: &crate::config::Config) -> Self {
        StoreOptions {
            selling: config
                .selling_platforms()
                .into_iter()
                .filter_map(|p| config.platform(p).map(|s| (p, s.safety_stock)))
                .collect(),
            sla: config.sla,
            hq_events: config.hq.enabled,
            managers: config.staff.managers.clone(),
            sold_out_on_short: config.picking.sold_out_on_short,
            clock: Clock::system(),
            printers: config
                .printers
                .iter()
                .map(|p| print::PrintRoute {
                    printer: p.name.clone(),
                    station: p.station.clone(),
                    slip: p.slip,
                    pick_list: p.pick_list,
                    label: p.label,
                })
                .collect(),
            batch: BatchOptions {
                rules: config.picking.batch_rules(),
                slots: config.picking.batch_slots.clone(),
            },
        }
    }

    /// The default safety stock for a platform (0 for platforms that do not sell).
    pub fn default_safety(&self, platform: Platform) -> i64 {
        self.selling
            .iter()
            .find(|(p, _)| *p == platform)
            .map(|(_, s)| *s)
            .unwrap_or(0)
    }
}

/// A committed change, broadcast to subscribers after the commit.
#[derive(Debug, Clone)]
pub enum StoreEvent {
    /// An order was created or changed state.
    OrderChanged {
        /// The order as committed.
        order: crate::model::Order,
        /// What happened (`ingest`, `accept`, `pick`, …).
        cause: &'static str,
    },
    /// Stock of these skus changed.
    StockChanged {
        /// The items.
        skus: Vec<SkuCode>,
    },
    /// Outbox rows were written without an order or stock change (an order fetch was queued).
    OutboxChanged,
    /// A customer's request was opened, decided or settled.
    RequestChanged {
        /// The request as committed.
        request: crate::model::request::CustomerRequest,
    },
    /// Print jobs were queued for these printers.
    PrintQueued {
        /// The printers with new work.
        printers: Vec<String>,
    },
    /// A print job of this order was printed.
    Printed {
        /// The order.
        order: crate::model::OrderId,
        /// The job.
        job: i64,
    },
}

/// Handle to the store. Cheap to clone; every clone talks to the same writer thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// The file opened, to tell when the path names another one (deleted, replaced).
    file_id: Option<file::FileId>,
    /// Its write-ahead log, which holds the commits not yet copied into the file.
    wal_id: Option<file::FileId>,
    health: Arc<Health>,
    options: StoreOptions,
    // Bounded: a flood of commands (a jammed scanner) waits here instead of growing memory
    // without limit; async callers simply await a free slot.
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<StoreEvent>,
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The write-ahead log of the database at `db`.
fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_os_string();
    p.push("-wal");
    PathBuf::from(p)
}

/// How many commands may wait for the writer.
const QUEUE: usize = 1024;
/// How many committed events a slow subscriber may fall behind before it must resync.
const EVENT_BACKLOG: usize = 4096;

/// Whether the store still takes writes: set once when its file turns out to be gone or
/// replaced, read by the writer before every command.
#[derive(Default)]
pub(crate) struct Health {
    refusing: std::sync::atomic::AtomicBool,
    reason: Mutex<Option<String>>,
}

impl Health {
    /// Why writes are refused, if they are.
    pub(crate) fn refusal(&self) -> Option<String> {
        if !self.refusing.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        self.reason.lock().expect("health").clone()
    }
}

impl Store {
    /// Opens the database at `path` (creating it on a first start), checks that it is whole and
    /// writable, migrates it and starts the writer thread. A database missing where flashpick
    /// created one before is refused ([`StoreError::Missing`]), not silently made anew.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Self::open_checked(path, options, false)
    }

    /// Like [`Store::open`], but a missing or empty database where one was before is replaced by a
    /// new empty one (`serve --new-database`: the operator chose to start over).
    pub fn open_allowing_new(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Self::open_checked(path, options, true)
    }

    fn open_checked(
        path: &Path,
        options: StoreOptions,
        allow_new: bool,
    ) -> Result<Store, StoreError> {
        let found = file::preflight(path, allow_new)?;
        if allow_new {
            // A new start: the old marker and any damage note described the database that was.
            let _ = std::fs::remove_file(file::damage_note(path));
            if found == file::Found::New {
                let _ = std::fs::remove_file(file::marker_path(path));
            }
        }
        let classify = |e| file::classify(path, e);
        let mut conn = Connection::open(path).map_err(classify)?;
        schema::configure(&conn).map_err(classify)?;
        schema::migrate(&mut conn).map_err(|e| match e {
            schema::MigrateError::Failed { cause, .. }
                if cause.sqlite_error_code().is_some_and(|c| {
                    matches!(
                        c,
                        rusqlite::ErrorCode::ReadOnly
                            | rusqlite::ErrorCode::DatabaseCorrupt
                            | rusqlite::ErrorCode::NotADatabase
                    )
                }) =>
            {
                classify(cause)
            }
            e => StoreError::Migrate(e),
        })?;
        file::write_probe(&conn).map_err(classify)?;
        let note = match found {
            file::Found::New => format!(
                "It was created on {} (unix ms).",
                crate::model::Timestamp::now().0
            ),
            file::Found::Existing => "It was found there by this release of flashpick.".into(),
        };
        if let Err(e) = file::write_marker(path, &note) {
            tracing::warn!(error = %e, "cannot write the database marker next to {}", path.display());
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_os_string();
            p.push(suffix);
            file::adopt_owner(Path::new(&p));
            // The whole store is in it: not for every user of the machine.
            file::not_world_readable(Path::new(&p));
        }
        file::adopt_owner(&file::marker_path(path));
        let file_id = file::file_id(path).ok();
        let wal_id = file::file_id(&wal_path(path)).ok();
        let health = Arc::new(Health::default());
        let (commands, rx) = mpsc::channel(QUEUE);
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let writer = writer::spawn(conn, rx, events.clone(), options.clone(), health.clone())?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                file_id,
                wal_id,
                health,
                options,
                commands,
                events,
                readers: Mutex::new(Vec::new()),
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether the path still names the file this store opened: `Err` says what became of it
    /// (deleted, or replaced by another file).
    pub fn check_file(&self) -> Result<(), String> {
        let Some(opened) = self.inner.file_id else {
            return Ok(());
        };
        let path = self.inner.path.display();
        match file::file_id(&self.inner.path) {
            Ok(now) if now == opened => Ok(()),
            Ok(_) => Err(format!(
                "the database file {path} was replaced by another file while flashpick was running"
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "the database file {path} was deleted while flashpick was running"
            )),
            // Cannot tell (a permission changed): not a reason to stop the store.
            Err(_) => Ok(()),
        }?;
        // The log holds every commit since the last checkpoint: deleted, they are lost at the
        // next start.
        let Some(opened) = self.inner.wal_id else {
            return Ok(());
        };
        let wal = wal_path(&self.inner.path);
        match file::file_id(&wal) {
            Ok(now) if now == opened => Ok(()),
            Ok(_) => Err(format!(
                "the database's write-ahead log {} was replaced while flashpick was running",
                wal.display()
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "the database's write-ahead log {} was deleted while flashpick was running (the latest commits are in it)",
                wal.display()
            )),
            Err(_) => Ok(()),
        }
    }

    /// From now on every write is refused with `reason` (and what to do): the store found that
    /// acknowledging more would lose it.
    pub fn refuse_writes(&self, reason: &str) {
        let h = &self.inner.health;
        let mut r = h.reason.lock().expect("health");
        if r.is_none() {
            *r = Some(format!(
                "{reason}: writes are refused so that nothing more is acknowledged and then lost; restart flashpick (systemctl restart flashpick) and restore the database if it is gone (flashpick doctor)"
            ));
        }
        h.refusing.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Why writes are refused, if they are.
    pub fn refusing_writes(&self) -> Option<String> {
        self.inner.health.refusal()
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The store's clock: what its rows are stamped with, and what schedules their delivery.
    pub fn clock(&self) -> &Clock {
        &self.inner.options.clock
    }

    /// Committed changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StoreEvent> {
        self.inner.events.subscribe()
    }

    /// Runs `f` on a reader connection (never the writer's), inside one read transaction so that
    /// everything it reads comes from the same commit. Blocking: call from a blocking context.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.inner.readers.lock().expect("reader pool").pop();
        let conn = match conn {
            Some(c) => c,
            None => self.open_reader()?,
        };
        let out = conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(StoreError::from)
            .and_then(|()| f(&conn));
        // Always end the snapshot, or the connection would pin old pages and stop checkpoints.
        let ended = conn.execute_batch("ROLLBACK");
        if ended.is_ok() && conn.is_autocommit() {
            self.inner.readers.lock().expect("reader pool").push(conn);
        }
        out
    }

    /// Like [`Store::read`], from async code: runs on the blocking pool.
    pub async fn read_async<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read(f))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        // Never `CREATE`: a read after the file was deleted must fail, not make a new empty
        // database at the path that a restart would then take for the store.
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.inner.path, flags).map_err(|cause| {
            StoreError::Open {
                path: self.inner.path.clone(),
                cause,
            }
        })?;
        schema::configure(&conn)?;
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(conn)
    }
}

impl Store {
    /// Stops the writer after the commands already queued, and waits for it. Later calls fail
    /// with [`StoreError::Closed`]. Blocking.
    pub fn close(&self) {
        let _ = self.inner.commands.blocking_send(Command::Shutdown);
        if let Some(handle) = self.inner.writer.lock().expect("writer handle").take() {
            let _ = handle.join();
        }
        self.close_readers();
    }

    /// Closes the pooled reader connections, so that once the last connection is gone SQLite
    /// checkpoints and removes its `-wal` and `-shm` files (a failed start left them behind).
    fn close_readers(&self) {
        self.inner.readers.lock().expect("reader pool").clear();
    }

    /// [`Store::close`] from async code.
    pub async fn close_async(&self) {
        let _ = self.inner.commands.send(Command::Shutdown).await;
        let handle = self.inner.writer.lock().expect("writer handle").take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        self.close_readers();
    }
}
