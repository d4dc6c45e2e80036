//! Polling, for stores without a public URL: every `poll_interval_secs`, ask the platform for
//! new orders; every few rounds, ask whether open orders were cancelled. Stores taking pushes
//! run the same rounds every `reconcile_secs`, for pushes that never arrived.

use super::channel::{Adapter, Channel};
use super::intake::{self, Alerts};
use super::{Action, HttpCall, Kind, Verdict, id_text, jddj, meituan};
use crate::model::china_time;
use crate::model::{Platform, Timestamp};
use crate::store::{self, Store, StoreError};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Cancellations of open orders are checked every this many rounds (one call per open order).
const CANCEL_CHECK_EVERY: u64 = 4;

/// Runs a round every `every` (the first at once) until shutdown.
pub async fn run(
    channel: Arc<Channel>,
    every: Duration,
    store: Store,
    alerts: Alerts,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = 0u64;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        round += 1;
        let check_cancels = round % CANCEL_CHECK_EVERY == 1;
        let result = match &channel.adapter {
            Adapter::Meituan(mt) => {
                poll_meituan(&channel, mt, &store, &alerts, check_cancels).await
            }
            Adapter::Jddj(jd) => poll_jd(&channel, jd, &store, &alerts, check_cancels).await,
        };
        if let Err(e) = result {
            tracing::error!(platform = %channel.platform, error = %e, "polling failed");
        }
    }
}

/// The answer to a query; `Err(true)` when the platform refused it for good (skip it), `Err(false)`
/// when it may work next round (stop this round).
async fn ask(channel: &Channel, call: HttpCall) -> Result<Value, bool> {
    match channel.send(&call, Kind::Query).await {
        (Verdict::Done, Some(data)) => Ok(data),
        (Verdict::Permanent(e) | Verdict::Refused(e), _) => {
            tracing::debug!(platform = %channel.platform, "poll call refused: {e}");
            Err(true)
        }
        (v, _) => {
            tracing::debug!(platform = %channel.platform, verdict = ?v, "poll call failed; next round");
            Err(false)
        }
    }
}

async fn poll_meituan(
    channel: &Channel,
    mt: &meituan::Meituan,
    store: &Store,
    alerts: &Alerts,
    check_cancels: bool,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    // Day sequence numbers restart at midnight: shortly after it, finish yesterday first.
    let yesterday = Timestamp(now.0 - 15 * 60 * 1000);
    let days = if china_time::date(yesterday) != china_time::date(now) {
        vec![yesterday, now]
    } else {
        vec![now]
    };
    for day in days {
        if !poll_meituan_day(channel, mt, store, alerts, day).await? {
            return Ok(());
        }
    }
    if check_cancels {
        for external_id in open_orders(store, Platform::Meituan).await? {
            let Ok(call) = mt.action(
                &Action::FetchOrder {
                    order: external_id.clone(),
                },
                Timestamp::now(),
            ) else {
                continue;
            };
            match ask(channel, call).await {
                Ok(d) if d["status"].as_i64() == Some(9) => {
                    intake::cancelled_by_platform(
                        store,
                        Platform::Meituan,
                        &external_id,
                        "用户取消",
                    )
                    .await?;
                }
                Ok(_) | Err(true) => {}
                Err(false) => return Ok(()),
            }
        }
    }
    Ok(())
}

