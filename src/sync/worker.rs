//! The delivery worker of one platform: reads the outbox, sends what is due in order, and never
//! marks a row done without a positive answer. Retries back off with jitter; a rate-limited
//! platform is left alone for a while; permanently refused rows are parked with the reason, and
//! an order with a parked row sends nothing more until a person has looked.

use super::channel::Channel;
use super::intake::{self, Alerts};
use super::plan::{self, Work};
use super::{Action, Level, Verdict, action_from_row};
use crate::model::Timestamp;
use crate::store::payload::PlatformPayload;
use crate::store::{self, OutboxRow, Settle, Store, StoreError};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How many pending rows one round looks at.
const WINDOW: usize = 500;
/// Look again at least this often, even without news (a clock-based due time may have passed).
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// What one delivery came to.
enum Sent {
    /// Carry on.
    Next,
    /// The platform asked us to slow down (or the store failed): wait this long.
    Pause(Duration),
    /// A batch of levels was refused for good: send its levels one by one, so that one bad sku
    /// does not hold back the others.
    Split,
}

/// Runs until shutdown.
pub async fn run(
    channel: Arc<Channel>,
    store: Store,
    alerts: Alerts,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut news = store.subscribe();
    let jitter = RandomState::new();
    let mut limited = 0u32;
    let destination = channel.platform.as_str();
    loop {
        if *shutdown.borrow() {
            return;
        }
        if store.refusing_writes().is_some() {
            // Nothing can be marked done any more: what goes out would go out again at every
            // round (a JD accept a second). Deliveries stop until the daemon is restarted.
            tracing::error!(
                platform = destination,
                "the store refuses writes: deliveries to the platform stop until flashpick is restarted"
            );
            let _ = shutdown.changed().await;
            return;
        }
        let read = store
            .read_async(move |c| {
                Ok((
                    store::pending_outbox(c, destination, WINDOW)?,
                    store::parked_orders(c, destination)?,
                ))
            })
            .await;
        let (rows, parked) = match read {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(platform = destination, error = %e, "cannot read the outbox");
                (Vec::new(), Default::default())
            }
        };
        // Rows are stamped and scheduled by the store's clock; signatures use the real one.
        let now = store.clock().now();
        let delay = Duration::from_millis(channel.config.stock_delay_ms);
        let (work, wake) = plan::next(&rows, &parked, now, channel.config.stock_batch, delay);
        let worked = !work.is_empty();
        let mut pause = None;
        for w in work {
            if *shutdown.borrow() {
                return;
            }
            match deliver(&channel, &store, &alerts, w, &jitter).await {
                Ok(Sent::Next | Sent::Split) => limited = 0,
                Ok(Sent::Pause(p)) => {
                    limited += 1;
                    let cap = Duration::from_secs(channel.config.max_retry_secs);
                    pause = Some(p.max(plan::rate_limit_pause(limited)).min(cap));
                    break;
                }
                Err(e) => {
                    tracing::error!(platform = destination, error = %e, "outbox delivery failed");
                    pause = Some(Duration::from_secs(1));
                    break;
                }
            }
        }
        if let Some(p) = pause {
            // News does not shorten a pause.
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(p) => {}
            }
            continue;
        }
        // Something went out: the next row of the same order may be waiting right behind it.
        if worked {
            continue;
        }
        let idle = wake.map_or(IDLE_CHECK, |w| {
            Duration::from_millis((w.0 - store.clock().now().0).max(0) as u64).min(IDLE_CHECK)
        });
        // Wait for news (a commit may have queued rows), the next due time, or shutdown.
        tokio::select! {
            _ = shutdown.changed() => return,
            n = news.recv() => if let Err(broadcast::error::RecvError::Closed) = n { return },
            _ = tokio::time::sleep(idle) => {}
        }
    }
}

pub(super) fn ids(rows: &[OutboxRow]) -> Vec<(i64, String)> {
    rows.iter().map(|r| (r.id, r.event_id.clone())).collect()
}

/// Sends one unit of work and settles its rows.
async fn deliver(
    channel: &Channel,
    store: &Store,
    alerts: &Alerts,
    work: Work,
    jitter: &RandomState,
) -> Result<Sent, StoreError> {
    match work {
        Work::FullSync(row) => full_sync(channel, store, alerts, row, jitter).await,
        Work::Order(row) => {
            let action = PlatformPayload::read(&row.payload).and_then(|p| action_from_row(&p));
            send_rows(channel, store, alerts, vec![row], action, jitter).await
        }
        Work::Levels(rows) => {
            // A row that does not read as a level is parked with the reason: no level leaves
            // without its code and figure.
            let (rows, unreadable): (Vec<_>, Vec<_>) =
                rows.into_iter().partition(|r| level_of(r).is_ok());
            for row in unreadable {
                let reason = level_of(&row).err().unwrap_or_default();
                park(channel, store, alerts, std::slice::from_ref(&row), reason).await?;
            }
            if rows.is_empty() {
                return Ok(Sent::Next);
            }
            let action = Ok(Action::Stock(levels(&rows)));
            match send_rows(channel, store, alerts, rows.clone(), action, jitter).await? {
                Sent::Split => {
                    for row in rows {
                        let action = Ok(Action::Stock(levels(std::slice::from_ref(&row))));
                        if let Sent::Pause(p) =
                            send_rows(channel, store, alerts, vec![row], action, jitter).await?
                        {
                            return Ok(Sent::Pause(p));
                        }
                    }
                    Ok(Sent::Next)
                }
                other => Ok(other),
            }
        }
    }
}

