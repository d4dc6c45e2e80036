//! The JD side: `/djapi/<path>`, the system parameters and signature checked as JD does
//! (10013 token, 10014 sign), answers in JD's doubly encoded envelope, order rules enforced
//! (accept twice, pick before accept, adjust twice refused).

use super::Sim;
use super::after_sale::Decided;
use super::sign;
use super::state::{self, JD_ACCEPTED, JD_PICKED, JD_WAITING};
use crate::model::china_time;
use crate::model::{Platform, Timestamp};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

fn outer(code: &str, msg: &str) -> Response {
    axum::Json(json!({"code": code, "msg": msg, "data": ""})).into_response()
}

fn inner(code: &str, msg: &str, result: Value) -> Response {
    let data = json!({"code": code, "msg": msg, "result": result}).to_string();
    axum::Json(json!({"code": "0", "msg": "success", "data": data})).into_response()
}

/// Every JD call; waiters are told after each.
pub async fn handle(
    State(sim): State<Arc<Sim>>,
    Path(path): Path<String>,
    body: String,
) -> Response {
    // Handled to the end even when the caller hangs up, as a real platform does.
    let work = tokio::spawn(async move {
        let answer = answer(&sim, path.clone(), body).await;
        let lost = sim
            .state
            .lock()
            .expect("sim state")
            .take_lost_answer(Platform::Jddj, &path);
        sim.bump();
        match lost {
            Some(kind) => super::fault::after_call(kind),
            None => answer,
        }
    });
    work.await.unwrap_or_else(|_| outer("-1", "系统错误"))
}

