//! The webhook port's accept loop: the one door the internet reaches. It must answer a real push
//! within the platform's 3 s while thousands of peers hold connections open and trickle bytes.
//!
//! - Connections are capped (sized from the descriptor limit, so accepting never runs out of
//!   descriptors); at the cap, the oldest connection not in the middle of a request — still
//!   sending its headers, idle between requests, or in a request for more than a second (a peer
//!   trickling its body) — is closed to make room. A real push is a new connection that sends
//!   its request at once and is answered in milliseconds, so it always gets in.
//! - Headers must arrive within [`HEADER_TIMEOUT`] (hyper's timer), bodies within the receiver's
//!   own deadline.
//! - An accept error (descriptors exhausted elsewhere) backs off instead of spinning, and is
//!   logged once per interval with a count.
//!
//! Behind the store's reverse proxy every peer has the proxy's address: limits per address would
//! throttle the platforms with the attackers, so there are none.

use super::Shared;
use super::metrics::Door;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// How long a peer may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connections may finish their request once the daemon stops.
const DRAIN: Duration = Duration::from_secs(2);

/// One open connection, as the accept loop sees it.
struct Entry {
    /// While a request is being answered: when it began (ms since the loop started, +1), else 0.
    busy: Arc<AtomicU64>,
    /// Closes the connection.
    close: Arc<Notify>,
    /// What `busy` counts from.
    epoch: std::time::Instant,
    /// When it was accepted (on the same count as `busy`).
    opened: u64,
}

/// After a failed accept (out of descriptors, most likely): 5 ms, doubling, up to a second.
pub(super) const ACCEPT_RETRY: crate::backoff::Backoff =
    crate::backoff::Backoff::new(Duration::from_millis(5), Duration::from_secs(1));

/// Failed accepts, logged once per interval.
static ACCEPT_LOG: crate::throttle::Throttle =
    crate::throttle::Throttle::new(Duration::from_secs(10));

/// Serves `router` on `listener` with at most `max_conns` connections, until `shutdown`.
pub(super) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    max_conns: usize,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let metrics = &shared.metrics;
    let door = Door::Webhook as usize;
    let open: Arc<Mutex<BTreeMap<u64, Entry>>> = Default::default();
    let epoch = std::time::Instant::now();
    // One permit per connection, given back only once its socket is closed: an evicted peer's
    // descriptor is free before the new one is served, so the cap holds for descriptors too.
    let permits = Arc::new(tokio::sync::Semaphore::new(max_conns));
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    let mut retry = crate::backoff::Retry::new(ACCEPT_RETRY);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            a = listener.accept() => a,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                retry.reset();
                stream
            }
            Err(e) => {
                metrics.accept_errors[door].fetch_add(1, Ordering::Relaxed);
                if let Some(held) = ACCEPT_LOG.check() {
                    tracing::warn!(error = %e, more_since_last_line = held, "webhook port: accept failed; backing off");
                }
                // Never spin: the next accept would fail the same way at once.
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = tokio::time::sleep(retry.next_wait()) => {}
                }
                continue;
            }
        };
        let Some(permit) = room(&open, &permits, &metrics.evicted[door]).await else {
            // Every connection is answering a request: this one is turned away; the platform
            // retries.
            metrics.turned_away[door].fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let id = next_id;
        next_id += 1;
        let busy = Arc::new(AtomicU64::new(0));
        let close = Arc::new(Notify::new());
        open.lock().expect("door").insert(
            id,
            Entry {
                busy: busy.clone(),
                close: close.clone(),
                epoch,
                opened: elapsed_ms(epoch),
            },
        );
        metrics.webhook_connections.fetch_add(1, Ordering::Relaxed);
        let service = Tracked {
            inner: TowerToHyperService::new(router.clone()),
            busy,
            epoch,
        };
        let open = open.clone();
        let mut stop = shutdown.clone();
        tasks.spawn(async move {
            let _ = stream.set_nodelay(true);
            {
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .max_buf_size(64 * 1024)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = close.notified() => {}
                    _ = stop.changed() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(DRAIN, conn.as_mut()).await;
                    }
                }
                // The connection, and its socket, end here: before the permit goes back.
            }
            open.lock().expect("door").remove(&id);
            drop(permit);
        });
    }
    drop(listener);
    for entry in open.lock().expect("door").values() {
        if entry.busy.load(Ordering::Acquire) == 0 {
            entry.close.notify_one();
        }
    }
    let _ = tokio::time::timeout(DRAIN + Duration::from_millis(500), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
}

