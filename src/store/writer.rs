//! The writer thread: the only owner of the write connection. Commands arrive in order over a
//! channel; each runs in its own `BEGIN IMMEDIATE` transaction, and its events are broadcast only
//! after the commit succeeded (and after the caller has its answer).

use super::write::{self, Applied, Ingested, NewOrder, ScanDone, ScanLog, ScanRequest, StockOp};
use super::{CatalogRow, StoreError, StoreEvent, StoreOptions};
use crate::model::{OrderEvent, OrderId, StockFigures};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Where a command's result goes. A command dropped unanswered (queued behind the shutdown
/// marker) answers `Closed` as it goes: nothing was written for it.
pub(super) struct Reply<T>(Option<To<T>>);

enum To<T> {
    /// A caller waiting for it.
    Wait(oneshot::Sender<Result<T, StoreError>>),
    /// A function run on the writer thread right after the commit, so no thread has to be woken
    /// to pass the result on (a scanner's reader does not wait for its scans). It must be quick
    /// and must not call the store (the writer would wait for itself).
    Then(Box<dyn FnOnce(Result<T, StoreError>) + Send>),
}

impl<T> Reply<T> {
    /// To a caller waiting on `tx`.
    pub(super) fn wait(tx: oneshot::Sender<Result<T, StoreError>>) -> Self {
        Reply(Some(To::Wait(tx)))
    }

    /// To `f`, on the writer thread.
    pub(super) fn then(f: impl FnOnce(Result<T, StoreError>) + Send + 'static) -> Self {
        Reply(Some(To::Then(Box::new(f))))
    }

    pub(super) fn send(mut self, result: Result<T, StoreError>) {
        match self.0.take() {
            // The caller may have given up waiting; the change stands either way.
            Some(To::Wait(tx)) => {
                let _ = tx.send(result);
            }
            // The change is committed whatever the answer does. In debug and test builds a
            // panic in the answer is caught here and logged; release builds abort on panic
            // (`panic = "abort"`), so there the daemon ends and systemd restarts it with the
            // change on disk: nothing is lost either way, only the answer.
            Some(To::Then(f)) => {
                let answered =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || f(result)));
                if answered.is_err() {
                    tracing::error!("answering a committed write panicked; the write stands");
                }
            }
            None => {}
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        match self.0.take() {
            Some(To::Then(f)) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                    f(Err(StoreError::Closed))
                }));
            }
            // A waiting caller sees its channel close: `Closed` too.
            Some(To::Wait(_)) | None => {}
        }
    }
}

/// A typed request to the writer.
pub(super) enum Command {
    Ingest {
        source: String,
        message_id: String,
        order: NewOrder,
        reply: Reply<Ingested>,
    },
    Apply {
        order: OrderId,
        event: OrderEvent,
        actor: String,
        scan: Option<ScanLog>,
        reply: Reply<Applied>,
    },
    Stock {
        op: StockOp,
        reply: Reply<StockFigures>,
    },
    Scan {
        req: ScanRequest,
        reply: Reply<ScanDone>,
    },
    LogScan {
        scan: ScanLog,
        reply: Reply<()>,
    },
    ImportCatalog {
        rows: Vec<CatalogRow>,
        reply: Reply<usize>,
    },
    BindScanner {
        scanner: String,
        picker: String,
        reply: Reply<()>,
    },
    Settle {
        rows: Vec<(i64, String)>,
        settle: super::Settle,
        reply: Reply<usize>,
    },
    EnqueueFetch {
        source: String,
        message_id: String,
        platform: crate::model::Platform,
        external_id: String,
        reply: Reply<bool>,
    },
    SetSyncState {
        key: String,
        value: String,
        reply: Reply<()>,
    },
    FullStockSync {
        reply: Reply<()>,
    },
    CatalogDelta {
        delta: write::CatalogDelta,
        reply: Reply<write::DeltaOutcome>,
    },
    HqNote {
        about: Option<(String, String)>,
        rejection: write::Rejection,
        reply: Reply<bool>,
    },
    TakeOver {
        order: OrderId,
        picker: String,
        actor: String,
        reply: Reply<Applied>,
    },
    ReleaseIdle {
        order: OrderId,
        idle_since: crate::model::Timestamp,
        reply: Reply<Option<Applied>>,
    },
    RefuseMessage {
        source: String,
        message_id: String,
        reason: String,
        reply: Reply<bool>,
    },
    /// Answers once every command queued before it is done: proves the writer is alive.
    Ping {
        reply: Reply<()>,
    },
    /// Finish what is queued before this, then stop.
    Shutdown,
}

