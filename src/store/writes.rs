//! The store's writes: each is its `write::` function run on the writer thread (see
//! [`Store::write`]). A new write is one function in `write` and one method here.

use super::requests;
use super::write::{self, Out};
use super::writer::{self, Command, Reply};
use super::{
    Applied, CatalogDelta, CatalogRow, DeltaOutcome, Ingested, NewOrder, Rejection, ScanDone,
    ScanLog, ScanRequest, Settle, StockOp, Store, StoreError, StoreEvent, StoreOptions, outbox,
};
use crate::model::request::{CustomerRequest, NewRequest, RequestKind, RequestState};
use crate::model::{OrderEvent, OrderId, Platform};
use tokio::sync::oneshot;

impl Store {
    /// Applies an order event, with the scan that caused it (logged in the same transaction).
    pub async fn apply(
        &self,
        order: OrderId,
        event: OrderEvent,
        actor: &str,
        scan: Option<ScanLog>,
    ) -> Result<Applied, StoreError> {
        let actor = actor.to_string();
        self.write(move |tx, o| write::apply(tx, o, order, &event, &actor, None, scan))
            .await
    }

    /// [`Store::apply`] by an actor at a station: the documents the change causes print on
    /// the station's printers.
    pub async fn apply_at(
        &self,
        order: OrderId,
        event: OrderEvent,
        actor: &str,
        station: Option<String>,
    ) -> Result<Applied, StoreError> {
        let actor = actor.to_string();
        self.write(move |tx, o| {
            write::apply(tx, o, order, &event, &actor, station.as_deref(), None)
        })
        .await
    }

    /// Takes a new order in, deduplicated on `(source, message_id)` and on the platform's order id.
    pub async fn ingest(
        &self,
        source: &str,
        message_id: &str,
        order: NewOrder,
    ) -> Result<Ingested, StoreError> {
        let (source, message_id) = (source.to_string(), message_id.to_string());
        self.write(move |tx, o| write::ingest(tx, o, &source, &message_id, order))
            .await
    }

    /// Receives, counts or adjusts stock outside of orders.
    pub async fn stock(&self, op: StockOp) -> Result<crate::model::StockFigures, StoreError> {
        self.write(move |tx, o| write::stock(tx, o, op)).await
    }

