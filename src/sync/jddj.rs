//! JD Daojia (京东到家): everything specific to it — the system parameters and `jd_param_json`,
//! the signature's inputs, the doubly encoded response envelope and its codes, push verification,
//! and the order fields. See assets/platforms.md (the project's platform reference, with sources);
//! keep every JD detail in this file.

use super::{Action, DraftLine, DraftOrder, HttpCall, Kind, Verdict, id_text, sign};
use crate::config::{Delivery, PlatformSection, Secret};
use crate::model::china_time;
use crate::model::rider::Rider;
use crate::model::{Fen, Platform, Timestamp};
use serde_json::{Value, json};

/// The production gateway.
pub const DEFAULT_BASE: &str = "https://openapi.jddj.com/djapi";

/// JD tolerates ±6 minutes of clock skew; pushes outside it are refused as stale.
pub const PUSH_WINDOW_SECS: i64 = 360;

/// Orders per polling page.
pub const POLL_PAGE_SIZE: usize = 50;
/// Pages read per polling round at most.
pub const MAX_POLL_PAGES: usize = 10;

/// Order status: waiting for the merchant to accept.
pub const STATUS_WAITING: i64 = 41000;
/// Order statuses meaning the customer or the system cancelled.
pub const STATUS_CANCELLED: [i64; 2] = [20020, 20040];

/// A configured JD app for one store.
#[derive(Debug, Clone)]
pub struct Jddj {
    base: String,
    app_key: String,
    secret: Secret,
    token: Secret,
    station: String,
    operator: String,
    delivery: Delivery,
}

