//! After-sale in the simulated platforms: customers' refund and cancel requests, the store's
//! decisions on them (with the platforms' rules), and the pushes that tell the agent. Written
//! from the platform reference, apart from the adapters.

use super::Sim;
use super::push;
use super::state::{JD_CANCELLED, MT_CANCELLED, SimOrder, State};
use crate::model::{Platform, Timestamp};
use axum::Json;
use axum::extract::State as AxState;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// JD: the customer asked to cancel, waiting for the store.
pub const JD_CANCEL_ASKED: i64 = 20030;

/// A customer's request on a simulated order.
#[derive(Debug, Clone, Serialize)]
pub struct SimRequest {
    /// `full_refund`, `part_refund` or `cancel`.
    pub kind: String,
    /// Meituan's refund id.
    pub refund_id: String,
    /// Items of a partial refund: `[{app_food_code, food_name, count}]`.
    pub food: Value,
    /// `None` while open; then whether it was agreed.
    pub decided: Option<bool>,
    /// Who decided: `store` or `platform`.
    pub decided_by: Option<String>,
}

/// What a decision call came to.
pub enum Decided {
    /// Taken; the order's effect is recorded.
    Done,
    /// Refused with the platform's words.
    Refused(&'static str),
}

impl State {
    /// The store decides the order's request: refused when there is none, when it was decided
    /// otherwise already; the same decision again is "already done".
    pub fn decide(&mut self, platform: Platform, id: &str, kind: &str, agree: bool) -> Decided {
        let Some(o) = self.orders.get_mut(id).filter(|o| o.platform == platform) else {
            return Decided::Refused("订单不存在");
        };
        let Some(r) = o
            .request
            .as_mut()
            .filter(|r| r.kind == kind || kind.is_empty())
        else {
            return Decided::Refused(match platform {
                Platform::Meituan => "该订单没有待处理的退款申请",
                _ => "该订单没有取消申请",
            });
        };
        let cancelled = o.cancelled;
        match r.decided {
            None if cancelled => return Decided::Refused("订单已取消"),
            Some(d) if d == agree => {
                return Decided::Refused(match platform {
                    Platform::Meituan => "退款申请已处理",
                    _ => "请勿重复操作",
                });
            }
            Some(_) => return Decided::Refused("申请状态不符，不能操作"),
            None => {}
        }
        r.decided = Some(agree);
        r.decided_by = Some("store".into());
        let (kind, refund_id, food) = (r.kind.clone(), r.refund_id.clone(), r.food.clone());
        if agree && kind != "part_refund" {
            cancel(o);
        }
        if agree && kind == "part_refund" {
            for f in food.as_array().into_iter().flatten() {
                let code = f["app_food_code"].as_str();
                if let Some(i) = o.items.iter_mut().find(|i| Some(i.sku.as_str()) == code) {
                    i.refunded += f["count"].as_i64().unwrap_or(0);
                }
            }
        }
        let action = format!("{}_{}", kind, if agree { "agree" } else { "reject" });
        let detail = json!({"refund_id": refund_id, "food": food});
        self.effect(platform, &action, Some(id), detail);
        Decided::Done
    }
}

fn cancel(o: &mut SimOrder) {
    o.cancelled = true;
    o.status = if o.platform == Platform::Meituan {
        MT_CANCELLED
    } else {
        JD_CANCELLED
    };
}

/// `POST /sim/refund`: a Meituan refund notice about an order, as the platform would push it:
/// `notify_type` `apply` / `part` open a request (partial with `items`), `agree` / `reject` /
/// `cancelRefund` settle it as the platform's own decision or the customer's withdrawal.
#[derive(Deserialize)]
pub struct RefundReq {
    order_id: String,
    notify_type: String,
    #[serde(default)]
    refund_id: Option<String>,
    /// Items of a partial refund: `[[sku, count], …]`.
    #[serde(default)]
    items: Vec<(String, i64)>,
    #[serde(default)]
    reason: Option<String>,
}

fn bad(msg: impl Into<String>) -> Response {
    (
        axum::http::StatusCode::BAD_REQUEST,
        Json(json!({"error": msg.into()})),
    )
        .into_response()
}

/// The handler of `POST /sim/refund`.
pub async fn refund(AxState(sim): AxState<Arc<Sim>>, Json(req): Json<RefundReq>) -> Response {
    let partial = !req.items.is_empty() || req.notify_type == "part";
    let kind = if partial {
        "part_refund"
    } else {
        "full_refund"
    };
    let fields = {
        let mut st = sim.state.lock().expect("sim state");
        let Some(o) = st
            .orders
            .get_mut(&req.order_id)
            .filter(|o| o.platform == Platform::Meituan)
        else {
            return bad("no such Meituan order");
        };
        let food: Vec<Value> = req
            .items
            .iter()
            .map(|(sku, n)| {
                let name = o
                    .items
                    .iter()
                    .find(|i| &i.sku == sku)
                    .map(|i| i.name.clone())
                    .unwrap_or_default();
                json!({"app_food_code": sku, "food_name": name, "count": n})
            })
            .collect();
        let refund_id = req
            .refund_id
            .clone()
            .unwrap_or_else(|| format!("{}{}", req.order_id, o.items.len()));
        match req.notify_type.as_str() {
            "apply" | "part" => {
                o.request = Some(SimRequest {
                    kind: kind.into(),
                    refund_id: refund_id.clone(),
                    food: Value::Array(food.clone()),
                    decided: None,
                    decided_by: None,
                });
            }
            t @ ("agree" | "reject") => {
                let agree = t == "agree";
                if let Some(r) = o.request.as_mut().filter(|r| r.decided.is_none()) {
                    r.decided = Some(agree);
                    r.decided_by = Some("platform".into());
                }
                if agree && !partial {
                    cancel(o);
                }
                // A granted partial refund is paid: less can be refunded after it.
                if agree && partial {
                    for (sku, n) in &req.items {
                        if let Some(i) = o.items.iter_mut().find(|i| &i.sku == sku) {
                            i.refunded += n;
                        }
                    }
                }
            }
            _ => {
                if o.request.as_ref().is_some_and(|r| r.decided.is_none()) {
                    o.request = None;
                }
            }
        }
        let mut fields = vec![
            ("order_id".to_string(), req.order_id.clone()),
            ("notify_type".to_string(), req.notify_type.clone()),
            ("refund_id".to_string(), refund_id),
            (
                "reason".to_string(),
                req.reason.clone().unwrap_or_else(|| "不想要了".into()),
            ),
            ("ctime".to_string(), (Timestamp::now().0 / 1000).to_string()),
        ];
        if partial {
            fields.push(("food".to_string(), Value::Array(food).to_string()));
        }
        fields
    };
    sim.bump();
    let message = if partial { "partrefund" } else { "refund" };
    push::meituan_notice(&sim, message, &req.order_id, fields).await;
    Json(json!({"pushed": message})).into_response()
}

/// `POST /sim/cancel_request`: a JD customer asks to cancel (`applyCancelOrder`).
#[derive(Deserialize)]
pub struct CancelAsk {
    order_id: String,
}

/// The handler of `POST /sim/cancel_request`.
pub async fn cancel_request(
    AxState(sim): AxState<Arc<Sim>>,
    Json(req): Json<CancelAsk>,
) -> Response {
    {
        let mut st = sim.state.lock().expect("sim state");
        let Some(o) = st
            .orders
            .get_mut(&req.order_id)
            .filter(|o| o.platform == Platform::Jddj && !o.cancelled)
        else {
            return bad("no such open JD order");
        };
        o.request = Some(SimRequest {
            kind: "cancel".into(),
            refund_id: String::new(),
            food: Value::Null,
            decided: None,
            decided_by: None,
        });
    }
    sim.bump();
    push::jd_notice(&sim, "applyCancelOrder", &req.order_id, JD_CANCEL_ASKED).await;
    Json(json!({"pushed": "applyCancelOrder"})).into_response()
}

/// `POST /sim/after_sale`: JD pushes an after-sale bill (`newApplyAfterSaleBill` by default, or
/// `message`) for the order, `billId` the bill's own number. Its fields beyond the push's common
/// `billId` / `statusId` are not documented, so none are invented.
#[derive(Deserialize)]
pub struct AfterSale {
    order_id: String,
    bill_id: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<i64>,
}

/// The handler of `POST /sim/after_sale`.
pub async fn after_sale_bill(
    AxState(sim): AxState<Arc<Sim>>,
    Json(req): Json<AfterSale>,
) -> Response {
    let message = req
        .message
        .unwrap_or_else(|| "newApplyAfterSaleBill".into());
    let known = [
        "newApplyAfterSaleBill",
        "newAfterSaleBill",
        "updateApplyAfterSaleBill",
        "afterSaleBillStatus",
    ];
    if !known.contains(&message.as_str()) {
        return bad(format!("message is one of {known:?}"));
    }
    {
        let st = sim.state.lock().expect("sim state");
        if st
            .orders
            .get(&req.order_id)
            .is_none_or(|o| o.platform != Platform::Jddj)
        {
            return bad("no such JD order");
        }
    }
    let param = json!({
        "billId": req.bill_id,
        "statusId": req.status.unwrap_or(10).to_string(),
        "timestamp": crate::model::china_time::format(crate::model::Timestamp::now()),
    });
    push::jd_push_param(&sim, &message, &req.order_id, param).await;
    Json(json!({"pushed": message})).into_response()
}
