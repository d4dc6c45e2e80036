//! Pushes from the simulated platforms to the agent's receivers, signed as the platforms sign
//! them, and the order generator.

use super::Sim;
use super::sign;
use super::state::{self, SimOrder};
use crate::model::china_time;
use crate::model::{Platform, Timestamp};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::watch;

/// Whether to duplicate this push (`pct` percent of the time).
pub fn roll(pct: u32) -> bool {
    pct > 0 && (Timestamp::now().0.unsigned_abs() % 100) < u64::from(pct)
}

async fn send(
    sim: &Arc<Sim>,
    platform: Platform,
    message: &str,
    order: &str,
    url: String,
    body: String,
) {
    let ok = match sim
        .http
        .post(&url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded;charset=utf-8",
        )
        .body(body)
        .send()
        .await
    {
        Ok(r) => {
            let text = r.text().await.unwrap_or_default();
            let v: Value = serde_json::from_str(&text).unwrap_or_default();
            v["data"] == json!("ok") || v["code"] == json!("0")
        }
        Err(_) => false,
    };
    sim.state
        .lock()
        .expect("sim state")
        .pushes
        .push((platform, message.into(), order.into(), ok));
    sim.bump();
}

fn push_to(sim: &Sim) -> Option<String> {
    sim.state.lock().expect("sim state").push_to.clone()
}

/// Meituan push: form fields, some encoded twice, signed over the decoded values with the push
/// URL the agent registered.
async fn meituan_push(
    sim: &Arc<Sim>,
    message: &str,
    order: &str,
    mut fields: Vec<(String, String)>,
) {
    let Some(to) = push_to(sim) else {
        return;
    };
    let prefix = sim
        .config
        .meituan_push_url
        .clone()
        .unwrap_or_else(|| format!("{}/meituan", to.trim_end_matches('/')));
    fields.push(("app_id".into(), sim.config.meituan_app_id.clone()));
    fields.push(("timestamp".into(), (Timestamp::now().0 / 1000).to_string()));
    let sig = sign::meituan_sig(
        &format!("{prefix}/{message}"),
        &fields,
        &sim.config.meituan_secret,
    );
    fields.push(("sig".into(), sig));
    let body = sign::meituan_push_form(&fields);
    let url = format!("{}/meituan/{message}", to.trim_end_matches('/'));
    send(sim, Platform::Meituan, message, order, url, body).await;
}

/// JD push: ids only, in `jd_param_json`, signed like a request.
async fn jd_push(sim: &Arc<Sim>, message: &str, order: &str, status: i64) {
    let param = json!({"billId": order, "statusId": status.to_string(), "timestamp": china_time::format(Timestamp::now())});
    jd_push_param(sim, message, order, param).await;
}

/// A JD push carrying `param` as its `jd_param_json`.
pub async fn jd_push_param(sim: &Arc<Sim>, message: &str, order: &str, param: Value) {
    let Some(to) = push_to(sim) else {
        return;
    };
    let mut fields: Vec<(String, String)> = vec![
        ("app_key".into(), sim.config.jd_app_key.clone()),
        ("token".into(), sim.config.jd_token.clone()),
        ("timestamp".into(), china_time::format(Timestamp::now())),
        ("format".into(), "json".into()),
        ("v".into(), "1.0".into()),
        ("jd_param_json".into(), param.to_string()),
    ];
    let sig = sign::jd_sign(&fields, &sim.config.jd_secret);
    fields.push(("sign".into(), sig));
    let url = format!("{}/djsw/{message}", to.trim_end_matches('/'));
    send(
        sim,
        Platform::Jddj,
        message,
        order,
        url,
        sign::form(&fields),
    )
    .await;
}

/// A Meituan push of any kind (after-sale notices).
pub async fn meituan_notice(
    sim: &Arc<Sim>,
    message: &str,
    order: &str,
    fields: Vec<(String, String)>,
) {
    meituan_push(sim, message, order, fields).await;
}

/// A JD push of any kind, ids and status only.
pub async fn jd_notice(sim: &Arc<Sim>, message: &str, order: &str, status: i64) {
    jd_push(sim, message, order, status).await;
}

/// Tells the agent about a new order (twice when `twice`).
pub async fn new_order(sim: &Arc<Sim>, order: &SimOrder, twice: bool) {
    for _ in 0..if twice { 2 } else { 1 } {
        match order.platform {
            Platform::Meituan => {
                let v = state::mt_order_json(order);
                let fields: Vec<(String, String)> = v
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                meituan_push(sim, "paid", &order.id, fields).await;
            }
            _ => jd_push(sim, "newOrder", &order.id, state::JD_WAITING).await,
        }
    }
}

/// Tells the agent the customer cancelled.
pub async fn cancelled(sim: &Arc<Sim>, platform: Platform, id: &str) {
    match platform {
        Platform::Meituan => {
            let fields = vec![
                ("order_id".into(), id.to_string()),
                ("reason_code".into(), "1001".into()),
                ("reason".into(), "用户取消".into()),
            ];
            meituan_push(sim, "cancel", id, fields).await;
        }
        _ => jd_push(sim, "userCancelOrder", id, state::JD_CANCELLED).await,
    }
}

/// Generates orders at the configured rate, alternating platforms, until stopped.
pub async fn generate(sim: Arc<Sim>, stop: &mut watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs_f64(60.0 / sim.config.rate_per_min.max(0.01));
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(every) => {}
        }
        n += 1;
        let platform = if n.is_multiple_of(2) {
            Platform::Jddj
        } else {
            Platform::Meituan
        };
        if let Err(e) = sim.new_order(platform, &[], false).await {
            tracing::warn!("generator: {e}");
        }
    }
}