impl Jddj {
    /// From `[platforms.jddj]`.
    pub fn new(p: &PlatformSection) -> Self {
        Jddj {
            base: p
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE.into())
                .trim_end_matches('/')
                .to_string(),
            app_key: p.app_id.clone(),
            secret: p.secret.clone(),
            token: p.token.clone(),
            station: p.store_code.clone(),
            operator: p.operator.clone(),
            delivery: p.delivery,
        }
    }

    /// A signed call: the system parameters, the business parameters as one JSON string, `sign`.
    pub fn call(&self, path: &str, business: Value, now: Timestamp) -> HttpCall {
        let mut params: Vec<(String, String)> = vec![
            ("app_key".into(), self.app_key.clone()),
            ("token".into(), self.token.expose().to_string()),
            ("timestamp".into(), china_time::format(now)),
            ("format".into(), "json".into()),
            ("v".into(), "1.0".into()),
            ("jd_param_json".into(), business.to_string()),
        ];
        let refs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let sign = sign::jddj(&refs, self.secret.expose());
        params.push(("sign".into(), sign));
        HttpCall {
            post: true,
            url: format!("{}/{path}", self.base),
            params,
        }
    }

    /// The call an action makes.
    pub fn action(&self, action: &Action, now: Timestamp) -> Result<HttpCall, String> {
        let op = &self.operator;
        Ok(match action {
            Action::Confirm { order } => self.call(
                "ocs/orderAcceptOperate",
                json!({"orderId": order, "isAgreed": true, "operator": op}),
                now,
            ),
            Action::PickComplete { order, delivery } => {
                // The order's carrier decides; the store's setting is for orders that name none.
                let path = match delivery.unwrap_or(self.delivery) {
                    Delivery::Platform => "bm/open/api/order/OrderJDZBDelivery",
                    // The misspelling is the real path.
                    Delivery::Store => "bm/open/api/order/OrderSerllerDelivery",
                    Delivery::Pickup => "bm/open/api/order/OrderSelfMention",
                };
                self.call(path, json!({"orderId": order, "operator": op}), now)
            }
            Action::Adjust { order, lines } => {
                // Once per order, listing every line that remains, with its new count; lines
                // adjusted to zero are left out.
                let remaining: Vec<Value> = lines
                    .iter()
                    .filter(|l| l.kept_units() > 0)
                    .map(|l| json!({"outSkuId": l.code, "skuCount": l.kept_units()}))
                    .collect();
                if remaining.is_empty() {
                    return Err("every line would be adjusted to zero: the customer must cancel the order on JD".into());
                }
                self.call(
                    "orderAdjust/adjustOrder",
                    json!({"orderId": order, "operPin": op, "remark": "部分商品缺货", "oaosAdjustDTOList": remaining}),
                    now,
                )
            }
            Action::Cancel {
                order,
                reason,
                was_accepted,
            } => {
                if *was_accepted {
                    return Err("JD Daojia has no store-side cancel after accepting: ask the customer or JD support to cancel".into());
                }
                self.call(
                    "ocs/orderAcceptOperate",
                    json!({"orderId": order, "isAgreed": false, "operator": op, "remark": reason}),
                    now,
                )
            }
            Action::Stock(levels) => {
                let list: Vec<Value> = levels
                    .iter()
                    .map(|l| json!({"outSkuId": l.code, "stockQty": l.level}))
                    .collect();
                self.call(
                    "stock/batchUpdateCurrentQtys",
                    json!({"outStationNo": self.station, "userPin": op, "skuStockList": list}),
                    now,
                )
            }
            Action::FetchOrder { order } => {
                self.call("order/es/query", json!({"orderId": order}), now)
            }
            // closeStatus 0 open, 1 resting; the store named by the merchant's code [?].
            Action::SetOpen { open } => self.call(
                "store/updateStoreInfo4Open",
                json!({"outSystemId": self.station, "closeStatus": if *open { 0 } else { 1 }, "operator": op}),
                now,
            ),
            Action::CheckPickupCode { order, code } => self.call(
                "ocs/checkSelfPickCode",
                json!({"selfPickCode": code, "orderId": order, "operPin": op}),
                now,
            ),
            Action::Decide {
                order,
                kind,
                agree,
                reason,
            } => {
                if *kind != crate::model::request::RequestKind::Cancel {
                    return Err(format!(
                        "JD Daojia has no {} request to decide: settle it on JD's console",
                        kind.as_str()
                    ));
                }
                self.call(
                    "ocs/orderCancelOperate",
                    json!({"orderId": order, "isAgreed": agree, "operator": op, "remark": reason}),
                    now,
                )
            }
        })
    }

    /// Polling: one page of the orders waiting for the store, placed in the last day.
    pub fn poll_call(&self, page: usize, now: Timestamp) -> HttpCall {
        let since = Timestamp(now.0 - 24 * 3600 * 1000);
        self.call(
            "order/es/query",
            json!({
                "orderStatus": STATUS_WAITING, "deliveryStationNoIsv": self.station,
                "orderStartTime_begin": china_time::format(since), "orderStartTime_end": china_time::format(now),
                "pageNo": page, "pageSize": POLL_PAGE_SIZE,
            }),
            now,
        )
    }

    /// Checks a push and returns its `jd_param_json`.
    pub fn verify_push(
        &self,
        fields: &[(String, String)],
        now: Timestamp,
    ) -> Result<Value, String> {
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        if get("app_key") != Some(self.app_key.as_str()) {
            return Err("push for another app_key".into());
        }
        let sent = get("timestamp")
            .and_then(china_time::parse)
            .ok_or("push without a valid timestamp")?;
        if (now.0 - sent.0).abs() > PUSH_WINDOW_SECS * 1000 {
            return Err("stale push; check both clocks".into());
        }
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let want = sign::jddj(&refs, self.secret.expose());
        match get("sign") {
            Some(s) if sign::same(s, &want) => {}
            _ => return Err("bad signature".into()),
        }
        // Absent (or empty) is not `{}`: `Null`, which the caller refuses (an encrypted push carries
        // `encrypt_jd_param_json` instead, a scheme flashpick does not read).
        match get("jd_param_json").filter(|p| !p.trim().is_empty()) {
            Some(p) => serde_json::from_str(p).map_err(|e| format!("jd_param_json: {e}")),
            None => Ok(Value::Null),
        }
    }
}

