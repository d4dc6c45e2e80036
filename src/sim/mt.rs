//! The Meituan side: `/api/v1/<path>`, signatures checked exactly as Meituan does (703), order
//! rules enforced (confirm twice → 808, pick complete before confirm → 808, …).

use super::Sim;
use super::after_sale::Decided;
use super::sign;
use super::state::{self, MT_CANCELLED, MT_CONFIRMED};
use crate::model::Platform;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

fn ng(code: i64, msg: &str) -> Response {
    axum::Json(json!({"data": "ng", "error": {"code": code, "msg": msg}})).into_response()
}

fn ok(data: Value) -> Response {
    axum::Json(json!({ "data": data })).into_response()
}

/// Every Meituan call; waiters are told after each.
pub async fn handle(
    State(sim): State<Arc<Sim>>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    // Handled to the end even when the caller hangs up, as a real platform does: a store that
    // dies mid-call may find the change made.
    let work = tokio::spawn(async move {
        let answer = answer(&sim, method, headers, path.clone(), query, body).await;
        let lost = sim
            .state
            .lock()
            .expect("sim state")
            .take_lost_answer(Platform::Meituan, &path);
        sim.bump();
        match lost {
            Some(kind) => super::fault::after_call(kind),
            None => answer,
        }
    });
    work.await.unwrap_or_else(|_| ng(700, "系统错误"))
}

