//! The writer thread: the only owner of the write connection. Writes arrive in order over a
//! channel as closures over the transaction; each runs in its own `BEGIN IMMEDIATE` transaction,
//! and its events are broadcast only after the commit succeeded (and after the caller has its
//! answer).

use super::write;
use super::{StoreError, StoreEvent, StoreOptions};
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

/// What the writer is asked to do.
pub(super) enum Command {
    /// One write: a closure run in its own transaction (see [`job`]).
    Write(Job),
    /// Answers once every command queued before it is done: proves the writer is alive.
    Ping(Reply<()>),
    /// Finish what is queued before this, then stop.
    Shutdown,
}

/// A write with its answer, its result type erased so that every write travels the one queue.
pub(super) type Job = Box<dyn FnOnce(&mut Connection, &Writer<'_>) + Send>;

/// The command that runs `f` in one immediate transaction and answers `reply`. A new write is a
/// `write::` function plus the `Store` method that calls this; the writer itself never changes.
pub(super) fn job<T: Send + 'static>(
    f: impl FnOnce(&Transaction<'_>, &StoreOptions) -> write::Out<T> + Send + 'static,
    reply: Reply<T>,
) -> Command {
    Command::Write(Box::new(move |conn, w| {
        w.run(conn, reply, |tx| f(tx, w.options))
    }))
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
        options: &options,
    };
    // One command at a time, in the order they were queued: the single writer is what makes
    // "committed before answered before broadcast" hold for every write.
    while let Some(cmd) = rx.blocking_recv() {
        match cmd {
            Command::Shutdown => break,
            Command::Ping(reply) => reply.send(Ok(())),
            Command::Write(job) => job(&mut conn, &w),
        }
    }
    // Dropping `rx` here makes every later send fail with `Closed`; queued commands after the
    // shutdown marker are dropped, so their callers see `Closed` too.
    tracing::debug!("store writer stopped");
}

/// What every write runs with on the writer thread.
pub(super) struct Writer<'a> {
    events: &'a broadcast::Sender<StoreEvent>,
    health: &'a super::Health,
    options: &'a StoreOptions,
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