/// A permit for one more connection: at once below the cap; at it, after closing the oldest
/// connection not answering a request (and waiting for its socket to close). `None` when every
/// connection is answering one.
pub(super) async fn room<E: Idle>(
    open: &Mutex<BTreeMap<u64, E>>,
    permits: &Arc<tokio::sync::Semaphore>,
    evicted: &std::sync::atomic::AtomicU64,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if let Ok(p) = permits.clone().try_acquire_owned() {
        return Some(p);
    }
    {
        let mut open = open.lock().expect("connections");
        let oldest_idle = open.iter().find(|(_, e)| e.idle()).map(|(id, _)| *id)?;
        if let Some(e) = open.remove(&oldest_idle) {
            e.close();
        }
    }
    evicted.fetch_add(1, Ordering::Relaxed);
    tokio::time::timeout(Duration::from_secs(1), permits.clone().acquire_owned())
        .await
        .ok()?
        .ok()
}

/// A connection the accept loop may close to make room.
pub(super) trait Idle {
    /// Whether it may be closed now (not in the middle of a request).
    fn idle(&self) -> bool;
    /// Closes it.
    fn close(&self);
}

/// How long a request may take before its connection counts as idle again: a real push is
/// answered in milliseconds; a peer that sent its headers and trickles its body is not working.
const BUSY_AT_MOST: Duration = Duration::from_secs(1);

/// How long a new connection has to start its request before it may be closed to make room: a
/// platform's push arrives whole within milliseconds of the connect, so under a flood it is
/// never the one closed for the next flooder (seen once on a loaded machine).
const FRESH_FOR: Duration = Duration::from_secs(1);

impl Idle for Entry {
    fn idle(&self) -> bool {
        let now = elapsed_ms(self.epoch);
        match self.busy.load(Ordering::Acquire) {
            0 => now.saturating_sub(self.opened) > FRESH_FOR.as_millis() as u64,
            began => now.saturating_sub(began) > BUSY_AT_MOST.as_millis() as u64,
        }
    }
    fn close(&self) {
        self.close.notify_one();
    }
}

/// The router as a hyper service that marks its connection busy while a request is answered.
struct Tracked {
    inner: TowerToHyperService<axum::Router>,
    busy: Arc<AtomicU64>,
    epoch: std::time::Instant,
}

/// Milliseconds since `epoch`, plus one (0 means "not busy").
fn elapsed_ms(epoch: std::time::Instant) -> u64 {
    epoch.elapsed().as_millis() as u64 + 1
}

/// Clears the busy mark when the request is done (or its connection dropped).
struct Busy(Arc<AtomicU64>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for Tracked {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        self.busy.store(elapsed_ms(self.epoch), Ordering::Release);
        let guard = Busy(self.busy.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let answer = fut.await;
            drop(guard);
            answer
        })
    }
}

/// How many descriptors the daemon may spend on connections, from the soft limit: some are kept
/// for the database, scanners, outgoing calls and the broker. Returns (webhook connections,
/// socket clients).
pub fn budgets() -> (usize, usize) {
    let soft = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024);
    budgets_for(soft)
}

fn budgets_for(soft: u64) -> (usize, usize) {
    let spare = soft.saturating_sub(64).max(32) as usize;
    ((spare * 3 / 4).clamp(16, 4096), (spare / 8).clamp(8, 512))
}

/// Raises the soft descriptor limit to the hard one (systemd's `LimitNOFILE=`, or the shell's);
/// returns the soft limit in force. 1,024 descriptors is the default and too few for a webhook
/// port facing the internet.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(s, _)| s)
                .unwrap_or(1024)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn budgets_leave_descriptors_for_the_rest_and_grow_with_the_limit() {
        let (web, sock) = super::budgets_for(256);
        assert_eq!((web, sock), (144, 24));
        assert!(web + sock + 64 <= 256);
        assert_eq!(super::budgets_for(1024), (720, 120));
        assert_eq!(super::budgets_for(65536), (4096, 512));
        assert_eq!(super::budgets_for(10), (24, 8));
    }
}
