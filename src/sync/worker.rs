//! The delivery worker of one platform: reads the outbox, sends what is due in order, and never
//! marks a row done without a positive answer. Retries back off with jitter; a rate-limited
//! platform is left alone for a while; permanently refused rows are parked with the reason.

use super::channel::Channel;
use super::intake::{self, Alerts};
use super::plan::{self, Work};
use super::{Action, Level, Verdict, action_from_report};
use crate::model::Timestamp;
use crate::store::{self, OutboxRow, Settle, Store, StoreError};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How many pending rows one round looks at.
const WINDOW: usize = 500;
/// Look again at least this often, even without news (a clock-based due time may have passed).
const IDLE_CHECK: Duration = Duration::from_secs(5);

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
        let rows = match store
            .read_async(move |c| store::pending_outbox(c, destination, WINDOW))
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(platform = destination, error = %e, "cannot read the outbox");
                Vec::new()
            }
        };
        let now = Timestamp::now();
        let delay = Duration::from_millis(channel.config.stock_delay_ms);
        let (work, wake) = plan::next(&rows, now, channel.config.stock_batch, delay);
        let mut pause = None;
        for w in work {
            if *shutdown.borrow() {
                return;
            }
            match deliver(&channel, &store, &alerts, w, &jitter).await {
                Ok(Some(p)) => {
                    limited += 1;
                    let cap = Duration::from_secs(channel.config.max_retry_secs);
                    pause = Some(p.max(plan::rate_limit_pause(limited)).min(cap));
                    break;
                }
                Ok(None) => limited = 0,
                Err(e) => {
                    tracing::error!(platform = destination, error = %e, "outbox delivery failed");
                    pause = Some(Duration::from_secs(1));
                    break;
                }
            }
        }
        if let Some(p) = pause {
            // Rate limited (or the store failed): news does not shorten the pause.
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(p) => {}
            }
            continue;
        }
        let now = Timestamp::now();
        let idle = match wake {
            // Something was sent or fell due meanwhile: look again at once.
            _ if !rows.is_empty() && wake.is_none_or(|w| w <= now) && !nothing_due(&rows, now) => {
                Duration::ZERO
            }
            Some(w) => Duration::from_millis((w.0 - now.0).max(0) as u64).min(IDLE_CHECK),
            None => IDLE_CHECK,
        };
        if idle.is_zero() {
            continue;
        }
        // Wait for news (a commit may have queued rows), the next due time, or shutdown.
        tokio::select! {
            _ = shutdown.changed() => return,
            n = news.recv() => if let Err(broadcast::error::RecvError::Closed) = n { return },
            _ = tokio::time::sleep(idle) => {}
        }
    }
}

fn nothing_due(rows: &[OutboxRow], now: Timestamp) -> bool {
    rows.iter()
        .all(|r| r.next_attempt_at > now || r.kind == "stock_level")
}