/// Takes the day's orders not seen yet; `false` when the platform did not answer (stop).
async fn poll_meituan_day(
    channel: &Channel,
    mt: &meituan::Meituan,
    store: &Store,
    alerts: &Alerts,
    day: Timestamp,
) -> Result<bool, StoreError> {
    let latest = match ask(channel, mt.day_seq_call(day)).await {
        Ok(d) => d["day_seq"].as_u64().or_else(|| d.as_u64()).unwrap_or(0) as u32,
        Err(_) => return Ok(false),
    };
    let key = format!("meituan:day_seq:{}", china_time::date(day));
    let k = key.clone();
    let seen: u32 = store
        .read_async(move |c| store::sync_state(c, &k))
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for seq in seen + 1..=latest {
        let order_id = match ask(channel, mt.order_id_call(seq, day)).await {
            Ok(id) => id_text(&id["order_id"]).or_else(|| id_text(&id)),
            // No order behind this number (806): move past it.
            Err(true) => None,
            Err(false) => return Ok(false),
        };
        // Already here (pushed, or taken by an earlier round): no need for its detail.
        let known = match &order_id {
            Some(id) => {
                let id = id.clone();
                store
                    .read_async(move |c| store::order_id_by_external(c, Platform::Meituan, &id))
                    .await?
                    .is_some()
            }
            None => false,
        };
        if let Some(order_id) = order_id.filter(|_| !known) {
            let fetch = Action::FetchOrder {
                order: order_id.clone(),
            };
            let Ok(call) = mt.action(&fetch, Timestamp::now()) else {
                continue;
            };
            match ask(channel, call).await {
                Ok(detail) => match meituan::draft(&detail) {
                    Ok(draft) => {
                        let cfg = &channel.config;
                        intake::take(
                            store,
                            alerts,
                            draft,
                            "meituan-poll",
                            &order_id,
                            cfg.auto_accept,
                            cfg.travel_buffer_secs,
                        )
                        .await?;
                    }
                    // Read the same way every round: refused once, told once.
                    Err(e) => {
                        intake::refuse(
                            store,
                            alerts,
                            Platform::Meituan,
                            "meituan-poll",
                            &order_id,
                            &e,
                        )
                        .await?
                    }
                },
                Err(true) => tracing::warn!("Meituan refused the detail of order {order_id}"),
                Err(false) => return Ok(false),
            }
        }
        store.set_sync_state(&key, &seq.to_string()).await?;
    }
    Ok(true)
}

async fn poll_jd(
    channel: &Channel,
    jd: &jddj::Jddj,
    store: &Store,
    alerts: &Alerts,
    check_cancels: bool,
) -> Result<(), StoreError> {
    // Orders waiting for the store, placed in the last day, page by page.
    for page in 1..=jddj::MAX_POLL_PAGES {
        let Ok(result) = ask(channel, jd.poll_call(page, Timestamp::now())).await else {
            return Ok(());
        };
        let orders = jddj::orders_in(&result);
        let full = orders.len() >= jddj::POLL_PAGE_SIZE;
        for order in orders {
            match jddj::draft(&order) {
                Ok(draft) => {
                    let id = draft.external_id.clone();
                    let cfg = &channel.config;
                    intake::take(
                        store,
                        alerts,
                        draft,
                        "jddj-poll",
                        &id,
                        cfg.auto_accept,
                        cfg.travel_buffer_secs,
                    )
                    .await?;
                }
                Err(e) => {
                    // Read again every round: refused once, told once (by its content when it
                    // has no usable id).
                    let given = crate::sync::id_text(&order["orderId"]).unwrap_or_default();
                    let id = intake::refusal_id("poll", &given, &order.to_string());
                    intake::refuse(store, alerts, Platform::Jddj, "jddj-poll", &id, &e).await?
                }
            }
        }
        if !full {
            break;
        }
    }
    if check_cancels {
        for external_id in open_orders(store, Platform::Jddj).await? {
            let Ok(call) = jd.action(
                &Action::FetchOrder {
                    order: external_id.clone(),
                },
                Timestamp::now(),
            ) else {
                continue;
            };
            match ask(channel, call).await {
                Ok(r) => {
                    let cancelled = jddj::orders_in(&r)
                        .first()
                        .and_then(|o| o["orderStatus"].as_i64())
                        .is_some_and(|s| jddj::STATUS_CANCELLED.contains(&s));
                    if cancelled {
                        intake::cancelled_by_platform(
                            store,
                            Platform::Jddj,
                            &external_id,
                            "用户取消",
                        )
                        .await?;
                    }
                }
                Err(true) => {}
                Err(false) => return Ok(()),
            }
        }
    }
    Ok(())
}

async fn open_orders(store: &Store, platform: Platform) -> Result<Vec<String>, StoreError> {
    let orders = store
        .read_async(|c| store::list_orders(c, true, 200))
        .await?;
    Ok(orders
        .into_iter()
        .filter(|o| o.platform == platform && o.state.is_open())
        .map(|o| o.external_id)
        .collect())
}
