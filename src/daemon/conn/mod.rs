//! One task per socket client: hello first, then requests answered in order, with subscribed
//! events interleaved. A bad line gets an error reply; nothing a client sends stops the daemon.
//!
//! Each request is routed (dispatch.rs) to a typed handler that answers with its own reply type:
//! orders (orders.rs), stock (stock.rs), the catalog's staging area (catalog.rs).

mod catalog;
mod dispatch;
mod open;
pub(crate) mod orders;
mod pickup;
mod report;
mod requests;
mod stock;

use super::Shared;
use super::metrics::{Door, Metrics};
use crate::api::{
    ApiError, Event, EventLine, Hello, HelloLine, MAX_LINE, PROTOCOL, ReplyLine, Request,
    RequestLine, Topic,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;

/// How long a new client may take to say hello.
const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Failed accepts, logged once per interval.
static ACCEPT_LOG: crate::throttle::Throttle =
    crate::throttle::Throttle::new(std::time::Duration::from_secs(10));

/// One client, as the accept loop sees it.
struct Entry {
    greeted: Arc<AtomicBool>,
    close: Arc<tokio::sync::Notify>,
}

pub(super) async fn accept_loop(
    listener: UnixListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (_, max_clients) = super::door::budgets();
    let door = Door::Socket as usize;
    let open: Arc<std::sync::Mutex<BTreeMap<u64, Entry>>> = Default::default();
    let permits = Arc::new(tokio::sync::Semaphore::new(max_clients));
    let mut conns = JoinSet::new();
    let mut next_id = 0u64;
    let mut retry = crate::backoff::Retry::new(super::door::ACCEPT_RETRY);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
            // Reap finished connections so the set does not grow all shift.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                retry.reset();
                stream
            }
            Err(e) => {
                Metrics::inc(&shared.metrics.accept_errors[door]);
                if let Some(held) = ACCEPT_LOG.check() {
                    tracing::warn!(error = %e, more_since_last_line = held, "socket: accept failed; backing off");
                }
                // Never spin: the next accept would fail the same way at once.
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = tokio::time::sleep(retry.next_wait()) => {}
                }
                continue;
            }
        };
        let Some(permit) = super::door::room(&open, &permits, &shared.metrics.evicted[door]).await
        else {
            // Every client said hello (screens, scripts): the newest is told why and closed.
            Metrics::inc(&shared.metrics.turned_away[door]);
            conns.spawn(turn_away(stream, max_clients));
            continue;
        };
        let id = next_id;
        next_id += 1;
        let entry = Entry {
            greeted: Arc::new(AtomicBool::new(false)),
            close: Arc::new(tokio::sync::Notify::new()),
        };
        let (greeted, close) = (entry.greeted.clone(), entry.close.clone());
        open.lock().expect("clients").insert(id, entry);
        let (shared, stop, open) = (shared.clone(), shutdown.clone(), open.clone());
        conns.spawn(async move {
            serve(stream, shared, stop, greeted, close).await;
            open.lock().expect("clients").remove(&id);
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(super::DRAIN, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
}

impl super::door::Idle for Entry {
    fn idle(&self) -> bool {
        !self.greeted.load(Ordering::Acquire)
    }
    fn close(&self) {
        self.close.notify_one();
    }
}

/// Tells a client over the cap why it is closed, without waiting on it for long.
async fn turn_away(mut stream: UnixStream, max: usize) {
    let line = serde_json::to_string(&ReplyLine {
        id: None,
        ok: None,
        error: Some(ApiError {
            code: "busy".into(),
            message: format!(
                "the daemon already serves {max} clients; close screens or scripts that are not in use"
            ),
        }),
    })
    .expect("serialises")
        + "\n";
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        stream.write_all(line.as_bytes()),
    )
    .await;
}

struct Conn {
    shared: Arc<Shared>,
    writer: OwnedWriteHalf,
    actor: String,
    station: Option<String>,
    topics: HashSet<Topic>,
    events: Option<broadcast::Receiver<Event>>,
    /// Catalog rows sent by `catalog_stage`, waiting for `catalog_commit`.
    staging: catalog::Staging,
}

async fn serve(
    stream: UnixStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    said_hello: Arc<AtomicBool>,
    evict: Arc<tokio::sync::Notify>,
) {
    shared.metrics.clients.fetch_add(1, Ordering::Relaxed);
    let hello_by = tokio::time::Instant::now() + HELLO_TIMEOUT;
    let (r, w) = stream.into_split();
    // Lines are read by their own task: reading inside the select below would not be cancel-safe
    // (an event winning the race could drop half a line). Bounded, so a client that floods
    // requests waits for its answers instead of queueing without limit.
    let (line_tx, mut lines) = mpsc::channel(4);
    let reader = tokio::spawn(read_lines(BufReader::new(r), line_tx));
    let mut c = Conn {
        shared: shared.clone(),
        writer: w,
        actor: "station".into(),
        station: None,
        topics: HashSet::new(),
        events: None,
        staging: catalog::Staging::default(),
    };
    let mut greeted = false;
    loop {
        let input = tokio::select! {
            _ = shutdown.changed() => break,
            line = lines.recv() => Input::Line(line),
            ev = recv(c.events.as_mut()) => Input::Event(Box::new(ev)),
            _ = tokio::time::sleep_until(hello_by), if !greeted => Input::HelloLate,
            // Counted by the accept loop that chose this client.
            _ = evict.notified() => break,
        };
        let keep = match input {
            Input::Line(Some(Ok(line))) if greeted => c.request(&line).await,
            Input::Line(Some(Ok(line))) => {
                let (ok, keep) = c.hello(&line).await;
                greeted = ok;
                said_hello.store(ok, Ordering::Release);
                keep
            }
            Input::HelloLate => {
                Metrics::inc(&shared.metrics.malformed);
                let e = ApiError {
                    code: "protocol".into(),
                    message: format!("no hello within {} s; closing", HELLO_TIMEOUT.as_secs()),
                };
                c.reply(None, Err(e)).await;
                false
            }
            Input::Line(Some(Err(LineError::TooLong))) => {
                Metrics::inc(&shared.metrics.malformed);
                let msg = format!("line longer than {MAX_LINE} bytes");
                c.reply(None, Err(dispatch::bad_request(msg))).await
            }
            Input::Line(Some(Err(LineError::Io)) | None) => false,
            Input::Event(ev) => c.forward(*ev).await,
        };
        if !keep {
            break;
        }
    }
    reader.abort();
    // The read half lives in the reader task: the socket is closed once that task is gone.
    let _ = reader.await;
    c.staging.clear(&shared);
    c.set_topics(HashSet::new());
    shared.metrics.clients.fetch_sub(1, Ordering::Relaxed);
}

enum Input {
    Line(Option<Result<String, LineError>>),
    HelloLate,
    Event(Box<Result<Event, broadcast::error::RecvError>>),
}

async fn read_lines(
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    tx: mpsc::Sender<Result<String, LineError>>,
) {
    let mut buf = Vec::new();
    loop {
        let line = match read_line(&mut reader, &mut buf).await {
            Ok(Some(line)) => Ok(line),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        let stop = matches!(line, Err(LineError::Io));
        if tx.send(line).await.is_err() || stop {
            return;
        }
    }
}

async fn recv(
    rx: Option<&mut broadcast::Receiver<Event>>,
) -> Result<Event, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

enum LineError {
    TooLong,
    Io,
}

/// Reads one line of at most `MAX_LINE` bytes; an over-long line is skipped to its end.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> Result<Option<String>, LineError> {
    buf.clear();
    let n = (&mut *reader)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)
        .await
        .map_err(|_| LineError::Io)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE {
        let mut sink = Vec::new();
        loop {
            sink.clear();
            let n = (&mut *reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut sink)
                .await
                .map_err(|_| LineError::Io)?;
            if n == 0 || sink.last() == Some(&b'\n') {
                break;
            }
        }
        return Err(LineError::TooLong);
    }
    Ok(Some(String::from_utf8_lossy(buf).trim().to_string()))
}

