//! Meituan Shangou (美团闪购): everything specific to it — URLs, parameters, the signature's
//! inputs, the response envelope and its error codes, push verification and decoding, and the
//! order fields. See assets/platforms.md (the project's platform reference, with sources); keep every
//! Meituan detail in this file.

use super::{Action, DraftLine, DraftOrder, HttpCall, Kind, Verdict, id_text, sign, yuan_to_fen};
use crate::config::{PlatformSection, Secret};
use crate::model::request::RequestItem;
use crate::model::rider::Rider;
use crate::model::{Platform, Timestamp};
use serde_json::{Value, json};

/// The production gateway.
pub const DEFAULT_BASE: &str = "https://waimaiopen.meituan.com/api/v1";

/// Push fields that arrive URL-encoded a second time inside the form; decoded before the
/// signature is checked.
pub const DOUBLE_ENCODED: [&str; 8] = [
    "detail",
    "caution",
    "recipient_address",
    "recipient_name",
    "wm_poi_name",
    "wm_poi_address",
    "extras",
    "poi_receive_detail",
];

/// How far a push's timestamp may be from our clock before it is refused as stale or replayed.
pub const PUSH_WINDOW_SECS: i64 = 600;

/// A configured Meituan app for one store.
#[derive(Debug, Clone)]
pub struct Meituan {
    base: String,
    app_id: String,
    secret: Secret,
    token: Secret,
    store_code: String,
    push_url: Option<String>,
}