/// Sends one unit of work and settles its rows. `Some(pause)` when the platform asked us to
/// slow down.
async fn deliver(
    channel: &Channel,
    store: &Store,
    alerts: &Alerts,
    work: Work,
    jitter: &RandomState,
) -> Result<Option<Duration>, StoreError> {
    let (rows, action) = match work {
        Work::Order(row) => {
            let action = action_from_report(&row.kind, &row.payload);
            (vec![row], action)
        }
        Work::Levels(rows) => {
            let levels = rows
                .iter()
                .map(|r| Level {
                    sku: r.payload["sku"].as_str().unwrap_or_default().to_string(),
                    level: r.payload["level"].as_i64().unwrap_or(0),
                })
                .collect();
            (rows, Ok(Action::Stock(levels)))
        }
        Work::FullSync(row) => return full_sync(channel, store, row, jitter).await,
    };
    let ids: Vec<(i64, String)> = rows.iter().map(|r| (r.id, r.event_id.clone())).collect();
    let now = Timestamp::now();
    let call = match action.and_then(|a| channel.adapter.action(&a, now).map(|c| (a, c))) {
        Ok(ac) => ac,
        Err(reason) => {
            park(channel, store, alerts, ids, reason).await?;
            return Ok(None);
        }
    };
    let (action, call) = call;
    let (verdict, data) = channel.send(&call).await;
    match verdict {
        Verdict::Done => {
            if let (Action::FetchOrder { order }, Some(data)) = (&action, &data) {
                match channel.adapter.fetched_order(data) {
                    Ok(draft) => {
                        let source = format!("{}-fetch", channel.platform);
                        intake::take(
                            store,
                            alerts,
                            draft,
                            &source,
                            order,
                            channel.config.auto_accept,
                            channel.config.travel_buffer_secs,
                        )
                        .await?;
                    }
                    Err(reason) => {
                        park(channel, store, alerts, ids, reason).await?;
                        return Ok(None);
                    }
                }
            }
            store.settle_outbox(ids, Settle::Done).await?;
            Ok(None)
        }
        Verdict::Retry(error) => {
            retry(channel, store, &rows, error, jitter).await?;
            Ok(None)
        }
        Verdict::RateLimited(error) => {
            retry(channel, store, &rows, error, jitter).await?;
            Ok(Some(plan::rate_limit_pause(0)))
        }
        Verdict::Permanent(reason) => {
            park(channel, store, alerts, ids, reason).await?;
            Ok(None)
        }
    }
}

async fn retry(
    channel: &Channel,
    store: &Store,
    rows: &[OutboxRow],
    error: String,
    jitter: &RandomState,
) -> Result<(), StoreError> {
    let max = Duration::from_secs(channel.config.max_retry_secs);
    for r in rows {
        let wait = plan::backoff(r.attempts, jitter.hash_one((r.id, r.attempts)), max);
        let next_at = Timestamp(Timestamp::now().0 + wait.as_millis() as i64);
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
    ids: Vec<(i64, String)>,
    reason: String,
) -> Result<(), StoreError> {
    tracing::warn!(platform = %channel.platform, rows = ids.len(), "{reason}");
    let message = format!("{} refused an update for good: {reason}", channel.platform);
    // Parked first, then announced: whoever looks after the alert finds it parked.
    store.settle_outbox(ids, Settle::Park { reason }).await?;
    alerts("error", message, None);
    Ok(())
}

/// Every level again, in batches; the marker is done only when every batch was taken.
async fn full_sync(
    channel: &Channel,
    store: &Store,
    row: OutboxRow,
    jitter: &RandomState,
) -> Result<Option<Duration>, StoreError> {
    let platform = channel.platform;
    let safety = channel.config.safety_stock;
    let levels = store
        .read_async(move |c| store::all_levels(c, platform, safety))
        .await?;
    for chunk in levels.chunks(channel.config.stock_batch.max(1)) {
        let levels = chunk
            .iter()
            .map(|(sku, level)| Level {
                sku: sku.0.clone(),
                level: *level,
            })
            .collect();
        let call = match channel
            .adapter
            .action(&Action::Stock(levels), Timestamp::now())
        {
            Ok(c) => c,
            Err(e) => {
                retry(channel, store, std::slice::from_ref(&row), e, jitter).await?;
                return Ok(None);
            }
        };
        match channel.send(&call).await.0 {
            Verdict::Done => {}
            Verdict::RateLimited(e) => {
                retry(channel, store, std::slice::from_ref(&row), e, jitter).await?;
                return Ok(Some(plan::rate_limit_pause(0)));
            }
            Verdict::Retry(e) | Verdict::Permanent(e) => {
                // Absolute levels: sending them all again later is harmless.
                retry(channel, store, std::slice::from_ref(&row), e, jitter).await?;
                return Ok(None);
            }
        }
    }
    store
        .settle_outbox(vec![(row.id, row.event_id)], Settle::Done)
        .await?;
    Ok(None)
}