async fn answer(sim: &Arc<Sim>, path: String, body: String) -> Response {
    let fault = sim
        .state
        .lock()
        .expect("sim state")
        .call(Platform::Jddj, &path);
    if let Some(early) = super::fault::before_call(fault, || outer("10032", "访问太频繁")).await
    {
        return early;
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    let cfg = &sim.config;
    if get("app_key").as_deref() != Some(cfg.jd_app_key.as_str())
        || get("token").as_deref() != Some(cfg.jd_token.as_str())
    {
        return outer("10013", "无效Token令牌");
    }
    let fresh = get("timestamp")
        .and_then(|t| china_time::parse(&t))
        .is_some_and(|t| (Timestamp::now().0 - t.0).abs() <= 6 * 60 * 1000);
    if !fresh {
        return outer("10015", "时间戳错误");
    }
    let want = sign::jd_sign(&params, &cfg.jd_secret);
    if !sign::matches(get("sign").as_deref(), &want) {
        sim.state.lock().expect("sim state").bad_signatures += 1;
        return outer("10014", "无效Sign签名");
    }
    let Some(p) = get("jd_param_json").and_then(|j| serde_json::from_str::<Value>(&j).ok()) else {
        return outer("10005", "缺少jd_param_json");
    };
    let mut st = sim.state.lock().expect("sim state");
    // closeStatus 0 open, 1 resting; anything else is refused.
    if path == "store/updateStoreInfo4Open" {
        let open = match p["closeStatus"].as_i64() {
            Some(0) => true,
            Some(1) => false,
            _ => return inner("-1", "closeStatus 只能为 0 或 1", Value::Null),
        };
        if p["outSystemId"].as_str().is_none_or(str::is_empty) {
            return inner("-1", "门店编码不能为空", Value::Null);
        }
        st.closed.retain(|x| *x != Platform::Jddj);
        if !open {
            st.closed.push(Platform::Jddj);
        }
        st.effect(
            Platform::Jddj,
            if open { "store_open" } else { "store_close" },
            None,
            json!({}),
        );
        return inner("0", "成功", Value::Null);
    }
    if path == "stock/batchUpdateCurrentQtys" {
        let list = p["skuStockList"].as_array().cloned().unwrap_or_default();
        st.stock_calls += 1;
        let mut results = Vec::new();
        for s in &list {
            let sku = s["outSkuId"].as_str().unwrap_or_default().to_string();
            st.level(Platform::Jddj, &sku, s["stockQty"].as_i64().unwrap_or(-1));
            results.push(json!({"outSkuId": sku, "code": 0, "msg": "成功"}));
        }
        st.effect(Platform::Jddj, "stock", None, json!({"count": list.len()}));
        return inner("0", "成功", Value::Array(results));
    }
    if path == "order/es/query" && p.get("orderId").is_none() {
        let status = p["orderStatus"].as_i64();
        let list: Vec<Value> = st
            .orders
            .values()
            .filter(|o| o.platform == Platform::Jddj && status.is_none_or(|s| o.status == s))
            .map(state::jd_order_json)
            .collect();
        let n = list.len();
        let size = p["pageSize"].as_u64().unwrap_or(50).max(1) as usize;
        let page = p["pageNo"].as_u64().unwrap_or(1).max(1) as usize;
        let list: Vec<Value> = list
            .into_iter()
            .skip((page - 1) * size)
            .take(size)
            .collect();
        return inner("0", "成功", json!({"resultList": list, "totalCount": n}));
    }
    // JD sends ids as text or as numbers.
    let id = match &p["orderId"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if path == "ocs/checkSelfPickCode" {
        let Some(code) = p["selfPickCode"].as_str() else {
            return outer("10005", "缺少参数 selfPickCode");
        };
        let Some(o) = st.orders.get(&id).filter(|o| o.platform == Platform::Jddj) else {
            return inner("-1", "订单不存在", Value::Null);
        };
        // The customer's code: the last six digits of the order id, for orders they collect.
        let right = o.carrier == "9999" && id.len() >= 6 && code == &id[id.len() - 6..];
        let outcome = if right {
            "pickup_code_ok"
        } else {
            "pickup_code_wrong"
        };
        st.effect(Platform::Jddj, outcome, Some(&id), json!({"code": code}));
        return if right {
            inner("0", "成功", Value::Null)
        } else {
            inner("-1", "自提码错误", Value::Null)
        };
    }
    if path == "ocs/orderCancelOperate" {
        let Some(agree) = p["isAgreed"].as_bool() else {
            return outer("10005", "缺少参数 isAgreed");
        };
        if p["operator"].as_str().is_none_or(str::is_empty) {
            return outer("10005", "缺少参数 operator");
        }
        return match st.decide(Platform::Jddj, &id, "cancel", agree) {
            Decided::Done => inner("0", "成功", Value::Null),
            Decided::Refused(msg) => inner("-1", msg, Value::Null),
        };
    }
    let Some(o) = st
        .orders
        .get_mut(&id)
        .filter(|o| o.platform == Platform::Jddj)
    else {
        return inner("-1", "订单不存在", Value::Null);
    };
    let outcome: Result<(&str, Value), &str> = match path.as_str() {
        "order/es/query" => {
            return inner(
                "0",
                "成功",
                json!({"resultList": [state::jd_order_json(o)], "totalCount": 1}),
            );
        }
        "ocs/orderAcceptOperate" if o.cancelled => Err("订单已取消"),
        "ocs/orderAcceptOperate" if o.status != JD_WAITING => Err("订单已接单，请勿重复操作"),
        "ocs/orderAcceptOperate" if p["isAgreed"] == json!(false) => {
            o.cancelled = true;
            o.status = 20040;
            Ok(("reject", json!({"remark": p["remark"]})))
        }
        "ocs/orderAcceptOperate" => {
            o.accepted = true;
            o.status = JD_ACCEPTED;
            Ok(("confirm", json!({})))
        }
        "bm/open/api/order/OrderJDZBDelivery"
        | "bm/open/api/order/OrderSerllerDelivery"
        | "bm/open/api/order/OrderSelfMention" => {
            // Each carrier has its own pick-complete call.
            let expected = match o.carrier.as_str() {
                "2938" => "OrderSerllerDelivery",
                "9999" => "OrderSelfMention",
                _ => "OrderJDZBDelivery",
            };
            if o.cancelled {
                Err("订单已取消")
            } else if !path.ends_with(expected) {
                Err("配送方式与订单不符，拣货完成接口错误")
            } else if !o.accepted {
                Err("订单未接单，不能拣货完成")
            } else if o.picked {
                Err("已拣货完成，请勿重复操作")
            } else {
                o.picked = true;
                o.status = JD_PICKED;
                Ok(("pick_complete", json!({"mode": path.rsplit('/').next()})))
            }
        }
        "orderAdjust/adjustOrder" => {
            let list = p["oaosAdjustDTOList"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            // Every listed line is an item of the order, once, with a count in 1..=ordered;
            // and something must actually be reduced.
            let mut seen = std::collections::HashSet::new();
            let valid = !list.is_empty()
                && list.iter().all(|l| {
                    let sku = l["outSkuId"].as_str().unwrap_or_default();
                    seen.insert(sku.to_string())
                        && o.items.iter().any(|i| {
                            i.sku == sku
                                && l["skuCount"]
                                    .as_i64()
                                    .is_some_and(|c| c > 0 && c <= i.count)
                        })
                });
            let ordered: i64 = o.items.iter().map(|i| i.count).sum();
            let kept: i64 = list.iter().filter_map(|l| l["skuCount"].as_i64()).sum();
            if o.adjusted {
                Err("订单已调整过，不能重复调整")
            } else if !o.accepted {
                Err("订单未接单，不能调整")
            } else if !valid || kept >= ordered {
                Err("调整商品或数量错误")
            } else if o.picked || o.cancelled {
                Err("订单状态不允许调整")
            } else {
                o.adjusted = true;
                Ok(("adjust", json!({"remaining": list})))
            }
        }
        _ => return outer("10005", "未知接口"),
    };
    match outcome {
        Ok((action, detail)) => {
            let id = o.id.clone();
            st.effect(Platform::Jddj, action, Some(&id), detail);
            inner("0", "成功", Value::Null)
        }
        Err(msg) => inner("-1", msg, Value::Null),
    }
}
