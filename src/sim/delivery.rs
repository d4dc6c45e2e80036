//! Riders, reminders and the store's status in the simulated platforms: `POST /sim/rider`,
//! `POST /sim/remind` and `POST /sim/store_status` push what a platform pushes when its rider
//! moves, the customer chases an order, or the platform opens or rests the store, in each
//! platform's own codes (from the platform reference, apart from the adapters).

use super::Sim;
use super::push;
use crate::model::china_time;
use crate::model::{Platform, Timestamp};
use axum::Json;
use axum::extract::State as AxState;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// A rider event to push.
#[derive(Deserialize)]
pub struct RiderReq {
    platform: String,
    order_id: String,
    /// `dispatching`, `assigned`, `at_store`, `picked_up`, `delivered`, `cancelled`, or a raw
    /// platform code.
    status: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    /// When it happened, Unix seconds (now when absent): lets a test send pushes out of order.
    #[serde(default)]
    at: Option<i64>,
}

fn bad(msg: &str) -> Response {
    (
        axum::http::StatusCode::BAD_REQUEST,
        Json(json!({"error": msg})),
    )
        .into_response()
}

/// Meituan `logistics_status` and JD `deliveryStatus` codes for a status name.
fn code(platform: Platform, status: &str) -> Option<&str> {
    let mt = [
        ("dispatching", "0"),
        ("assigned", "10"),
        ("at_store", "15"),
        ("picked_up", "20"),
        ("delivered", "40"),
        ("cancelled", "100"),
    ];
    let jd = [
        ("dispatching", "10"),
        ("assigned", "20"),
        ("at_store", "23"),
        ("picked_up", "30"),
        ("delivered", "40"),
        ("cancelled", "21"),
    ];
    let table: &[(&str, &str)] = if platform == Platform::Meituan {
        &mt
    } else {
        &jd
    };
    table.iter().find(|(n, _)| *n == status).map(|(_, c)| *c)
}

/// The handler of `POST /sim/rider`.
pub async fn rider(AxState(sim): AxState<Arc<Sim>>, Json(req): Json<RiderReq>) -> Response {
    let platform = match req.platform.as_str() {
        "meituan" => Platform::Meituan,
        "jddj" | "jd" => Platform::Jddj,
        _ => return bad("platform is meituan or jddj"),
    };
    {
        let mut st = sim.state.lock().expect("sim state");
        let Some(o) = st
            .orders
            .get_mut(&req.order_id)
            .filter(|o| o.platform == platform)
        else {
            return bad("no such order on that platform");
        };
        o.rider = req.status.clone();
    }
    sim.bump();
    let status = code(platform, &req.status).unwrap_or(req.status.as_str());
    let at = req.at.unwrap_or(Timestamp::now().0 / 1000);
    match platform {
        Platform::Meituan => {
            let mut fields = vec![
                ("order_id".to_string(), req.order_id.clone()),
                ("logistics_status".to_string(), status.to_string()),
                ("time".to_string(), at.to_string()),
            ];
            if let Some(n) = &req.name {
                fields.push(("dispatcher_name".into(), n.clone()));
            }
            if let Some(p) = &req.phone {
                fields.push(("dispatcher_mobile".into(), p.clone()));
            }
            push::meituan_notice(&sim, "logistics", &req.order_id, fields).await;
        }
        _ => {
            let param = json!({
                "orderId": req.order_id,
                "deliveryStatus": status,
                "deliveryManName": req.name,
                "deliveryManPhone": req.phone,
                "deliveryStatusTime": china_time::format(Timestamp(at * 1000)),
                "timestamp": china_time::format(Timestamp::now()),
            });
            push::jd_push_param(&sim, "pushDeliveryStatus", &req.order_id, param).await;
        }
    }
    Json(json!({"pushed": status})).into_response()
}

/// A customer chasing a Meituan order (JD documents no reminder push).
#[derive(Deserialize)]
pub struct RemindReq {
    order_id: String,
}

/// The handler of `POST /sim/remind`.
pub async fn remind(AxState(sim): AxState<Arc<Sim>>, Json(req): Json<RemindReq>) -> Response {
    {
        let mut st = sim.state.lock().expect("sim state");
        let Some(o) = st
            .orders
            .get_mut(&req.order_id)
            .filter(|o| o.platform == Platform::Meituan)
        else {
            return bad("no such Meituan order (JD documents no reminder push)");
        };
        o.reminders += 1;
    }
    sim.bump();
    let fields = vec![
        ("order_id".to_string(), req.order_id.clone()),
        (
            "remind_time".to_string(),
            (Timestamp::now().0 / 1000).to_string(),
        ),
    ];
    push::meituan_notice(&sim, "remind", &req.order_id, fields).await;
    Json(json!({"pushed": "remind"})).into_response()
}

/// The platform's view of the store changed (Meituan doc 349, `poi_status`).
#[derive(Deserialize)]
pub struct StoreStatusReq {
    /// `open` (121), `resting` (120), `online` (18), `offline` (19), or a raw code.
    status: String,
}

/// The handler of `POST /sim/store_status` (Meituan: JD's store push fields are not known).
pub async fn store_status(
    AxState(sim): AxState<Arc<Sim>>,
    Json(req): Json<StoreStatusReq>,
) -> Response {
    let code = match req.status.as_str() {
        "open" => "121",
        "resting" => "120",
        "online" => "18",
        "offline" => "19",
        other => other,
    };
    // A close or open made in the merchant app: the platform sends or stops orders at once.
    {
        let mut st = sim.state.lock().unwrap();
        st.closed.retain(|p| *p != crate::model::Platform::Meituan);
        if code == "120" {
            st.closed.push(crate::model::Platform::Meituan);
        }
    }
    let fields = vec![
        (
            "app_poi_code".to_string(),
            sim.config.meituan_app_id.clone(),
        ),
        ("poi_status".to_string(), code.to_string()),
    ];
    push::meituan_notice(&sim, "poi_status", "", fields).await;
    Json(json!({"pushed": code})).into_response()
}