impl Meituan {
    /// From `[platforms.meituan]`.
    pub fn new(p: &PlatformSection) -> Self {
        Meituan {
            base: p
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE.into())
                .trim_end_matches('/')
                .to_string(),
            app_id: p.app_id.clone(),
            secret: p.secret.clone(),
            token: p.token.clone(),
            store_code: p.store_code.clone(),
            push_url: p.push_url.clone(),
        }
    }

    /// A signed call: system parameters added, `sig` over the URL and every parameter.
    pub fn call(
        &self,
        post: bool,
        path: &str,
        business: Vec<(String, String)>,
        now: Timestamp,
    ) -> HttpCall {
        let url = format!("{}/{path}", self.base);
        let mut params = business;
        params.push(("app_id".into(), self.app_id.clone()));
        params.push(("timestamp".into(), (now.0 / 1000).to_string()));
        if !self.token.is_empty() {
            params.push(("access_token".into(), self.token.expose().to_string()));
        }
        let refs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let sig = sign::meituan(&url, &refs, self.secret.expose());
        params.push(("sig".into(), sig));
        HttpCall { post, url, params }
    }

    /// A partial refund (`order/applyPartRefund`) is not known to be deduped by Meituan: after a
    /// lost answer, its effect is looked up in the refundable counts (`order/getPartRefundFoods`)
    /// before anything is sent again. Every other action is safe to repeat (`assets/platforms.md`).
    pub fn look(&self, action: &Action, now: Timestamp) -> Option<super::look::Lookup> {
        let Action::Adjust { order, lines } = action else {
            return None;
        };
        let asked: Vec<(String, i64)> = lines
            .iter()
            .filter(|l| l.short_units() > 0)
            .map(|l| (l.code.clone(), l.short_units()))
            .collect();
        if asked.is_empty() {
            return Some(Err("an adjustment with no short line".into()));
        }
        let call = self.call(
            false,
            "order/getPartRefundFoods",
            vec![("order_id".to_string(), order.clone())],
            now,
        );
        Some(Ok((call, asked)))
    }

    /// The call an action makes.
    pub fn action(&self, action: &Action, now: Timestamp) -> Result<HttpCall, String> {
        let p = |k: &str, v: String| (k.to_string(), v);
        Ok(match action {
            Action::Confirm { order } => self.call(
                false,
                "order/confirm",
                vec![p("order_id", order.clone())],
                now,
            ),
            Action::PickComplete { order, .. } => self.call(
                false,
                "order/preparationMealComplete",
                vec![p("order_id", order.clone())],
                now,
            ),
            Action::Cancel { order, reason, .. } => self.call(
                false,
                "order/cancel",
                vec![
                    p("order_id", order.clone()),
                    p("reason", reason.clone()),
                    // 2009: sold out, the reason a store cancels.
                    p("reason_code", "2009".into()),
                ],
                now,
            ),
            Action::Adjust { order, lines } => {
                let food: Vec<Value> = lines
                    .iter()
                    .filter(|l| l.short_units() > 0)
                    .map(|l| {
                        json!({
                            "app_food_code": l.code,
                            "sku_id": l.platform_item.clone().unwrap_or_else(|| l.code.clone()),
                            "count": l.short_units(),
                        })
                    })
                    .collect();
                if food.is_empty() {
                    return Err("an adjustment with no short line".into());
                }
                self.call(
                    true,
                    "order/applyPartRefund",
                    vec![
                        p("order_id", order.clone()),
                        p("reason", "部分商品缺货".into()),
                        p("food_data", Value::Array(food).to_string()),
                    ],
                    now,
                )
            }
            Action::Stock(levels) => {
                let food: Vec<Value> = levels
                    .iter()
                    .map(|l| {
                        let sku_id = l.item.as_deref().unwrap_or(&l.code);
                        json!({"app_food_code": l.code, "skus": [{"sku_id": sku_id, "stock": l.level.to_string()}]})
                    })
                    .collect();
                self.call(
                    true,
                    "retail/sku/stock",
                    vec![
                        p("app_poi_code", self.store_code.clone()),
                        p("food_data", Value::Array(food).to_string()),
                    ],
                    now,
                )
            }
            // 营业 / 休息 (assets/platforms.md).
            Action::SetOpen { open } => self.call(
                true,
                if *open { "poi/open" } else { "poi/close" },
                vec![p("app_poi_code", self.store_code.clone())],
                now,
            ),
            Action::CheckPickupCode { .. } => {
                return Err(
                    "Meituan's pickup code is the order's day number: it is checked in the store"
                        .into(),
                );
            }
            Action::Decide {
                order,
                agree,
                reason,
                ..
            } => {
                // One pair of calls decides both full and partial refund requests
                // (assets/platforms.md, "Customer requests").
                let path = if *agree {
                    "order/refund/agree"
                } else {
                    "order/refund/reject"
                };
                let reason = if reason.is_empty() {
                    "同意退款"
                } else {
                    reason
                };
                self.call(
                    false,
                    path,
                    vec![p("order_id", order.clone()), p("reason", reason.into())],
                    now,
                )
            }
            Action::FetchOrder { order } => self.call(
                false,
                "order/getOrderDetail",
                vec![p("order_id", order.clone())],
                now,
            ),
        })
    }

    /// Polling: today's latest day sequence number.
    pub fn day_seq_call(&self, now: Timestamp) -> HttpCall {
        self.call(
            false,
            "order/getOrderDaySeq",
            vec![("app_poi_code".into(), self.store_code.clone())],
            now,
        )
    }

    /// Polling: the order id behind a day sequence number (`dt` is `yyyyMMdd`, China time).
    pub fn order_id_call(&self, day_seq: u32, now: Timestamp) -> HttpCall {
        let dt = crate::model::china_time::date(now).replace('-', "");
        self.call(
            false,
            "order/getOrderIdByDaySeq",
            vec![
                ("app_poi_code".into(), self.store_code.clone()),
                ("dt".into(), dt),
                ("day_seq".into(), day_seq.to_string()),
            ],
            now,
        )
    }

    /// Checks a push: the app, the signature over our push URL, and the timestamp's freshness.
    /// `fields` are the form fields, double-encoded ones already decoded.
    pub fn verify_push(
        &self,
        message: &str,
        fields: &[(String, String)],
        now: Timestamp,
    ) -> Result<(), String> {
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        if get("app_id") != Some(self.app_id.as_str()) {
            return Err("push for another app_id".into());
        }
        let sent: i64 = get("timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or("push without timestamp")?;
        if (now.0 / 1000 - sent).abs() > PUSH_WINDOW_SECS {
            return Err(format!("stale push (timestamp {sent}); check both clocks"));
        }
        let url = self
            .push_url
            .as_deref()
            .ok_or("platforms.meituan.push_url is not set")?;
        let url = format!("{}/{message}", url.trim_end_matches('/'));
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let want = sign::meituan(&url, &refs, self.secret.expose());
        match get("sig") {
            Some(sig) if sign::same(sig, &want) => Ok(()),
            _ => Err("bad signature".into()),
        }
    }
}