/// What an answer to a call of `kind` means; on success, the inner `result`. A call succeeded
/// only when the HTTP status is 2xx and both the outer and the inner code are 0.
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
    let code = |v: &Value, k: &str| id_text(&v[k]);
    let Some(outer) = code(&v, "code") else {
        return (Verdict::Retry("an answer without a code".into()), None);
    };
    let msg = v["msg"].as_str().unwrap_or("").to_string();
    let why = format!("JD {outer}: {msg}");
    let verdict = match outer.as_str() {
        "0" => None,
        "-1" | "-10000" | "100022" => Some(Verdict::Retry(why)),
        "10032" => Some(Verdict::RateLimited(why)),
        "10013" => Some(Verdict::Permanent(format!(
            "{why} — renew platforms.jddj.token"
        ))),
        "10014" => Some(Verdict::Permanent(format!(
            "{why} — check platforms.jddj.secret and the clock"
        ))),
        _ => Some(Verdict::Permanent(why)),
    };
    if let Some(v) = verdict {
        return (v, None);
    }
    // `data` is a JSON string holding another envelope with its own code.
    let inner: Value = match &v["data"] {
        Value::String(s) if s.is_empty() && kind != Kind::Query => return (Verdict::Done, None),
        Value::String(s) => match serde_json::from_str(s) {
            Ok(i) => i,
            Err(e) => return (Verdict::Retry(format!("unreadable data: {e}")), None),
        },
        other @ Value::Object(_) => other.clone(),
        _ => return (Verdict::Retry("an answer without data".into()), None),
    };
    let Some(inner_code) = code(&inner, "code").or_else(|| code(&inner, "retCode")) else {
        return (Verdict::Retry("data without a code".into()), None);
    };
    if inner_code == "0" {
        let result = inner.get("result").cloned().unwrap_or(Value::Null);
        if kind == Kind::Query && result.is_null() {
            return (
                Verdict::Retry("a query answered without a result".into()),
                None,
            );
        }
        return (Verdict::Done, Some(result));
    }
    let inner_msg = inner["msg"]
        .as_str()
        .or(inner["retMsg"].as_str())
        .unwrap_or("")
        .to_string();
    // "请勿重复操作": the order is already in the state asked for — success for a confirm, a pick
    // complete, an adjustment or a decision repeated after a lost answer; never for a rejection
    // of a new order (that is a cancel).
    if inner_msg.contains("重复")
        && matches!(
            kind,
            Kind::Confirm | Kind::PickComplete | Kind::Adjust | Kind::Decide
        )
    {
        return (Verdict::Done, None);
    }
    // The gateway took the call (signature, token); the business said no.
    (
        Verdict::Refused(format!("JD {inner_code}: {inner_msg}")),
        None,
    )
}