/// A field of `line` that its request does not have, said with the fields it does have.
fn unknown_field(line: &str, req: &Request) -> Option<String> {
    let Ok(Value::Object(sent)) = serde_json::from_str::<Value>(line) else {
        return None;
    };
    let Ok(Value::Object(known)) = serde_json::to_value(req) else {
        return None;
    };
    let extra = sent
        .keys()
        .find(|k| *k != "id" && !known.contains_key(k.as_str()))?;
    let mut fields: Vec<&str> = known
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "req")
        .collect();
    fields.sort_unstable();
    Some(format!(
        "unknown field `{extra}` in a `{}` request; its fields: {}",
        known.get("req").and_then(Value::as_str).unwrap_or("?"),
        if fields.is_empty() {
            "none".to_string()
        } else {
            fields.join(", ")
        }
    ))
}

impl Conn {
    /// Replaces this connection's topics, keeping the daemon's per-topic counts right.
    fn set_topics(&mut self, topics: HashSet<Topic>) {
        for t in self.topics.difference(&topics) {
            self.shared.topic_subs[super::topic_index(*t)].fetch_sub(1, Ordering::Relaxed);
        }
        for t in topics.difference(&self.topics) {
            self.shared.topic_subs[super::topic_index(*t)].fetch_add(1, Ordering::Relaxed);
        }
        self.topics = topics;
    }

    async fn write(&mut self, line: String) -> bool {
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        self.writer.write_all(&bytes).await.is_ok()
    }

