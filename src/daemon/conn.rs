//! One task per socket client: hello first, then requests answered in order, with subscribed
//! events interleaved. A bad line gets an error reply; nothing a client sends stops the daemon.

use super::Shared;
use super::metrics::{Door, Metrics};
use super::views::{load_view, order_views};
use crate::api::CatalogRow;
use crate::api::{
    ApiError, Event, EventLine, Hello, HelloLine, ImportedReply, LookupReply, MAX_LINE, OrderReply,
    OrdersReply, PROTOCOL, QueuedReply, ReplyLine, Request, RequestLine, Response, StagedReply,
    StockReply, SubscribedReply, Topic,
};
use crate::model::{CancelSource, OrderEvent, OrderId, ShortReason, SkuCode};
use crate::store::{self, StockOp, StockOpKind, StoreError};
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
    topics: HashSet<Topic>,
    events: Option<broadcast::Receiver<Event>>,
    /// Catalog rows sent by `catalog_stage`, waiting for `catalog_commit`.
    staged: Vec<CatalogRow>,
    /// Their size, as counted against the limits.
    staged_bytes: usize,
}

/// Most catalog rows one connection may stage: well above any store's assortment.
const MAX_STAGED: usize = 1_000_000;
/// Most bytes of catalog rows one connection may stage (100,000 items take about 25 MiB).
const MAX_STAGED_BYTES: usize = 64 << 20;
/// Most bytes of catalog rows staged on all connections together.
const MAX_STAGED_TOTAL: usize = 128 << 20;

/// What a staged row costs in memory, roughly: its texts and a fixed part.
fn row_bytes(r: &CatalogRow) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    std::mem::size_of::<CatalogRow>()
        + r.sku.0.len()
        + r.name.len()
        + opt(&r.name_en)
        + opt(&r.spec)
        + r.location.len()
        + opt(&r.plu)
        + r.barcodes.iter().map(|b| b.len() + 24).sum::<usize>()
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
        topics: HashSet::new(),
        events: None,
        staged: Vec::new(),
        staged_bytes: 0,
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
                c.reply(None, Err(bad_request(msg))).await
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
    c.unstage();
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

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError {
        code: "bad_request".into(),
        message: message.into(),
    }
}

fn api_error(e: StoreError, metrics: &Metrics) -> ApiError {
    let code = match &e {
        StoreError::NoSuchOrder(_) | StoreError::NoSuchSku(_) => "not_found",
        StoreError::Closed => "unavailable",
        e if e.is_refusal() => "refused",
        _ => {
            Metrics::inc(&metrics.store_errors);
            "internal"
        }
    };
    ApiError {
        code: code.into(),
        message: e.to_string(),
    }
}

