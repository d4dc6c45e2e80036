//! The push receivers: `POST /meituan/<message>` and `POST /djsw/<message>`. Each push is
//! verified (signature and freshness), deduplicated in the inbox, applied, and answered in the
//! platform's format well within its time limit (JD: 3 s). JD pushes carry ids only: the order
//! itself is fetched by the delivery worker, never inside the push.

use super::channel::{Adapter, Channel};
use super::intake::{self, Alerts};
use super::{id_text, jddj, meituan};
use crate::model::request::RequestKind;
use crate::model::{Platform, Timestamp};
use crate::store::Store;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the receivers need.
pub struct Receivers {
    /// The store.
    pub store: Store,
    /// Alerts for the screens.
    pub alerts: Alerts,
    /// Meituan, when enabled.
    pub meituan: Option<Arc<Channel>>,
    /// JD, when enabled.
    pub jddj: Option<Arc<Channel>>,
    /// Pushes accepted.
    pub accepted: AtomicU64,
    /// Pushes refused (bad signature, stale, wrong app).
    pub refused: AtomicU64,
}

/// Refused pushes are logged once per interval: anyone on the internet can send them.
static REFUSED_LOG: crate::throttle::Throttle =
    crate::throttle::Throttle::new(std::time::Duration::from_secs(10));