/// What an answer to a call of `kind` means; `data` is returned for queries. Success is a 2xx
/// answer whose `data` is `"ok"` (actions) or the data asked for (queries) — nothing else.
pub fn classify(status: u16, body: &str, kind: Kind) -> (Verdict, Option<Value>) {
    if status == 429 {
        return (Verdict::RateLimited("HTTP 429".into()), None);
    }
    if status >= 500 {
        return (Verdict::Retry(format!("HTTP {status}")), None);
    }
    if !(200..300).contains(&status) {
        return (Verdict::Permanent(format!("HTTP {status}")), None);
    }
    let v: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return (Verdict::Retry(format!("unreadable answer: {e}")), None),
    };
    match &v["data"] {
        Value::String(s) if s == "ok" => return (Verdict::Done, None),
        Value::String(s) if s == "ng" => {}
        d @ (Value::Object(_) | Value::Array(_) | Value::Number(_)) if kind == Kind::Query => {
            return (Verdict::Done, Some(d.clone()));
        }
        _ => {
            return (
                Verdict::Retry(format!("unexpected answer: {}", truncate(body))),
                None,
            );
        }
    }
    let code = v["error"]["code"].as_i64().unwrap_or(0);
    let msg = v["error"]["msg"].as_str().unwrap_or("").to_string();
    let why = format!("Meituan {code}: {msg}");
    // 808 "operation failed" covers "already in that state" and "not yet possible".
    let already = msg.contains('已');
    let verdict = match code {
        700 => Verdict::Retry(why),
        711 => Verdict::RateLimited(why),
        808 if matches!(kind, Kind::Confirm | Kind::Cancel) => Verdict::Done,
        // A refund is never "already" done (已取消 / 已完成 means it was not paid), and a read
        // answered so has nothing to read.
        808 if already && !matches!(kind, Kind::Adjust | Kind::Query) => Verdict::Done,
        // Pick complete is refused for about a minute after confirming: try again.
        808 if kind == Kind::PickComplete => Verdict::Retry(why),
        703 => Verdict::Permanent(format!(
            "{why} — check platforms.meituan.secret and the clock"
        )),
        4001 => Verdict::Permanent(format!("{why} — renew platforms.meituan.token")),
        // Missing or malformed parameters, an unknown app, no permission: the store's side.
        701 | 702 | 705 | 708 => Verdict::Permanent(why),
        // The order, item or request does not allow it.
        _ => Verdict::Refused(why),
    };
    (verdict, None)
}

fn truncate(body: &str) -> String {
    body.chars().take(120).collect()
}

/// A whole number, written as a number or a string.
fn whole(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// What a refund push (Meituan doc 204 `refund`, doc 207 `partrefund`) says, by its
/// `notify_type` (the SDKs and integrations agree: only `agree` grants the refund).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundNotice {
    /// `apply` (full) or `part` (partial): the customer asks; the store decides (the order goes
    /// on meanwhile).
    Requested,
    /// `agree`: the refund is granted.
    Agreed,
    /// `reject`: refused (by the store's decision, or Meituan's service): the order goes on.
    Rejected,
    /// `cancelRefund`, `cancelRefundComplaint`: the customer withdrew it: the order goes on.
    Withdrawn,
    /// Anything else: not acted on (cancelling on a guess could release the stock of an order
    /// that is still delivered), told to the store.
    Unknown(String),
}

/// Reads a refund push's `notify_type`.
pub fn refund_notice(notify_type: Option<&str>) -> RefundNotice {
    match notify_type.unwrap_or_default() {
        "apply" | "part" => RefundNotice::Requested,
        "agree" => RefundNotice::Agreed,
        "reject" => RefundNotice::Rejected,
        "cancelRefund" | "cancelRefundComplaint" => RefundNotice::Withdrawn,
        other => RefundNotice::Unknown(other.chars().take(32).collect()),
    }
}

/// The items of a partial-refund push (`food`: a JSON list of `app_food_code`, `food_name` and
/// `count`, the units refunded this time). At most 50, names cut to 40 characters; an entry
/// without a positive count is kept with count 0 (shown, never taken off an order).
pub fn refund_items(food: Option<&str>) -> Vec<RequestItem> {
    food.and_then(|f| serde_json::from_str::<Value>(f).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .take(50)
        .map(|f| {
            let cut = |k: &str| {
                f[k].as_str()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.chars().take(40).collect::<String>())
            };
            RequestItem {
                code: cut("app_food_code"),
                name: cut("food_name").unwrap_or_default(),
                count: whole(&f["count"])
                    .filter(|n| (1..=crate::model::MAX_QTY).contains(n))
                    .unwrap_or(0),
            }
        })
        .collect()
}