    async fn reply(&mut self, id: Option<u64>, result: Result<Value, ApiError>) -> bool {
        let m = &self.shared.metrics;
        let line = match result {
            Ok(v) => {
                Metrics::inc(&m.requests_ok);
                ReplyLine {
                    id,
                    ok: Some(v),
                    error: None,
                }
            }
            Err(e) => {
                if e.code != "bad_request" {
                    Metrics::inc(&m.requests_refused);
                }
                ReplyLine {
                    id,
                    ok: None,
                    error: Some(e),
                }
            }
        };
        self.write(serde_json::to_string(&line).expect("replies serialise"))
            .await
    }

    /// Handles the greeting; returns (greeted, keep the connection). A line that is not a hello
    /// is answered and the client may try again; a wrong protocol version closes.
    async fn hello(&mut self, line: &str) -> (bool, bool) {
        let hello = match serde_json::from_str::<HelloLine>(line) {
            Ok(h) => h.hello,
            Err(err) => {
                Metrics::inc(&self.shared.metrics.malformed);
                // A hello with a misspelt field says which, instead of only "say hello".
                let why = if line.contains("\"hello\"") {
                    format!(" ({err})")
                } else {
                    String::new()
                };
                let e = ApiError {
                    code: "protocol".into(),
                    message: format!(
                        "say hello first: {{\"hello\":{{\"protocol\":{PROTOCOL},\"client\":\"…\",\"actor\":\"…\"}}}}{why}"
                    ),
                };
                return (false, self.reply(None, Err(e)).await);
            }
        };
        if hello.protocol != PROTOCOL {
            let e = ApiError {
                code: "protocol".into(),
                message: format!(
                    "this daemon speaks protocol {PROTOCOL}, the client {}; install matching versions",
                    hello.protocol
                ),
            };
            self.reply(None, Err(e)).await;
            return (false, false);
        }
        if let Some(actor) = hello.actor.filter(|a| !a.trim().is_empty()) {
            self.actor = actor;
        }
        self.station = hello.station.filter(|s| !s.trim().is_empty());
        let answer = HelloLine {
            hello: Hello {
                protocol: PROTOCOL,
                client: None,
                actor: None,
                station: None,
                server: Some(format!("flashpick {}", env!("CARGO_PKG_VERSION"))),
                store_id: Some(self.shared.config.store.id.clone()),
            },
        };
        let written = self
            .write(serde_json::to_string(&answer).expect("hello serialises"))
            .await;
        (written, written)
    }

    /// Handles one request line; returns false when the connection should close.
    async fn request(&mut self, line: &str) -> bool {
        if line.is_empty() {
            return true;
        }
        let parsed: RequestLine = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                Metrics::inc(&self.shared.metrics.malformed);
                // Echo the id when the line has one, so the client can match the error.
                let id = serde_json::from_str::<Value>(line)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_u64));
                return self
                    .reply(
                        id,
                        Err(dispatch::bad_request(format!("not a valid request: {e}"))),
                    )
                    .await;
            }
        };
        // `deny_unknown_fields` does nothing under `flatten`: a misspelt field would be ignored
        // silently (a `reson` for a cancel, a `qtty` defaulting to 1). Refused, as the config does.
        if let Some(unknown) = unknown_field(line, &parsed.req) {
            Metrics::inc(&self.shared.metrics.malformed);
            return self
                .reply(Some(parsed.id), Err(dispatch::bad_request(unknown)))
                .await;
        }
        let subscribing = matches!(parsed.req, Request::Subscribe { .. });
        let result = self.dispatch(parsed.req).await.map(|r| r.to_value());
        let ok = result.is_ok();
        if !self.reply(Some(parsed.id), result).await {
            return false;
        }
        // A screen that subscribes after an alarm was raised still sees it: an alarm stands
        // until someone acts on it.
        if subscribing && ok && self.topics.contains(&Topic::Alerts) {
            for message in self.shared.alarms.list() {
                let event = Event::Alert {
                    level: "error".into(),
                    message,
                    order_id: None,
                };
                if !self.forward(Ok(event)).await {
                    return false;
                }
            }
            for notice in self.shared.notices.list() {
                let event = Event::Notice {
                    notice: Box::new(notice),
                };
                if !self.forward(Ok(event)).await {
                    return false;
                }
            }
        }
        true
    }

    async fn forward(&mut self, ev: Result<Event, broadcast::error::RecvError>) -> bool {
        let event = match ev {
            Ok(e) if self.topics.contains(&e.topic()) => e,
            Ok(_) => return true,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                Metrics::inc(&self.shared.metrics.lagged);
                Event::Resync {
                    reason: format!("{n} events were missed"),
                }
            }
            Err(broadcast::error::RecvError::Closed) => return false,
        };
        self.write(serde_json::to_string(&EventLine { event }).expect("events serialise"))
            .await
    }
}