/// How long a push's body may take to arrive (a real one arrives at once).
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The largest push read. Real pushes are a few KiB (JD's carry only ids); anything near this
/// is not a platform talking, and is refused before it is buffered whole.
pub const MAX_PUSH: usize = 256 * 1024;

/// Reads a push body within [`MAX_PUSH`] and [`BODY_TIMEOUT`]; a larger or unreadable one is
/// counted as refused and answered 413, a late one 408.
async fn read_body(r: &Receivers, body: axum::body::Body) -> Result<String, Response> {
    // A peer trickling its body must not hold the connection: the headers had their own deadline.
    let read = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_PUSH)).await;
    match read {
        Ok(Ok(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        _ => {
            r.refused.fetch_add(1, Ordering::Relaxed);
            if let Some(held) = REFUSED_LOG.check() {
                tracing::warn!(
                    limit = MAX_PUSH,
                    more_since_last_line = held,
                    "push refused: body too large, unreadable or too slow"
                );
            }
            let answer = if read.is_err() {
                (
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                )
            } else {
                (
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    format!("push bodies are limited to {MAX_PUSH} bytes"),
                )
            };
            Err(answer.into_response())
        }
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The router for the webhook listener.
pub fn router(r: Arc<Receivers>) -> axum::Router {
    axum::Router::new()
        .route("/meituan/{message}", post(meituan_push))
        .route("/djsw/{message}", post(jd_push))
        .with_state(r)
}

fn json_response(v: Value) -> Response {
    (
        [("content-type", "application/json;charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

/// Form fields, with Meituan's double-encoded fields decoded once more.
pub fn fields(body: &str, double: &[&str]) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| {
            let v = if double.contains(&k.as_ref()) {
                form_urlencoded::parse(format!("x={v}").as_bytes())
                    .next()
                    .map_or(v.to_string(), |(_, d)| d.into_owned())
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect()
}

async fn meituan_push(
    State(r): State<Arc<Receivers>>,
    Path(message): Path<String>,
    body: axum::body::Body,
) -> Response {
    let body = match read_body(&r, body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let ok = || json_response(json!({"data": "ok"}));
    // The console calls a URL with no content when it is registered.
    if body.trim().is_empty() {
        return ok();
    }
    let Some(channel) = r.meituan.clone() else {
        return json_response(
            json!({"data": "ng", "error": {"code": 708, "msg": "Meituan is not enabled in this store"}}),
        );
    };
    let Adapter::Meituan(mt) = &channel.adapter else {
        return ok();
    };
    let f = fields(&body, &meituan::DOUBLE_ENCODED);
    if let Err(e) = mt.verify_push(&message, &f, Timestamp::now()) {
        r.refused.fetch_add(1, Ordering::Relaxed);
        if let Some(held) = REFUSED_LOG.check() {
            tracing::warn!(message = %message, more_since_last_line = held, "refused a Meituan push: {e}");
        }
        return json_response(json!({"data": "ng", "error": {"code": 703, "msg": e}}));
    }
    r.accepted.fetch_add(1, Ordering::Relaxed);
    let obj: serde_json::Map<String, Value> =
        f.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let order_id =
        id_text(&obj.get("order_id").cloned().unwrap_or(Value::Null)).unwrap_or_default();
    // Signed, so the platform sent it: an absurd one is answered as received (a refusal would
    // be retried for hours), kept as refused, and told once.
    let refuse = |reason: String| {
        let r = r.clone();
        let message = message.clone();
        let order_id = order_id.clone();
        async move {
            // The platform's retries carry a new timestamp and signature: the rest is the
            // message, and the order id alone when it is one.
            let content = if crate::store::order_check::check_id("order_id", &order_id).is_ok() {
                String::new()
            } else {
                f.iter()
                    .filter(|(k, _)| k != "timestamp" && k != "sig")
                    .map(|(k, v)| format!("{k}={v}&"))
                    .collect()
            };
            let id = intake::refusal_id(&message, &order_id, &content);
            intake::refuse(
                &r.store,
                &r.alerts,
                Platform::Meituan,
                "meituan-push",
                &id,
                &reason,
            )
            .await
        }
    };
    let acts = matches!(
        message.as_str(),
        "paid" | "new" | "cancel" | "refund" | "partrefund" | "logistics" | "remind"
    );
    if acts && let Err(e) = crate::store::order_check::check_id("order_id", &order_id) {
        return match refuse(e).await {
            Ok(()) => ok(),
            Err(_) => {
                json_response(json!({"data": "ng", "error": {"code": 700, "msg": "try again"}}))
            }
        };
    }
    let result = match message.as_str() {
        "paid" | "new" => match meituan::draft(&Value::Object(obj.clone())) {
            Ok(draft) => intake::take(
                &r.store,
                &r.alerts,
                draft,
                "meituan-push",
                &order_id,
                channel.config.auto_accept,
                channel.config.travel_buffer_secs,
            )
            .await
            .map(|_| ()),
            Err(e) => refuse(e).await,
        },
        "cancel" => {
            let reason = obj
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("用户取消")
                .to_string();
            intake::cancelled_by_platform(&r.store, Platform::Meituan, &order_id, &reason)
                .await
                .map(|_| ())
        }
        "refund" | "partrefund" => {
            let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
            let reason: String = text("reason").chars().take(200).collect();
            let refund_id: String = obj
                .get("refund_id")
                .and_then(id_text)
                .unwrap_or_default()
                .chars()
                .take(64)
                .collect();
            let (kind, items) = if message == "refund" {
                (RequestKind::FullRefund, vec![])
            } else {
                let food = obj.get("food").and_then(Value::as_str);
                (RequestKind::PartRefund, meituan::refund_items(food))
            };
            let push = intake::RefundPush {
                external_id: order_id.clone(),
                kind,
                refund_id,
                items,
                reason: if reason.is_empty() {
                    "用户申请退款".into()
                } else {
                    reason
                },
                notice: meituan::refund_notice(obj.get("notify_type").and_then(Value::as_str)),
            };
            let within = decide_within_ms(&channel.config);
            intake::meituan_refund(&r.store, &r.alerts, push, within).await
        }
        "logistics" => match meituan::rider(&obj, Timestamp::now()) {
            Some(rider) => intake::rider(&r.store, Platform::Meituan, &order_id, rider).await,
            None => {
                tracing::warn!(order = %order_id, "a rider push with a status not known: {:?}", obj.get("logistics_status"));
                Ok(())
            }
        },
        "remind" => r
            .store
            .remind(Platform::Meituan, &order_id)
            .await
            .map(|_| ()),
        // The platform's view of the store, told to every screen; a change made in the merchant
        // app becomes what the store wants (`Store::open_pushed`).
        "poi_status" => {
            let code = obj
                .get("poi_status")
                .and_then(id_text)
                .and_then(|c| c.parse().ok());
            match meituan::store_status(code) {
                Some((level, what)) => {
                    (r.alerts)(level, format!("Meituan says the store is {what}"), None);
                }
                None => tracing::warn!("a store-status push with a status not known: {code:?}"),
            }
            // Open (121) or resting (120), as Meituan has it now (a close made in the merchant
            // app included): what the screens show.
            match code {
                Some(121) => r
                    .store
                    .open_pushed(Platform::Meituan, true)
                    .await
                    .map(|_| ()),
                Some(120) => r
                    .store
                    .open_pushed(Platform::Meituan, false)
                    .await
                    .map(|_| ()),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    };
    match result {
        Ok(()) => ok(),
        Err(e) => {
            tracing::error!(error = %e, "could not apply a Meituan push; asking for a retry");
            json_response(json!({"data": "ng", "error": {"code": 700, "msg": "try again"}}))
        }
    }
}

async fn jd_push(
    State(r): State<Arc<Receivers>>,
    Path(message): Path<String>,
    body: axum::body::Body,
) -> Response {
    let body = match read_body(&r, body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let answer =
        |code: &str, msg: &str| json_response(json!({"code": code, "msg": msg, "data": ""}));
    let Some(channel) = r.jddj.clone() else {
        return answer("10016", "JD Daojia is not enabled in this store");
    };
    let Adapter::Jddj(jd) = &channel.adapter else {
        return answer("0", "success");
    };
    let f = fields(&body, &[]);
    let param = match jd.verify_push(&f, Timestamp::now()) {
        Ok(p) => p,
        Err(e) => {
            r.refused.fetch_add(1, Ordering::Relaxed);
            if let Some(held) = REFUSED_LOG.check() {
                tracing::warn!(message = %message, more_since_last_line = held, "refused a JD push: {e}");
            }
            return answer("10014", &e);
        }
    };
    r.accepted.fetch_add(1, Ordering::Relaxed);
    // Encrypted (`encrypt_jd_param_json`): the scheme is not documented, so it is refused with
    // what to do, never read as an empty push. Its identity is the ciphertext: JD's retries of
    // one bill (for hours) are told once.
    if param.is_null()
        && let Some((_, cipher)) = f.iter().find(|(k, _)| k == "encrypt_jd_param_json")
    {
        let id = intake::refusal_id(&message, "encrypted", cipher);
        let reason = "JD sent this push encrypted (encrypt_jd_param_json), which flashpick cannot read: turn push encryption off for this app in JD's developer console, and handle the order on the JD merchant app meanwhile";
        return match intake::refuse(
            &r.store,
            &r.alerts,
            Platform::Jddj,
            "jddj-push",
            &id,
            reason,
        )
        .await
        {
            Ok(()) => answer("0", "success"),
            Err(_) => answer("-10000", "try again"),
        };
    }
    let bill = id_text(&param["billId"])
        .or_else(|| id_text(&param["orderId"]))
        .unwrap_or_default();
    let status = id_text(&param["statusId"]).unwrap_or_default();
    // Signed but absurd (no order id, a parameter that is not an object, a 5,000-digit id):
    // answered as received, kept as refused, told once; never a fetch of order -1.
    let shape: Result<(), String> = if !param.is_object() {
        Err(format!(
            "jd_param_json is not an object: {}",
            truncated(&param.to_string())
        ))
    } else if !bill.is_empty() && !bill.bytes().all(|b| b.is_ascii_digit()) {
        // JD's order ids are numbers: "-1" or "abc" is not one.
        Err(format!(
            "billId `{}` is not a JD order id (digits only)",
            truncated(&bill)
        ))
    } else {
        crate::store::order_check::check_id("billId", &bill)
    };
    if let Err(reason) = shape {
        let mut content = param.clone();
        if let Some(o) = content.as_object_mut() {
            o.remove("timestamp");
        }
        let id = intake::refusal_id(&message, &bill, &content.to_string());
        return match intake::refuse(
            &r.store,
            &r.alerts,
            Platform::Jddj,
            "jddj-push",
            &id,
            &reason,
        )
        .await
        {
            Ok(()) => answer("0", "success"),
            Err(_) => answer("-10000", "try again"),
        };
    }
    let result = match message.as_str() {
        "newOrder" => {
            let message_id = format!("{message}:{bill}:{status}");
            r.store
                .enqueue_fetch("jddj-push", &message_id, Platform::Jddj, &bill)
                .await
                .map(|_| ())
        }
        "applyCancelOrder" => {
            let reason: String = param["remark"]
                .as_str()
                .or(param["reason"].as_str())
                .unwrap_or("顾客申请取消")
                .chars()
                .take(200)
                .collect();
            let within = decide_within_ms(&channel.config);
            intake::cancel_requested(&r.store, Platform::Jddj, &bill, &reason, within).await
        }
        "pushDeliveryStatus" => match jddj::rider(&param, Timestamp::now()) {
            Some(rider) => intake::rider(&r.store, Platform::Jddj, &bill, rider).await,
            None => {
                tracing::warn!(order = %bill, "a rider push with a status not known: {}", param["deliveryStatus"]);
                Ok(())
            }
        },
        "newApplyAfterSaleBill"
        | "newAfterSaleBill"
        | "updateApplyAfterSaleBill"
        | "afterSaleBillStatus" => {
            intake::jd_after_sale(&r.store, &r.alerts, &message, &bill, &status).await
        }
        "userCancelOrder" => {
            intake::cancelled_by_platform(&r.store, Platform::Jddj, &bill, "用户取消")
                .await
                .map(|_| ())
        }
        _ if status
            .parse::<i64>()
            .is_ok_and(|s| jddj::STATUS_CANCELLED.contains(&s)) =>
        {
            intake::cancelled_by_platform(&r.store, Platform::Jddj, &bill, "平台取消")
                .await
                .map(|_| ())
        }
        _ => Ok(()),
    };
    match result {
        Ok(()) => answer("0", "success"),
        // -10000 asks JD to push again later.
        Err(e) => {
            tracing::error!(error = %e, "could not apply a JD push; asking for a retry");
            answer("-10000", "try again")
        }
    }
}

/// The time a store has to decide a customer's request, in ms.
fn decide_within_ms(config: &crate::config::PlatformSection) -> i64 {
    i64::try_from(config.decide_within_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