/// A row read as a stock level.
fn level_of(row: &OutboxRow) -> Result<Level, String> {
    match PlatformPayload::read(&row.payload)? {
        PlatformPayload::StockLevel(l) => Ok(Level {
            // Rows queued by versions before `code` existed name only the sku.
            code: l.code().to_string(),
            item: l.item.clone(),
            // The last guard before a figure leaves: a level queued by an older release outside
            // the bounds goes out as 0 (not sold rather than oversold).
            level: Some(l.level)
                .filter(|l| (0..=crate::model::MAX_QTY).contains(l))
                .unwrap_or(0),
        }),
        other => Err(format!("a {} row among the stock levels", other.kind())),
    }
}

/// The levels of rows already known to read as levels.
fn levels(rows: &[OutboxRow]) -> Vec<Level> {
    rows.iter().filter_map(|r| level_of(r).ok()).collect()
}

async fn send_rows(
    channel: &Channel,
    store: &Store,
    alerts: &Alerts,
    rows: Vec<OutboxRow>,
    action: Result<Action, String>,
    jitter: &RandomState,
) -> Result<Sent, StoreError> {
    let now = Timestamp::now();
    let (action, call) = match action.and_then(|a| channel.adapter.action(&a, now).map(|c| (a, c)))
    {
        Ok(ac) => ac,
        Err(reason) => {
            park(channel, store, alerts, &rows, reason).await?;
            return Ok(Sent::Next);
        }
    };
    // A change the platform may not dedupe: looked up first (one row per such action).
    if let [row] = rows.as_slice()
        && let super::lookup::Next::Handled =
            super::lookup::before_send(channel, store, alerts, row, &action, jitter).await?
    {
        return Ok(Sent::Next);
    }
    let (verdict, data) = channel.send(&call, action.kind()).await;
    match verdict {
        Verdict::Done => {
            if let Action::FetchOrder { order } = &action {
                return take_fetched(channel, store, alerts, &rows, order, data, jitter).await;
            }
            // The decision's effect first: a crash between the two sends the decision again,
            // which the platform answers "already" and the effect does not repeat.
            if let Some(d) = decision_of(&rows) {
                intake::decision_answered(store, alerts, &d, Ok(())).await?;
            }
            if let Action::SetOpen { open } = action {
                store.open_confirmed(channel.platform, open).await?;
            }
            store.settle_outbox(ids(&rows), Settle::Done).await?;
            Ok(Sent::Next)
        }
        Verdict::Retry(error) => {
            retry(channel, store, &rows, error, jitter).await?;
            Ok(Sent::Next)
        }
        Verdict::RateLimited(error) => {
            retry(channel, store, &rows, error, jitter).await?;
            Ok(Sent::Pause(plan::rate_limit_pause(0)))
        }
        Verdict::Permanent(_) | Verdict::Refused(_)
            if rows.len() > 1 && rows.iter().all(|r| r.kind == "stock_level") =>
        {
            Ok(Sent::Split)
        }
        // The platform's no to a decision is its answer: the request fails, a manager is told
        // to look on the platform, and the row is done (nothing to send again, nothing to fix
        // on the store's side).
        Verdict::Refused(reason) if decision_of(&rows).is_some() => {
            if let Some(d) = decision_of(&rows) {
                intake::decision_answered(store, alerts, &d, Err(reason)).await?;
            }
            store.settle_outbox(ids(&rows), Settle::Done).await?;
            Ok(Sent::Next)
        }
        Verdict::Permanent(reason) | Verdict::Refused(reason) => {
            if let Some(d) = decision_of(&rows) {
                intake::decision_answered(store, alerts, &d, Err(reason.clone())).await?;
            }
            park(channel, store, alerts, &rows, reason).await?;
            Ok(Sent::Next)
        }
    }
}

/// The decision a row carries, if it is one.
fn decision_of(rows: &[OutboxRow]) -> Option<crate::store::payload::DecisionPayload> {
    match rows.first().map(|r| PlatformPayload::read(&r.payload)) {
        Some(Ok(PlatformPayload::Decision(d))) => Some(d),
        _ => None,
    }
}