/// An order from `order/es/query`.
pub fn draft(v: &Value) -> Result<DraftOrder, String> {
    let external_id = id_text(&v["orderId"]).ok_or("the order has no orderId")?;
    // A time that is there but does not read is refused, never taken as "now".
    let time = |k: &str| -> Result<Option<Timestamp>, String> {
        match &v[k] {
            Value::Null => Ok(None),
            Value::String(s) if s.is_empty() => Ok(None),
            t => t
                .as_str()
                .and_then(china_time::parse)
                .map(Some)
                .ok_or_else(|| format!("order {external_id}: {k} {t} is not a time")),
        }
    };
    // A count or price that does not read as a whole number is a refusal, never a 0.
    let lines = v["product"]
        .as_array()
        .ok_or_else(|| format!("order {external_id} has no product list"))?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let n = i + 1;
            let count = p["skuCount"].as_i64().ok_or_else(|| {
                format!(
                    "order {external_id} item {n}: skuCount {} is not a whole number",
                    p["skuCount"]
                )
            })?;
            let price = p["skuStorePrice"].as_i64().ok_or_else(|| {
                format!(
                    "order {external_id} item {n}: skuStorePrice {} is not a price in fen",
                    p["skuStorePrice"]
                )
            })?;
            Ok(DraftLine {
                merchant_code: id_text(&p["skuIdIsv"]),
                upc: id_text(&p["upcCode"]),
                platform_item: id_text(&p["skuId"]),
                name: p["skuName"].as_str().unwrap_or("").to_string(),
                count,
                unit_price: Fen(price),
                unit_weight_g: p["skuWeight"].as_i64().filter(|w| *w > 0),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let placed_at = time("orderStartTime")?.unwrap_or_else(Timestamp::now);
    let promised_at = time("orderPreEndDeliveryTime")?;
    let platform_deadline = time("pickDeadline")?;
    let (delivery, unknown_carrier) = carrier(id_text(&v["deliveryCarrierNo"]).as_deref());
    Ok(DraftOrder {
        platform: Platform::Jddj,
        external_id,
        day_seq: v["orderNum"].as_i64().and_then(|n| u32::try_from(n).ok()),
        placed_at,
        promised_at,
        platform_deadline,
        cancelled: v["orderStatus"]
            .as_i64()
            .is_some_and(|s| STATUS_CANCELLED.contains(&s)),
        remark: v["orderBuyerRemark"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        lines,
        delivery,
        unknown_carrier,
        // JD checks the customer's own code (ocs/checkSelfPickCode); none is printed.
        pickup_code: None,
    })
}

/// Who delivers a JD order, by its `deliveryCarrierNo`: 9966 JD's crowd riders, 2938 the store's
/// own, 9999 the customer collects. Another carrier (1130 Dada, …) is delivered by riders the
/// store does not send: taken as the platform's, and named so it can be told.
pub fn carrier(no: Option<&str>) -> (Option<Delivery>, Option<String>) {
    match no {
        None | Some("") => (None, None),
        Some("9966") => (Some(Delivery::Platform), None),
        Some("2938") => (Some(Delivery::Store), None),
        Some("9999") => (Some(Delivery::Pickup), None),
        Some(other) => (
            Some(Delivery::Platform),
            Some(other.chars().take(16).collect()),
        ),
    }
}

/// The orders listed by an `order/es/query` result.
pub fn orders_in(result: &Value) -> Vec<Value> {
    result["resultList"].as_array().cloned().unwrap_or_default()
}

/// A rider push (`pushDeliveryStatus`): `deliveryStatus` 20 rider assigned, 22 rider changed,
/// 23 at the store, 30 picked up, 40 delivered, 21 and 25 cancelled or the pickup failed (the
/// codes as one production integration reads them; JD's own table was not seen:
/// assets/platforms.md). `None` for any other code (told, never guessed).
pub fn rider(param: &Value, now: Timestamp) -> Option<Rider> {
    use crate::model::rider::{RiderStatus as S, mask_phone};
    let code = id_text(&param["deliveryStatus"])?;
    let status = match code.as_str() {
        "10" => S::Dispatching,
        "20" | "22" => S::Assigned,
        "23" => S::AtStore,
        "30" => S::PickedUp,
        "40" => S::Delivered,
        "21" | "25" => S::Cancelled,
        _ => return None,
    };
    let text = |k: &str| param[k].as_str().filter(|s| !s.trim().is_empty());
    let at = text("deliveryStatusTime")
        .and_then(china_time::parse)
        .unwrap_or(now);
    Some(Rider {
        status,
        name: text("deliveryManName").map(|n| n.chars().take(20).collect()),
        phone: text("deliveryManPhone").map(mask_phone),
        at,
        arrived_at: None,
    })
}