    /// Succeeds once the writer has worked through everything queued before: it is alive.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call(Command::Ping).await
    }

    /// Binds a scanner to a picker (a badge was scanned); survives restarts.
    pub async fn bind_scanner(&self, scanner: &str, picker: &str) -> Result<(), StoreError> {
        let (scanner, picker) = (scanner.to_string(), picker.to_string());
        self.write(move |tx, o| write::bind_scanner(tx, o, &scanner, &picker))
            .await
    }

    /// A scan into an order in picking: item lookup, plan, pick or refusal, and its log, in one
    /// transaction.
    pub async fn scan(&self, req: ScanRequest) -> Result<ScanDone, StoreError> {
        self.write(move |tx, o| write::scan(tx, o, req)).await
    }

    /// Settles outbox rows, given as (id, event id), after the platform answered.
    pub async fn settle_outbox(
        &self,
        rows: Vec<(i64, String)>,
        settle: Settle,
    ) -> Result<usize, StoreError> {
        self.write(move |tx, o| outbox::settle(tx, &rows, &settle, o.clock.now()))
            .await
    }

    /// Marks a row about to be sent that the platform may not dedupe (see `outbox::mark_sending`).
    pub async fn mark_sending(
        &self,
        id: i64,
        look: serde_json::Value,
    ) -> Result<usize, StoreError> {
        self.write(move |tx, o| outbox::mark_sending(tx, id, &look, o.clock.now()))
            .await
    }

    /// A manager settles a parked row by hand (see `outbox::resolve_parked`).
    pub async fn resolve_parked(
        &self,
        id: i64,
        resend: bool,
        by: &str,
    ) -> Result<&'static str, StoreError> {
        let by = by.to_string();
        self.write(move |tx, o| outbox::resolve_parked(tx, id, resend, &by, o.clock.now()))
            .await
    }

    /// Dedupes a push that named an order and queues one fetch when the order is new to us.
    pub async fn enqueue_fetch(
        &self,
        source: &str,
        message_id: &str,
        platform: Platform,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        let (source, message_id, external_id) = (
            source.to_string(),
            message_id.to_string(),
            external_id.to_string(),
        );
        self.write(move |tx, o| {
            outbox::enqueue_fetch(
                tx,
                &source,
                &message_id,
                platform,
                &external_id,
                o.clock.now(),
            )
        })
        .await
    }

    /// Queues every stock level for every selling platform (start-up, or on demand).
    pub async fn full_stock_sync(&self) -> Result<(), StoreError> {
        self.write(|tx, o| {
            write::queue_full_stock_sync(tx, o, o.clock.now())?;
            Ok(((), vec![StoreEvent::OutboxChanged]))
        })
        .await
    }

    /// Applies a catalog delta from HQ if it is the next one (see [`CatalogDelta`]).
    pub async fn catalog_delta(&self, delta: CatalogDelta) -> Result<DeltaOutcome, StoreError> {
        self.write(move |tx, o| write::catalog_delta(tx, o, &delta))
            .await
    }

    /// Queues a refusal for HQ; `about` (source, message id) dedupes it through the inbox.
    /// Returns false when that message was seen before.
    pub async fn hq_note(
        &self,
        about: Option<(&str, &str)>,
        rejection: Rejection,
    ) -> Result<bool, StoreError> {
        let about = about.map(|(s, m)| (s.to_string(), m.to_string()));
        self.write(move |tx, o| {
            let about = about.as_ref().map(|(s, m)| (s.as_str(), m.as_str()));
            write::hq_note(tx, about, rejection, o.clock.now())
        })
        .await
    }

    /// `picker` claims a batch of the most urgent waiting orders (`[picking] batch_*`), each in
    /// a slot of the cart; the orders as claimed, most urgent first.
    pub async fn claim_batch(
        &self,
        picker: &str,
        actor: &str,
        station: Option<String>,
    ) -> Result<Vec<Applied>, StoreError> {
        let (picker, actor) = (picker.to_string(), actor.to_string());
        self.write(move |tx, o| write::claim_batch(tx, o, &picker, (&actor, station.as_deref())))
            .await
    }

    /// Releases every order in picking of the batch `order` is in (or `order` alone).
    pub async fn release_batch(
        &self,
        order: OrderId,
        actor: &str,
    ) -> Result<Vec<Applied>, StoreError> {
        let actor = actor.to_string();
        self.write(move |tx, o| write::release_batch(tx, o, order, &actor))
            .await
    }

    /// `picker` takes over an order someone else is picking (a release and a claim, logged).
    pub async fn take_over(
        &self,
        order: OrderId,
        picker: &str,
        actor: &str,
        station: Option<String>,
    ) -> Result<Applied, StoreError> {
        let (picker, actor) = (picker.to_string(), actor.to_string());
        self.write(move |tx, o| write::take_over(tx, o, order, &picker, &actor, station.as_deref()))
            .await
    }

    /// Releases an order nobody has touched since `idle_since`; `None` when it was touched
    /// meanwhile.
    pub async fn release_idle(
        &self,
        order: OrderId,
        idle_since: crate::model::Timestamp,
    ) -> Result<Option<Applied>, StoreError> {
        self.write(move |tx, o| write::release_idle(tx, o, order, idle_since))
            .await
    }

    /// Records a message refused for good (acknowledged, never taken) in the inbox with the
    /// reason. Returns false when it was seen before: tell people once.
    pub async fn refuse_message(
        &self,
        source: &str,
        message_id: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let (source, message_id, reason) = (
            source.to_string(),
            message_id.to_string(),
            reason.to_string(),
        );
        self.write(move |tx, o| {
            outbox::refuse_message(tx, &source, &message_id, &reason, o.clock.now())
        })
        .await
    }

    /// Remembers a value for the platform channels.
    pub async fn set_sync_state(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |tx, _| outbox::set_sync_state(tx, &key, &value))
            .await
    }

    /// Forgets a value remembered for the platform channels.
    pub async fn forget_sync_state(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(move |tx, _| outbox::forget_sync_state(tx, &key))
            .await
    }

    /// Opens a customer's request as the platform sent it; `None` when one like it is live.
    pub async fn open_request(
        &self,
        asked: NewRequest,
        decide_within_ms: i64,
    ) -> Result<Option<CustomerRequest>, StoreError> {
        self.write(move |tx, o| requests::open(tx, &asked, decide_within_ms, o.clock.now()))
            .await
    }

    /// What the store wants at a platform (open or closed, why, by whom, until when), queued
    /// for it as the newest state.
    pub async fn set_open(
        &self,
        platform: Platform,
        open: bool,
        reason: &str,
        by: &str,
        automatic: bool,
        until: Option<crate::model::Timestamp>,
    ) -> Result<super::open::OpenState, StoreError> {
        let (reason, by) = (reason.to_string(), by.to_string());
        self.write(move |tx, o| {
            super::open::set_open(
                tx,
                platform,
                open,
                &reason,
                &by,
                automatic,
                until,
                o.hq_events,
                o.clock.now(),
            )
        })
        .await
    }

    /// Queues a business day's numbers for HQ unless they went already; true when queued now.
    pub async fn queue_day_summary(&self, day: i64) -> Result<bool, StoreError> {
        self.write(move |tx, o| super::summary::queue(tx, day, o.clock.now()))
            .await
    }

    /// The platform confirmed the store open or closed, answering the store's call.
    pub async fn open_confirmed(
        &self,
        platform: Platform,
        open: bool,
    ) -> Result<Option<super::open::OpenState>, StoreError> {
        self.write(move |tx, o| {
            super::open::confirmed(tx, platform, open, false, o.hq_events, o.clock.now())
        })
        .await
    }

    /// The platform pushed its state of the store: a change made in its merchant app becomes
    /// what the store wants (a person's), unless a change of the store's is on its way.
    pub async fn open_pushed(
        &self,
        platform: Platform,
        open: bool,
    ) -> Result<Option<super::open::OpenState>, StoreError> {
        self.write(move |tx, o| {
            super::open::confirmed(tx, platform, open, true, o.hq_events, o.clock.now())
        })
        .await
    }

    /// A manager's decision on a request, queued for its platform in the same transaction.
    pub async fn decide_request(
        &self,
        id: i64,
        agree: bool,
        reason: &str,
        by: &str,
    ) -> Result<CustomerRequest, StoreError> {
        let (reason, by) = (reason.to_string(), by.to_string());
        self.write(move |tx, o| requests::decide(tx, id, agree, &reason, &by, o.clock.now()))
            .await
    }

    /// The platform settled the live request of this kind on an order (by push).
    pub async fn settle_request(
        &self,
        platform: Platform,
        external_id: &str,
        kind: RequestKind,
        refund_id: &str,
        state: RequestState,
    ) -> Result<Option<CustomerRequest>, StoreError> {
        let (external_id, refund_id) = (external_id.to_string(), refund_id.to_string());
        self.write(move |tx, o| {
            requests::settle(tx, o, platform, &external_id, kind, &refund_id, state)
        })
        .await
    }

    /// Closes the open requests past their time to decide (the platform's now).
    pub async fn expire_requests(&self) -> Result<Vec<CustomerRequest>, StoreError> {
        self.write(move |tx, o| requests::expire(tx, o, o.clock.now()))
            .await
    }

    /// Closes a request by id (the platform answered the store's decision), with a note.
    pub async fn close_request(
        &self,
        id: i64,
        state: RequestState,
        note: Option<String>,
    ) -> Result<Option<CustomerRequest>, StoreError> {
        self.write(move |tx, o| requests::close(tx, o, id, state, note.as_deref(), o.clock.now()))
            .await
    }

    /// A partial refund the platform granted that nobody here saw asked: recorded once by its
    /// refund id and taken off the order (unless it is the store's own short-pick refund).
    pub async fn refund_granted_unseen(
        &self,
        asked: NewRequest,
    ) -> Result<Option<CustomerRequest>, StoreError> {
        self.write(move |tx, o| requests::granted_unseen(tx, o, &asked, o.clock.now()))
            .await
    }

    /// Records the rider the platform reports for its order, when it is news.
    pub async fn set_rider(
        &self,
        platform: Platform,
        external_id: &str,
        rider: crate::model::rider::Rider,
    ) -> Result<super::RiderChange, StoreError> {
        let external_id = external_id.to_string();
        self.write(move |tx, _| write::set_rider(tx, platform, &external_id, rider))
            .await
    }

    /// The customer chased a platform's order (催单): marked until someone opens it.
    pub async fn remind(
        &self,
        platform: Platform,
        external_id: &str,
    ) -> Result<Option<crate::model::Order>, StoreError> {
        let external_id = external_id.to_string();
        self.write(move |tx, o| write::remind(tx, platform, &external_id, o.clock.now()))
            .await
    }

    /// Someone opened a chased order.
    pub async fn reminder_seen(&self, id: OrderId) -> Result<(), StoreError> {
        self.write(move |tx, _| write::reminder_seen(tx, id)).await
    }

    /// A manager clears an item's sold-out mark; false when it had none.
    pub async fn clear_sold_out(&self, sku: crate::model::SkuCode) -> Result<bool, StoreError> {
        self.write(move |tx, o| write::clear_sold_out(tx, o, &sku))
            .await
    }

    /// Records a scan that moved nothing (wrong item, unknown code) so the shift can be reviewed.
    pub async fn log_scan(&self, scan: ScanLog) -> Result<(), StoreError> {
        self.write(move |tx, _| write::log_scan(tx, &scan).map(|()| ((), vec![])))
            .await
    }

    /// Imports catalog rows in one transaction; returns how many skus were created or updated.
    pub async fn import_catalog(&self, rows: Vec<CatalogRow>) -> Result<usize, StoreError> {
        self.write(move |tx, o| write::import_catalog(tx, o, &rows))
            .await
    }

    /// Blocking form of [`Store::import_catalog`] for the CLI.
    pub fn import_catalog_blocking(&self, rows: Vec<CatalogRow>) -> Result<usize, StoreError> {
        self.write_blocking(move |tx, o| write::import_catalog(tx, o, &rows))
    }

    /// Blocking form of [`Store::ingest`] for tools and benchmarks.
    pub fn ingest_blocking(
        &self,
        source: &str,
        message_id: &str,
        order: NewOrder,
    ) -> Result<Ingested, StoreError> {
        let (source, message_id) = (source.to_string(), message_id.to_string());
        self.write_blocking(move |tx, o| write::ingest(tx, o, &source, &message_id, order))
    }

    /// Blocking form of [`Store::apply`] for tools and benchmarks.
    pub fn apply_blocking(
        &self,
        order: OrderId,
        event: OrderEvent,
        actor: &str,
    ) -> Result<Applied, StoreError> {
        let actor = actor.to_string();
        self.write_blocking(move |tx, o| write::apply(tx, o, order, &event, &actor, None, None))
    }

    /// [`Store::scan`] from a plain thread (a scanner's reader) that does not wait for the
    /// result: `then` gets it on the writer thread right after the commit, so it must be quick
    /// and must not call the store. Blocks only while the writer's queue is full.
    pub fn scan_then(
        &self,
        req: ScanRequest,
        then: impl FnOnce(Result<ScanDone, StoreError>) + Send + 'static,
    ) -> Result<(), StoreError> {
        let job = writer::job(move |tx, o| write::scan(tx, o, req), Reply::then(then));
        self.inner
            .commands
            .blocking_send(job)
            .map_err(|_| StoreError::Closed)
    }

    /// [`Store::bind_scanner`] from a plain thread.
    pub fn bind_scanner_blocking(&self, scanner: &str, picker: &str) -> Result<(), StoreError> {
        let (scanner, picker) = (scanner.to_string(), picker.to_string());
        self.write_blocking(move |tx, o| write::bind_scanner(tx, o, &scanner, &picker))
    }

    /// [`Store::log_scan`] from a plain thread.
    pub fn log_scan_blocking(&self, scan: ScanLog) -> Result<(), StoreError> {
        self.write_blocking(move |tx, _| write::log_scan(tx, &scan).map(|()| ((), vec![])))
    }

    /// Blocking form of [`Store::stock`].
    pub fn stock_blocking(&self, op: StockOp) -> Result<crate::model::StockFigures, StoreError> {
        self.write_blocking(move |tx, o| write::stock(tx, o, op))
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .commands
            .send(make(Reply::wait(tx)))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    fn call_blocking<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .commands
            .blocking_send(make(Reply::wait(tx)))
            .map_err(|_| StoreError::Closed)?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on the writer thread in one immediate transaction and waits for its answer:
    /// every write method is this plus its `write::` function.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &StoreOptions) -> Out<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call(|reply| writer::job(f, reply)).await
    }

    /// [`Store::write`] from a plain thread.
    pub(super) fn write_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &StoreOptions) -> Out<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call_blocking(|reply| writer::job(f, reply))
    }
}