/// An order from a push (`paid`) or from `order/getOrderDetail`.
pub fn draft(v: &Value) -> Result<DraftOrder, String> {
    let external_id = id_text(&v["order_id"]).ok_or("the order has no order_id")?;
    let secs = |k: &str| {
        v[k].as_i64()
            .or_else(|| v[k].as_str().and_then(|s| s.parse().ok()))
    };
    let detail = match &v["detail"] {
        Value::String(s) => {
            serde_json::from_str(s).map_err(|e| format!("detail is not JSON: {e}"))?
        }
        d @ Value::Array(_) => d.clone(),
        _ => return Err(format!("order {external_id} has no detail")),
    };
    // Every figure must read as one: a quantity or price that does not is a refusal, never a 0
    // (a line silently dropped, an order priced at nothing).
    let lines = detail
        .as_array()
        .ok_or("detail is not a list")?
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let n = i + 1;
            let count = whole(&d["quantity"]).ok_or_else(|| {
                format!(
                    "order {external_id} item {n}: quantity {} is not a whole number",
                    d["quantity"]
                )
            })?;
            let price = yuan_to_fen(&d["price"]).ok_or_else(|| {
                format!(
                    "order {external_id} item {n}: price {} is not a price",
                    d["price"]
                )
            })?;
            Ok(DraftLine {
                merchant_code: id_text(&d["app_food_code"]),
                upc: id_text(&d["upc"]),
                platform_item: id_text(&d["sku_id"]),
                name: d["food_name"].as_str().unwrap_or("").to_string(),
                count,
                unit_price: crate::model::Fen(price),
                unit_weight_g: d["weight"].as_i64().filter(|w| *w > 0),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    // Seconds to a moment; a figure no clock can show (i64::MAX) is refused, never wrapped.
    let moment = |k: &str| -> Result<Option<Timestamp>, String> {
        match secs(k) {
            // Present but not a number: refused, never taken as "now" (which would pass the
            // time window).
            None if !v[k].is_null() && v[k] != "" => {
                Err(format!("order {external_id}: {k} {} is not a time", v[k]))
            }
            None | Some(0) => Ok(None),
            Some(s) => s
                .checked_mul(1000)
                .map(|ms| Some(Timestamp(ms)))
                .ok_or_else(|| format!("order {external_id}: {k} {s} is not a time")),
        }
    };
    let promised = match moment("delivery_time")? {
        Some(t) if t.0 > 0 => Some(t),
        _ => moment("estimate_arrival_time")?.filter(|t| t.0 > 0),
    };
    let day_seq = secs("day_seq").and_then(|n| u32::try_from(n).ok());
    let pickup = secs("pick_type") == Some(1);
    Ok(DraftOrder {
        platform: Platform::Meituan,
        external_id: external_id.clone(),
        day_seq,
        // A customer collecting the order shows its day number (assets/platforms.md).
        pickup_code: day_seq.filter(|_| pickup).map(|n| n.to_string()),
        placed_at: moment("ctime")?.unwrap_or_else(Timestamp::now),
        promised_at: promised,
        platform_deadline: None,
        cancelled: secs("status") == Some(9),
        remark: remark(v["caution"].as_str(), secs("is_pre_sale_order") == Some(1)),
        lines,
        // `pick_type` 1: the customer collects it (自提).
        delivery: pickup.then_some(crate::model::Delivery::Pickup),
        unknown_carrier: None,
    })
}

/// The customer's remark (`caution`); a pre-sale order (预售, `is_pre_sale_order` 1) says so
/// first, so the floor sees it is not an ordinary order. When it is due comes from its
/// `delivery_time` like any booked order's; a pre-sale order without one is taken as live.
fn remark(caution: Option<&str>, pre_sale: bool) -> Option<String> {
    let caution = caution.filter(|s| !s.is_empty());
    match (pre_sale, caution) {
        (true, Some(c)) => Some(format!("【预售 pre-sale】{c}")),
        (true, None) => Some("【预售 pre-sale】".into()),
        (false, c) => c.map(str::to_string),
    }
}

/// A rider push (Meituan doc 171, `logistics_status`): 10 rider confirmed, 15 at the store, 20
/// picked up, 40 delivered, 100 cancelled; 0 and 5 (sent to delivery, queued) are the platform
/// still looking. `None` for a status not in that list (told, never guessed). `time` is the
/// event's Unix second; `now` stands in when it is missing.
pub fn rider(fields: &serde_json::Map<String, Value>, now: Timestamp) -> Option<Rider> {
    use crate::model::rider::{RiderStatus as S, mask_phone};
    let status = match fields.get("logistics_status").and_then(whole)? {
        0 | 5 => S::Dispatching,
        10 => S::Assigned,
        15 => S::AtStore,
        20 => S::PickedUp,
        40 => S::Delivered,
        100 => S::Cancelled,
        _ => return None,
    };
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let at = fields
        .get("time")
        .and_then(whole)
        .filter(|t| *t > 0)
        .map_or(now, |t| Timestamp(t.saturating_mul(1000)));
    Some(Rider {
        status,
        name: text("dispatcher_name").map(|n| n.chars().take(20).collect()),
        phone: text("dispatcher_mobile").map(mask_phone),
        at,
        arrived_at: None,
    })
}

/// A store-status push (doc 349, `poi_status`): 121 open, 120 resting (休息), 18 online, 19
/// offline; what it means for the store's screens, or `None` for a code not in that list.
pub fn store_status(code: Option<i64>) -> Option<(&'static str, &'static str)> {
    match code? {
        121 => Some(("info", "open for orders")),
        120 => Some((
            "warning",
            "resting (休息): no new orders from Meituan until it opens again",
        )),
        18 => Some(("info", "online")),
        19 => Some((
            "error",
            "offline: no orders from Meituan; check the store on Meituan's merchant console",
        )),
        _ => None,
    }
}