pub(super) fn spawn(
    conn: Connection,
    rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<StoreEvent>,
    options: StoreOptions,
    health: std::sync::Arc<super::Health>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || run(conn, rx, events, options, health))
        .map_err(|e| StoreError::BadOrder(format!("cannot start the writer thread: {e}")))
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<StoreEvent>,
    options: StoreOptions,
    health: std::sync::Arc<super::Health>,
) {
    let w = Writer {
        events: &events,
        health: &health,
    };
    while let Some(cmd) = rx.blocking_recv() {
        match cmd {
            Command::Shutdown => break,
            Command::Ping { reply } => {
                reply.send(Ok(()));
            }
            Command::Ingest {
                source,
                message_id,
                order,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                write::ingest(tx, &options, &source, &message_id, order)
            }),
            Command::Apply {
                order,
                event,
                actor,
                scan,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                write::apply(tx, &options, order, &event, &actor, scan)
            }),
            Command::Stock { op, reply } => {
                w.run(&mut conn, reply, |tx| write::stock(tx, &options, op))
            }
            Command::BindScanner {
                scanner,
                picker,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                tx.prepare_cached(
                    "INSERT INTO scanner_binding (scanner, picker, bound_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (scanner) DO UPDATE SET picker = excluded.picker,
                         bound_at = excluded.bound_at",
                )?
                .execute(rusqlite::params![
                    scanner,
                    picker,
                    options.clock.now().0
                ])?;
                Ok(((), vec![]))
            }),
            Command::Settle {
                rows,
                settle,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                super::outbox::settle(tx, &rows, &settle, options.clock.now())
            }),
            Command::EnqueueFetch {
                source,
                message_id,
                platform,
                external_id,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                super::outbox::enqueue_fetch(
                    tx,
                    &source,
                    &message_id,
                    platform,
                    &external_id,
                    options.clock.now(),
                )
            }),
            Command::FullStockSync { reply } => w.run(&mut conn, reply, |tx| {
                write::queue_full_stock_sync(tx, &options, options.clock.now())?;
                Ok(((), vec![StoreEvent::OutboxChanged]))
            }),
            Command::CatalogDelta { delta, reply } => w.run(&mut conn, reply, |tx| {
                write::catalog_delta(tx, &options, &delta)
            }),
            Command::HqNote {
                about,
                rejection,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                let about = about.as_ref().map(|(s, m)| (s.as_str(), m.as_str()));
                write::hq_note(tx, about, rejection.clone(), options.clock.now())
            }),
            Command::TakeOver {
                order,
                picker,
                actor,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                write::take_over(tx, &options, order, &picker, &actor)
            }),
            Command::ReleaseIdle {
                order,
                idle_since,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                write::release_idle(tx, &options, order, idle_since)
            }),
            Command::RefuseMessage {
                source,
                message_id,
                reason,
                reply,
            } => w.run(&mut conn, reply, |tx| {
                let fresh =
                    tx.prepare_cached(
                        "INSERT INTO inbox (source, message_id, received_at, refused)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    )?
                    .execute(rusqlite::params![
                        source,
                        message_id,
                        options.clock.now().0,
                        reason
                    ])? == 1;
                Ok((fresh, vec![]))
            }),
            Command::SetSyncState { key, value, reply } => w.run(&mut conn, reply, |tx| {
                super::outbox::set_sync_state(tx, &key, &value)
            }),
            Command::Scan { req, reply } => {
                w.run(&mut conn, reply, |tx| write::scan(tx, &options, req))
            }
            Command::LogScan { scan, reply } => w.run(&mut conn, reply, |tx| {
                write::log_scan(tx, &scan)?;
                Ok(((), vec![]))
            }),
            Command::ImportCatalog { rows, reply } => w.run(&mut conn, reply, |tx| {
                write::import_catalog(tx, &options, &rows)
            }),
        }
    }
    // Dropping `rx` here makes every later send fail with `Closed`; queued commands after the
    // shutdown marker are dropped, so their callers see `Closed` too.
    tracing::debug!("store writer stopped");
}

struct Writer<'a> {
    events: &'a broadcast::Sender<StoreEvent>,
    health: &'a super::Health,
}

impl Writer<'_> {
    /// Runs `f` in one immediate transaction; commits, then answers the caller, then broadcasts.
    fn run<T>(
        &self,
        conn: &mut Connection,
        reply: Reply<T>,
        f: impl FnOnce(&Transaction<'_>) -> Result<(T, Vec<StoreEvent>), StoreError>,
    ) {
        // In debug and test builds a bug that panics inside one command is caught here: the open
        // transaction rolls back as it unwinds, the caller gets an error, the writer carries on.
        // Release builds abort on panic (`panic = "abort"`: a half-run command is not trusted
        // to leave memory sane), so there nothing is caught: the process ends with the
        // transaction uncommitted (SQLite discards it) and systemd restarts the daemon. Either
        // way no partial write exists.
        if let Some(reason) = self.health.refusal() {
            reply.send(Err(StoreError::Unusable(reason)));
            return;
        }
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (value, events) = f(&tx)?;
            tx.commit()?;
            Ok((value, events))
        }));
        let result: Result<(T, Vec<StoreEvent>), StoreError> = attempt.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(StoreError::Bug(what.to_string()))
        });
        let (result, events) = match result {
            Ok((value, events)) => (Ok(value), events),
            Err(e) => (Err(e), Vec::new()),
        };
        if let Err(e) = &result
            && !e.is_refusal()
        {
            tracing::error!(error = %e, "store write failed; rolled back");
        }
        // The caller first: it is waiting, while the subscribers' work (views, outbox workers)
        // is background that would otherwise be woken in front of it.
        reply.send(result);
        for e in events {
            // No subscriber is fine: the daemon may not be listening (CLI, benchmarks).
            let _ = self.events.send(e);
        }
    }
}