async fn answer(
    sim: &Arc<Sim>,
    method: Method,
    headers: HeaderMap,
    path: String,
    query: Option<String>,
    body: String,
) -> Response {
    let fault = sim
        .state
        .lock()
        .expect("sim state")
        .call(Platform::Meituan, &path);
    if let Some(early) = super::fault::before_call(fault, || ng(711, "调用频率超限")).await {
        return early;
    }
    let raw = if method == Method::GET {
        query.unwrap_or_default()
    } else {
        body
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    if get("app_id").as_deref() != Some(sim.config.meituan_app_id.as_str()) {
        return ng(702, "app_id 不存在");
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let url = format!("http://{host}/api/v1/{path}");
    let want = sign::meituan_sig(&url, &params, &sim.config.meituan_secret);
    if !sign::matches(get("sig").as_deref(), &want) {
        sim.state.lock().expect("sim state").bad_signatures += 1;
        return ng(703, "签名验证错误");
    }
    let mut st = sim.state.lock().expect("sim state");
    let order_id = get("order_id").unwrap_or_default();
    let json_param = |k: &str| get(k).and_then(|v| serde_json::from_str::<Value>(&v).ok());
    match path.as_str() {
        // 营业 / 休息: the store named by its code; a closed store gets no new orders.
        "poi/open" | "poi/close" => {
            if get("app_poi_code").is_none_or(|c| c.is_empty()) {
                return ng(701, "缺少参数 app_poi_code");
            }
            let open = path == "poi/open";
            st.closed.retain(|p| *p != Platform::Meituan);
            if !open {
                st.closed.push(Platform::Meituan);
            }
            st.effect(
                Platform::Meituan,
                if open { "store_open" } else { "store_close" },
                None,
                json!({}),
            );
            ok(json!("ok"))
        }
        "retail/sku/stock" => {
            let Some(food) = json_param("food_data").and_then(|v| v.as_array().cloned()) else {
                return ng(701, "缺少参数 food_data");
            };
            st.stock_calls += 1;
            for f in &food {
                let sku = f["app_food_code"].as_str().unwrap_or_default().to_string();
                for s in f["skus"].as_array().cloned().unwrap_or_default() {
                    let level = s["stock"]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .or(s["stock"].as_i64())
                        .unwrap_or(-1);
                    st.level(Platform::Meituan, &sku, level);
                }
            }
            st.effect(
                Platform::Meituan,
                "stock",
                None,
                json!({"count": food.len()}),
            );
            ok(json!("ok"))
        }
        "order/getOrderDaySeq" => {
            let max = st
                .orders
                .values()
                .filter(|o| o.platform == Platform::Meituan)
                .map(|o| o.day_seq)
                .max()
                .unwrap_or(0);
            ok(json!({ "day_seq": max }))
        }
        "order/getOrderIdByDaySeq" => {
            let seq: u32 = get("day_seq").and_then(|s| s.parse().ok()).unwrap_or(0);
            match st
                .orders
                .values()
                .find(|o| o.platform == Platform::Meituan && o.day_seq == seq)
            {
                Some(o) => ok(json!({ "order_id": o.id.parse::<i64>().unwrap_or(0) })),
                None => ng(806, "订单不存在"),
            }
        }
        "order/refund/agree" | "order/refund/reject" => {
            let agree = path.ends_with("agree");
            if get("reason").is_none_or(|r| r.trim().is_empty()) {
                return ng(701, "缺少参数 reason");
            }
            match st.decide(Platform::Meituan, &order_id, "", agree) {
                Decided::Done => {
                    // Meituan tells the outcome by push too (it may overtake the answer).
                    let notice = st.orders.get(&order_id).and_then(|o| o.request.clone());
                    drop(st);
                    if let Some(r) = notice {
                        let message = if r.kind == "part_refund" {
                            "partrefund"
                        } else {
                            "refund"
                        };
                        let mut fields = vec![
                            ("order_id".to_string(), order_id.clone()),
                            (
                                "notify_type".to_string(),
                                if agree { "agree" } else { "reject" }.to_string(),
                            ),
                            ("refund_id".to_string(), r.refund_id.clone()),
                            ("reason".to_string(), get("reason").unwrap_or_default()),
                        ];
                        if r.kind == "part_refund" {
                            fields.push(("food".to_string(), r.food.to_string()));
                        }
                        let (sim, order_id) = (sim.clone(), order_id.clone());
                        tokio::spawn(async move {
                            super::push::meituan_notice(&sim, message, &order_id, fields).await;
                        });
                    }
                    ok(json!("ok"))
                }
                Decided::Refused(msg) if msg == "订单不存在" => ng(806, msg),
                Decided::Refused(msg) => ng(808, msg),
            }
        }
        _ => {
            let Some(o) = st
                .orders
                .get_mut(&order_id)
                .filter(|o| o.platform == Platform::Meituan)
            else {
                return ng(806, "订单不存在");
            };
            let outcome: Result<(&str, Value), (i64, &str)> = match path.as_str() {
                "order/getOrderDetail" => return ok(state::mt_order_json(o)),
                "order/confirm" if o.cancelled => Err((808, "订单已取消")),
                "order/confirm" if o.accepted => Err((808, "订单已确认，操作失败")),
                "order/confirm" => {
                    o.accepted = true;
                    o.status = MT_CONFIRMED;
                    Ok(("confirm", json!({})))
                }
                "order/preparationMealComplete" if !o.accepted => {
                    Err((808, "订单未确认，不能出餐"))
                }
                "order/preparationMealComplete" if o.cancelled => Err((808, "订单已取消")),
                "order/preparationMealComplete" if o.picked => Err((808, "订单已出餐")),
                "order/preparationMealComplete" => {
                    o.picked = true;
                    Ok(("pick_complete", json!({})))
                }
                "order/cancel" if o.cancelled => Err((808, "订单已取消")),
                "order/cancel" => {
                    o.cancelled = true;
                    o.status = MT_CANCELLED;
                    Ok((
                        "cancel",
                        json!({"reason": get("reason"), "reason_code": get("reason_code")}),
                    ))
                }
                // What can still be refunded, per item (the step before a partial refund).
                "order/getPartRefundFoods" if o.cancelled => Err((808, "订单已取消")),
                "order/getPartRefundFoods" => {
                    let foods: Vec<Value> = o
                        .items
                        .iter()
                        .map(|i| {
                            json!({
                                "app_food_code": i.sku, "sku_id": i.platform_item,
                                "food_name": i.name, "count": i.refundable(),
                            })
                        })
                        .collect();
                    return ok(Value::Array(foods));
                }
                // Applied every time it comes: a platform that does not dedupe partial refunds
                // pays a repeated one again (the danger a lost answer makes).
                "order/applyPartRefund" => {
                    let food = json_param("food_data")
                        .and_then(|v| v.as_array().cloned())
                        .unwrap_or_default();
                    let known = food.iter().all(|f| {
                        o.items.iter().any(|i| {
                            Some(i.sku.as_str()) == f["app_food_code"].as_str()
                                && f["count"].as_i64().is_some_and(|c| c > 0 && c <= i.count)
                        })
                    });
                    let fits = food.iter().all(|f| {
                        o.items.iter().any(|i| {
                            Some(i.sku.as_str()) == f["app_food_code"].as_str()
                                && f["count"].as_i64().is_some_and(|c| c <= i.refundable())
                        })
                    });
                    if food.is_empty() || !known {
                        Err((805, "商品不存在或数量错误"))
                    } else if o.cancelled {
                        Err((808, "订单已取消"))
                    } else if !fits {
                        Err((808, "退款数量超过可退数量"))
                    } else {
                        for f in &food {
                            if let Some(i) = o
                                .items
                                .iter_mut()
                                .find(|i| Some(i.sku.as_str()) == f["app_food_code"].as_str())
                            {
                                i.refunded += f["count"].as_i64().unwrap_or(0);
                            }
                        }
                        o.adjusted = true;
                        Ok(("refund", json!({ "food_data": food })))
                    }
                }
                _ => return ng(701, "未知接口"),
            };
            match outcome {
                Ok((action, detail)) => {
                    let id = o.id.clone();
                    st.effect(Platform::Meituan, action, Some(&id), detail);
                    ok(json!("ok"))
                }
                Err((code, msg)) => ng(code, msg),
            }
        }
    }
}