/// A fetched order goes into the store; the fetch is done only once the order is stored.
async fn take_fetched(
    channel: &Channel,
    store: &Store,
    alerts: &Alerts,
    rows: &[OutboxRow],
    order: &str,
    data: Option<serde_json::Value>,
    jitter: &RandomState,
) -> Result<Sent, StoreError> {
    let Some(data) = data else {
        retry(
            channel,
            store,
            rows,
            "the platform sent no order".into(),
            jitter,
        )
        .await?;
        return Ok(Sent::Next);
    };
    let draft = match channel.adapter.fetched_order(&data) {
        Ok(d) => d,
        Err(reason) => {
            park(channel, store, alerts, rows, reason).await?;
            return Ok(Sent::Next);
        }
    };
    let source = format!("{}-fetch", channel.platform);
    let taken = intake::take(
        store,
        alerts,
        draft,
        &source,
        order,
        channel.config.auto_accept,
        channel.config.travel_buffer_secs,
    )
    .await;
    match taken {
        Ok(_) => store
            .settle_outbox(ids(rows), Settle::Done)
            .await
            .map(|_| Sent::Next),
        // The order itself is unusable: a person must look; the queue goes on.
        Err(e) if e.is_refusal() => {
            park(channel, store, alerts, rows, e.to_string()).await?;
            Ok(Sent::Next)
        }
        Err(e) => {
            retry(channel, store, rows, e.to_string(), jitter).await?;
            Ok(Sent::Next)
        }
    }
}

pub(super) async fn retry(
    channel: &Channel,
    store: &Store,
    rows: &[OutboxRow],
    error: String,
    jitter: &RandomState,
) -> Result<(), StoreError> {
    let max = Duration::from_secs(channel.config.max_retry_secs);
    for r in rows {
        let wait = plan::backoff(r.attempts, jitter.hash_one((r.id, r.attempts)), max);
        let next_at = Timestamp(store.clock().now().0 + wait.as_millis() as i64);
        let settle = Settle::Retry {
            next_at,
            error: error.clone(),
        };
        store
            .settle_outbox(vec![(r.id, r.event_id.clone())], settle)
            .await?;
    }
    Ok(())
}

async fn park(
    channel: &Channel,
    store: &Store,
    alerts: &Alerts,
    rows: &[OutboxRow],
    reason: String,
) -> Result<(), StoreError> {
    tracing::warn!(platform = %channel.platform, rows = rows.len(), "{reason}");
    // Name what was refused, and tie the alert to the order so its screen shows it.
    let first = rows.first().map(|r| PlatformPayload::read(&r.payload));
    let what = match &first {
        Some(Ok(PlatformPayload::Report(r))) => r.report.action().to_string(),
        Some(Ok(p)) => p.kind().to_string(),
        _ => "update".to_string(),
    }
    .replace('_', " ");
    let order = match &first {
        Some(Ok(p)) => p.external_id(),
        _ => None,
    };
    let message = match order {
        Some(o) => format!(
            "{} refused the {what} of order {o} for good: {reason}; settle it on the platform's console",
            channel.platform
        ),
        None => format!(
            "{} refused {} {what} row(s) for good: {reason}",
            channel.platform,
            rows.len()
        ),
    };
    let order_id = match &first {
        Some(Ok(PlatformPayload::Report(r))) => Some(r.order_id),
        _ => None,
    };
    // Parked first, then announced: whoever looks after the alert finds it parked.
    store
        .settle_outbox(ids(rows), Settle::Park { reason })
        .await?;
    alerts("error", message, order_id);
    Ok(())
}

/// Every level again, in batches; the marker is done only when every batch was taken.
async fn full_sync(
    channel: &Channel,
    store: &Store,
    alerts: &Alerts,
    row: OutboxRow,
    jitter: &RandomState,
) -> Result<Sent, StoreError> {
    let platform = channel.platform;
    let safety = channel.config.safety_stock;
    let all = store
        .read_async(move |c| store::all_levels(c, platform, safety))
        .await?;
    let marker = std::slice::from_ref(&row);
    for chunk in all.chunks(channel.config.stock_batch.max(1)) {
        let levels = chunk
            .iter()
            .map(|l| Level {
                code: l.code.clone(),
                item: l.item.clone(),
                level: l.level,
            })
            .collect();
        let action = Action::Stock(levels);
        let call = match channel.adapter.action(&action, Timestamp::now()) {
            Ok(c) => c,
            Err(e) => {
                park(channel, store, alerts, marker, e).await?;
                return Ok(Sent::Next);
            }
        };
        match channel.send(&call, action.kind()).await.0 {
            Verdict::Done => {}
            Verdict::RateLimited(e) => {
                retry(channel, store, marker, e, jitter).await?;
                return Ok(Sent::Pause(plan::rate_limit_pause(0)));
            }
            // Absolute levels: sending them all again later is harmless.
            Verdict::Retry(e) => {
                retry(channel, store, marker, e, jitter).await?;
                return Ok(Sent::Next);
            }
            Verdict::Permanent(e) | Verdict::Refused(e) => {
                park(
                    channel,
                    store,
                    alerts,
                    marker,
                    format!("full stock sync: {e}"),
                )
                .await?;
                return Ok(Sent::Next);
            }
        }
    }
    store.settle_outbox(ids(marker), Settle::Done).await?;
    Ok(Sent::Next)
}