impl Conn {
    /// Empties the staging area and gives its bytes back to the daemon's total.
    fn unstage(&mut self) {
        self.staged = Vec::new();
        self.shared
            .staged_bytes
            .fetch_sub(std::mem::take(&mut self.staged_bytes), Ordering::Relaxed);
    }

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
        let answer = HelloLine {
            hello: Hello {
                protocol: PROTOCOL,
                client: None,
                actor: None,
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
                    .reply(id, Err(bad_request(format!("not a valid request: {e}"))))
                    .await;
            }
        };
        // `deny_unknown_fields` does nothing under `flatten`: a misspelt field would be ignored
        // silently (a `reson` for a cancel, a `qtty` defaulting to 1). Refused, as the config does.
        if let Some(unknown) = unknown_field(line, &parsed.req) {
            Metrics::inc(&self.shared.metrics.malformed);
            return self.reply(Some(parsed.id), Err(bad_request(unknown))).await;
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

    async fn dispatch(&mut self, req: Request) -> Result<Response, ApiError> {
        let shared = self.shared.clone();
        let m = &shared.metrics;
        let store = &shared.store;
        let sla = shared.config.sla;
        let err = |e: StoreError| api_error(e, m);
        let actor = self.actor.clone();
        // The moment the views of this request are drawn at.
        let now = shared.clock.now();
        let order_event = |id: i64, event: OrderEvent, who: String| async move {
            let applied = store
                .apply(OrderId(id), event, &who, None)
                .await
                .map_err(err)?;
            let view = store
                .read_async(move |c| super::views::order_view(c, applied.order, &sla, now))
                .await
                .map_err(err)?;
            Ok(Response::Order(Box::new(OrderReply { order: view })))
        };
        match req {
            Request::ListOrders { all } => {
                let views = store
                    .read_async(move |c| {
                        order_views(c, store::list_orders(c, !all, 500)?, &sla, now)
                    })
                    .await
                    .map_err(err)?;
                Ok(Response::Orders(OrdersReply { orders: views }))
            }
            Request::GetOrder { order_id } => {
                let view = store
                    .read_async(move |c| load_view(c, OrderId(order_id), &sla, now))
                    .await
                    .map_err(err)?;
                Ok(Response::Order(Box::new(OrderReply { order: view })))
            }
            Request::AcceptOrder { order_id } => {
                order_event(order_id, OrderEvent::Accept, actor).await
            }
            Request::ClaimOrder {
                order_id,
                picker,
                take_over,
            } => {
                if picker.trim().is_empty() {
                    return Err(bad_request("picker must not be empty"));
                }
                if !take_over {
                    // The history records who claimed, for whom is the order's picker.
                    return order_event(order_id, OrderEvent::Claim { picker }, actor).await;
                }
                let applied = store
                    .take_over(OrderId(order_id), &picker, &actor)
                    .await
                    .map_err(err)?;
                let view = store
                    .read_async(move |c| super::views::order_view(c, applied.order, &sla, now))
                    .await
                    .map_err(err)?;
                Ok(Response::Order(Box::new(OrderReply { order: view })))
            }
            Request::ReleaseOrder { order_id } => {
                order_event(order_id, OrderEvent::Release, actor).await
            }
            Request::UndoPick {
                order_id,
                line_no,
                qty,
            } => order_event(order_id, OrderEvent::UndoPick { line: line_no, qty }, actor).await,
            Request::MarkShort {
                order_id,
                line_no,
                qty,
                reason,
            } => {
                let reason: ShortReason = reason.parse().map_err(bad_request)?;
                order_event(
                    order_id,
                    OrderEvent::Short {
                        line: line_no,
                        qty,
                        reason,
                    },
                    actor,
                )
                .await
            }
            Request::CompletePick { order_id } => {
                order_event(order_id, OrderEvent::CompletePick, actor).await
            }
            Request::Pack { order_id, bags } => {
                order_event(order_id, OrderEvent::Pack { bags }, actor).await
            }
            Request::HandOver { order_id } => {
                order_event(order_id, OrderEvent::HandOver, actor).await
            }
            Request::CancelOrder { order_id, reason } => {
                let ev = OrderEvent::Cancel {
                    by: CancelSource::Store,
                    reason,
                };
                order_event(order_id, ev, actor).await
            }
            Request::ConfirmReturn { order_id } => {
                order_event(order_id, OrderEvent::ConfirmReturn, actor).await
            }
            Request::RecordScan {
                order_id,
                code,
                scanner,
            } => {
                let reply = self
                    .scan(OrderId(order_id), code, scanner)
                    .await
                    .map_err(err)?;
                Ok(Response::Scan(Box::new(reply)))
            }
            Request::StockLookup { query } => {
                let items = store
                    .read_async(move |c| store::lookup_skus(c, &query, 50))
                    .await
                    .map_err(err)?;
                let items = items.into_iter().map(Into::into).collect();
                Ok(Response::Lookup(LookupReply { items }))
            }
            Request::StockReceive { code, qty } => self
                .stock(code, StockOpKind::Receive(qty), None)
                .await
                .map_err(err),
            Request::StockCount {
                code,
                counted,
                reason,
            } => self
                .stock(code, StockOpKind::Count(counted), reason)
                .await
                .map_err(err),
            Request::StockAdjust {
                code,
                delta,
                reason,
            } => {
                if reason.trim().is_empty() {
                    return Err(bad_request("an adjustment needs a reason"));
                }
                self.stock(code, StockOpKind::Adjust(delta), Some(reason))
                    .await
                    .map_err(err)
            }
            Request::CatalogStage { rows } => {
                let bytes: usize = rows.iter().map(row_bytes).sum();
                // Counted first, then checked: two clients staging at once cannot both slip
                // under the bound.
                let total = shared.staged_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
                self.staged_bytes += bytes;
                let refusal = if self.staged.len() + rows.len() > MAX_STAGED {
                    Some(format!("more than {MAX_STAGED} catalog rows"))
                } else if self.staged_bytes > MAX_STAGED_BYTES {
                    Some(format!(
                        "more than {} MiB of catalog rows on one connection",
                        MAX_STAGED_BYTES >> 20
                    ))
                } else if total > MAX_STAGED_TOTAL {
                    Some(format!(
                        "more than {} MiB of catalog rows staged by all clients together (another import is running?)",
                        MAX_STAGED_TOTAL >> 20
                    ))
                } else {
                    None
                };
                if let Some(what) = refusal {
                    self.unstage();
                    return Err(bad_request(format!(
                        "{what} staged; the staging area was emptied: split the catalog into smaller files"
                    )));
                }
                self.staged.extend(rows);
                Ok(Response::Staged(StagedReply {
                    staged: self.staged.len(),
                }))
            }
            Request::CatalogCommit => {
                // The rows stay counted until the writer is done with them.
                let rows = std::mem::take(&mut self.staged)
                    .into_iter()
                    .map(Into::into)
                    .collect();
                let imported = store.import_catalog(rows).await;
                self.unstage();
                let n = imported.map_err(err)?;
                Ok(Response::Imported(ImportedReply { imported: n }))
            }
            Request::StockResync => {
                store.full_stock_sync().await.map_err(err)?;
                Ok(Response::Queued(QueuedReply { queued: true }))
            }
            Request::Status => {
                let s = super::status(&shared).await.map_err(err)?;
                Ok(Response::Status(Box::new(s)))
            }
            Request::Subscribe { topics } => {
                self.set_topics(if topics.is_empty() {
                    Topic::ALL.into_iter().collect()
                } else {
                    topics.into_iter().collect()
                });
                if self.events.is_none() {
                    self.events = Some(shared.events.subscribe());
                }
                let mut list: Vec<Topic> = self.topics.iter().copied().collect();
                list.sort_by_key(|t| Topic::ALL.iter().position(|x| x == t));
                Ok(Response::Subscribed(SubscribedReply { subscribed: list }))
            }
        }
    }

    async fn stock(
        &self,
        code: String,
        kind: StockOpKind,
        reason: Option<String>,
    ) -> Result<Response, StoreError> {
        let store = &self.shared.store;
        let lookup = code.clone();
        let sku = store
            .read_async(move |c| store::sku_by_code(c, &lookup))
            .await?
            .ok_or(StoreError::NoSuchSku(SkuCode(code)))?;
        let figures = store
            .stock(StockOp {
                sku: sku.clone(),
                kind,
                actor: self.actor.clone(),
                reason,
            })
            .await?;
        Ok(Response::Stock(StockReply {
            sku,
            on_hand: figures.on_hand,
            reserved: figures.reserved,
        }))
    }

    async fn scan(
        &self,
        order_id: OrderId,
        code: String,
        scanner: Option<String>,
    ) -> Result<crate::api::ScanReply, StoreError> {
        super::scanning::scan_into(&self.shared, order_id, code, scanner, self.actor.clone()).await
    }
}
