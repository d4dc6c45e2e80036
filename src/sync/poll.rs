//! Polling, for stores without a public URL: every `poll_interval_secs`, ask the platform for
//! new orders (and, for open orders, whether they were cancelled).

use super::channel::{Adapter, Channel};
use super::intake::{self, Alerts};
use super::{Verdict, china_time, id_text, jddj, meituan};
use crate::model::{OrderState, Platform, Timestamp};
use crate::store::{self, Store, StoreError};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Runs until shutdown.
pub async fn run(
    channel: Arc<Channel>,
    store: Store,
    alerts: Alerts,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(channel.config.poll_interval_secs);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => {}
        }
        let result = match &channel.adapter {
            Adapter::Meituan(mt) => poll_meituan(&channel, mt, &store, &alerts).await,
            Adapter::Jddj(jd) => poll_jd(&channel, jd, &store, &alerts).await,
        };
        if let Err(e) = result {
            tracing::error!(platform = %channel.platform, error = %e, "polling failed");
        }
    }
}

async fn ask(channel: &Channel, call: super::HttpCall) -> Option<Value> {
    match channel.send(&call).await {
        (Verdict::Done, data) => data,
        (v, _) => {
            tracing::debug!(platform = %channel.platform, verdict = ?v, "poll call failed; next round");
            None
        }
    }
}

async fn poll_meituan(
    channel: &Channel,
    mt: &meituan::Meituan,
    store: &Store,
    alerts: &Alerts,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let Some(data) = ask(channel, mt.day_seq_call(now)).await else {
        return Ok(());
    };
    let latest = data["day_seq"]
        .as_u64()
        .or_else(|| data.as_u64())
        .unwrap_or(0) as u32;
    // Day sequence numbers restart every day: remember the last one seen per day.
    let key = format!("meituan:day_seq:{}", &china_time::format(now)[..10]);
    let k = key.clone();
    let seen: u32 = store
        .read_async(move |c| store::sync_state(c, &k))
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for seq in seen + 1..=latest {
        let Some(id) = ask(channel, mt.order_id_call(seq, now)).await else {
            return Ok(()); // try this number again next round
        };
        let Some(order_id) = id_text(&id["order_id"]).or_else(|| id_text(&id)) else {
            continue;
        };
        let detail = mt.action(
            &super::Action::FetchOrder {
                order: order_id.clone(),
            },
            Timestamp::now(),
        );
        let Some(detail) = (match detail {
            Ok(call) => ask(channel, call).await,
            Err(_) => None,
        }) else {
            return Ok(());
        };
        match meituan::draft(&detail) {
            Ok(draft) => {
                intake::take(
                    store,
                    alerts,
                    draft,
                    "meituan-poll",
                    &order_id,
                    channel.config.auto_accept,
                    channel.config.travel_buffer_secs,
                )
                .await?;
            }
            Err(e) => tracing::warn!("unreadable Meituan order {order_id}: {e}"),
        }
        store.set_sync_state(&key, &seq.to_string()).await?;
    }
    // Cancellations of our open orders: Meituan status 9.
    for (external_id, state) in open_orders(store, Platform::Meituan).await? {
        let fetch = super::Action::FetchOrder {
            order: external_id.clone(),
        };
        let Ok(call) = mt.action(&fetch, Timestamp::now()) else {
            continue;
        };
        if let Some(d) = ask(channel, call).await
            && d["status"].as_i64() == Some(9)
            && state != OrderState::Cancelled
        {
            intake::cancelled_by_platform(store, Platform::Meituan, &external_id, "用户取消")
                .await?;
        }
    }
    Ok(())
}

async fn poll_jd(
    channel: &Channel,
    jd: &jddj::Jddj,
    store: &Store,
    alerts: &Alerts,
) -> Result<(), StoreError> {
    let Some(result) = ask(channel, jd.poll_call(Timestamp::now())).await else {
        return Ok(());
    };
    for order in jddj::orders_in(&result) {
        match jddj::draft(&order) {
            Ok(draft) => {
                let id = draft.external_id.clone();
                intake::take(
                    store,
                    alerts,
                    draft,
                    "jddj-poll",
                    &id,
                    channel.config.auto_accept,
                    channel.config.travel_buffer_secs,
                )
                .await?;
            }
            Err(e) => tracing::warn!("unreadable JD order: {e}"),
        }
    }
    for (external_id, _) in open_orders(store, Platform::Jddj).await? {
        let fetch = super::Action::FetchOrder {
            order: external_id.clone(),
        };
        let Ok(call) = jd.action(&fetch, Timestamp::now()) else {
            continue;
        };
        if let Some(r) = ask(channel, call).await
            && let Some(o) = jddj::orders_in(&r).first()
            && o["orderStatus"]
                .as_i64()
                .is_some_and(|s| jddj::STATUS_CANCELLED.contains(&s))
        {
            intake::cancelled_by_platform(store, Platform::Jddj, &external_id, "用户取消").await?;
        }
    }
    Ok(())
}

async fn open_orders(
    store: &Store,
    platform: Platform,
) -> Result<Vec<(String, OrderState)>, StoreError> {
    let orders = store
        .read_async(|c| store::list_orders(c, true, 200))
        .await?;
    Ok(orders
        .into_iter()
        .filter(|o| o.platform == platform && o.state.is_open())
        .map(|o| (o.external_id, o.state))
        .collect())
}
