//! The platform simulator: the platform side of Meituan Shangou and JD Daojia under the same
//! paths as the real gateways (`/api/v1/…`, `/djapi/…`), so only the base URL differs. It verifies
//! signatures as the platforms do, keeps order state and enforces the platforms' rules, records
//! every effect and stock level, generates orders from a Chinese catalog and pushes them (with
//! duplicates on purpose), injects faults on demand, and shows everything at `GET /sim/state`.
//!
//! Control: `POST /sim/orders` (`platform`, `items`, `duplicate`, and for JD `carrier`: the
//! `deliveryCarrierNo`, 9966 by default), `POST /sim/cancel`, `POST /sim/faults`,
//! `DELETE /sim/faults`.

mod after_sale;
mod delivery;
mod fault;
mod jd;
mod mt;
mod push;
pub mod sign;
mod state;

pub use state::{Effect, Fault, FaultKind, SimItem, SimOrder, State};

use crate::model::{Platform, Timestamp};
use axum::Json;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How the simulator is set up (`flashpick sim` flags). `Debug` hides the secrets.
#[derive(Clone)]
pub struct SimConfig {
    /// Meituan `app_id` it accepts.
    pub meituan_app_id: String,
    /// Meituan secret.
    pub meituan_secret: String,
    /// JD `app_key` it accepts.
    pub jd_app_key: String,
    /// JD secret.
    pub jd_secret: String,
    /// JD token.
    pub jd_token: String,
    /// The agent's push receiver (`http://host:port`); none: orders wait to be polled.
    pub push_to: Option<String>,
    /// The Meituan push URL prefix the agent verifies (default `<push_to>/meituan`).
    pub meituan_push_url: Option<String>,
    /// Generated orders per minute (0: only on request).
    pub rate_per_min: f64,
    /// Percent of pushes sent twice.
    pub duplicate_pct: u32,
    /// The catalog orders are made from (CSV text as `catalog import` reads it); none: the
    /// sample catalog.
    pub catalog_csv: Option<String>,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("meituan_app_id", &self.meituan_app_id)
            .field("jd_app_key", &self.jd_app_key)
            .field("push_to", &self.push_to)
            .field("rate_per_min", &self.rate_per_min)
            .field("duplicate_pct", &self.duplicate_pct)
            .finish_non_exhaustive()
    }
}

impl Default for SimConfig {
    /// The credentials `assets/dev-store.toml` uses.
    fn default() -> Self {
        SimConfig {
            meituan_app_id: "sim-meituan".into(),
            meituan_secret: "sim-meituan-secret".into(),
            jd_app_key: "sim-jd".into(),
            jd_secret: "sim-jd-secret".into(),
            jd_token: "sim-jd-token".into(),
            push_to: None,
            meituan_push_url: None,
            rate_per_min: 0.0,
            duplicate_pct: 0,
            catalog_csv: None,
        }
    }
}

/// The simulator.
pub struct Sim {
    /// Its settings.
    pub config: SimConfig,
    /// Everything the platforms know.
    pub state: Mutex<State>,
    http: reqwest::Client,
    /// Bumped after every change, so tests wait on changes instead of sleeping.
    version: watch::Sender<u64>,
}

/// A running simulator.
pub struct SimHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state, for in-process tests.
    pub sim: Arc<Sim>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// The Meituan base URL to configure in the agent.
    pub fn meituan_base(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }
    /// The JD base URL to configure in the agent.
    pub fn jd_base(&self) -> String {
        format!("http://{}/djapi", self.addr)
    }
    /// Stops it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the simulator on `listener`.
pub async fn start(listener: TcpListener, config: SimConfig) -> std::io::Result<SimHandle> {
    crate::tls::ensure_provider();
    let addr = listener.local_addr()?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(std::io::Error::other)?;
    let mut state = match &config.catalog_csv {
        Some(csv) => State::with_catalog(csv),
        None => State::new(),
    };
    state.push_to = config.push_to.clone();
    let sim = Arc::new(Sim {
        config,
        state: Mutex::new(state),
        http,
        version: watch::channel(0).0,
    });
    let app = axum::Router::new()
        .route("/api/v1/{*path}", get(mt::handle).post(mt::handle))
        .route("/djapi/{*path}", post(jd::handle))
        .route("/sim/state", get(inspect))
        .route("/sim/orders", post(create_order))
        .route("/sim/cancel", post(cancel_order))
        .route("/sim/refund", post(after_sale::refund))
        .route("/sim/cancel_request", post(after_sale::cancel_request))
        .route("/sim/after_sale", post(after_sale::after_sale_bill))
        .route("/sim/rider", post(delivery::rider))
        .route("/sim/remind", post(delivery::remind))
        .route("/sim/store_status", post(delivery::store_status))
        .route("/sim/faults", post(add_fault).delete(clear_faults))
        .with_state(sim.clone());
    let (stop, mut stopped) = watch::channel(false);
    let mut gen_stop = stop.subscribe();
    if sim.config.rate_per_min > 0.0 {
        let s = sim.clone();
        tokio::spawn(async move { push::generate(s, &mut gen_stop).await });
    }
    let task = tokio::spawn(async move {
        let done = async move {
            let _ = stopped.changed().await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(done)
            .await
        {
            tracing::error!(error = %e, "simulator failed");
        }
    });
    Ok(SimHandle {
        addr,
        sim,
        stop,
        task,
    })
}

impl Sim {
    /// Creates an order (random items when `items` is empty) and pushes it when a receiver is
    /// configured. Returns its id.
    pub async fn new_order(
        self: &Arc<Self>,
        platform: Platform,
        items: &[(String, i64)],
        duplicate: bool,
    ) -> Result<String, String> {
        self.new_order_by(platform, items, duplicate, None).await
    }

    /// [`Sim::new_order`] with JD's `deliveryCarrierNo` (9966 when not given).
    pub async fn new_order_by(
        self: &Arc<Self>,
        platform: Platform,
        items: &[(String, i64)],
        duplicate: bool,
        carrier: Option<&str>,
    ) -> Result<String, String> {
        self.new_booked_order(platform, items, duplicate, carrier, 0)
            .await
    }

    /// [`Sim::new_order_by`] booked for delivery at `deliver_at` (Unix seconds; 0: at once).
    pub async fn new_booked_order(
        self: &Arc<Self>,
        platform: Platform,
        items: &[(String, i64)],
        duplicate: bool,
        carrier: Option<&str>,
        deliver_at: i64,
    ) -> Result<String, String> {
        let order = {
            let mut st = self.state.lock().expect("sim state");
            let mut order = st.create_order(platform, items, Timestamp::now())?;
            order.deliver_at = deliver_at;
            if let Some(o) = st.orders.get_mut(&order.id) {
                o.deliver_at = deliver_at;
            }
            // JD's deliveryCarrierNo; for Meituan only "pickup" (pick_type 1) means anything.
            if let Some(c) = carrier {
                order.carrier = c.to_string();
                if let Some(o) = st.orders.get_mut(&order.id) {
                    o.carrier = c.to_string();
                }
            }
            order
        };
        self.bump();
        let twice = duplicate || push::roll(self.config.duplicate_pct);
        push::new_order(self, &order, twice).await;
        Ok(order.id)
    }

    /// The customer cancels; the agent is told by push (or sees it when polling).
    pub async fn cancel(self: &Arc<Self>, platform: Platform, id: &str) -> Result<(), String> {
        {
            let mut st = self.state.lock().expect("sim state");
            st.customer_cancel(platform, id)?;
        }
        self.bump();
        push::cancelled(self, platform, id).await;
        Ok(())
    }

    /// Where pushes go from now on (the agent's receiver may start after the simulator).
    pub fn set_push_to(&self, url: Option<String>) {
        self.state.lock().expect("sim state").push_to = url;
    }

    pub(crate) fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    /// Waits until `f` finds what it looks for in the state, or panics after `secs` naming `what`.
    /// A test helper (`test-support`).
    #[cfg(feature = "test-support")]
    pub async fn wait_for<T>(&self, what: &str, secs: u64, f: impl Fn(&State) -> Option<T>) -> T {
        let mut rx = self.version.subscribe();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(t) = f(&self.state.lock().expect("sim state")) {
                return t;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                let state = self.snapshot();
                panic!("simulator: timed out after {secs}s waiting for {what}; state: {state}");
            }
        }
    }

    /// A snapshot of everything.
    pub fn snapshot(&self) -> Value {
        self.state.lock().expect("sim state").to_json()
    }
}

fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg.into()}))).into_response()
}

fn platform(name: &str) -> Option<Platform> {
    match name {
        "meituan" => Some(Platform::Meituan),
        "jddj" | "jd" => Some(Platform::Jddj),
        _ => None,
    }
}

async fn inspect(AxState(sim): AxState<Arc<Sim>>) -> Json<Value> {
    Json(sim.snapshot())
}

#[derive(Deserialize)]
struct OrderReq {
    platform: String,
    #[serde(default)]
    items: Vec<ItemReq>,
    #[serde(default)]
    duplicate: bool,
    /// JD's `deliveryCarrierNo` (9966 when not given); `pickup` makes a Meituan pickup order.
    #[serde(default)]
    carrier: Option<String>,
    /// A booked delivery, Unix seconds (absent: as soon as possible).
    #[serde(default)]
    deliver_at: i64,
}

#[derive(Deserialize)]
struct ItemReq {
    sku: String,
    qty: i64,
}

async fn create_order(AxState(sim): AxState<Arc<Sim>>, Json(req): Json<OrderReq>) -> Response {
    let Some(p) = platform(&req.platform) else {
        return bad("platform is meituan or jddj");
    };
    let items: Vec<(String, i64)> = req.items.into_iter().map(|i| (i.sku, i.qty)).collect();
    match sim
        .new_booked_order(
            p,
            &items,
            req.duplicate,
            req.carrier.as_deref(),
            req.deliver_at,
        )
        .await
    {
        Ok(id) => Json(json!({"order_id": id})).into_response(),
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
struct CancelReq {
    platform: String,
    order_id: String,
}

async fn cancel_order(AxState(sim): AxState<Arc<Sim>>, Json(req): Json<CancelReq>) -> Response {
    let Some(p) = platform(&req.platform) else {
        return bad("platform is meituan or jddj");
    };
    match sim.cancel(p, &req.order_id).await {
        Ok(()) => Json(json!({"cancelled": req.order_id})).into_response(),
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
struct FaultReq {
    #[serde(default)]
    platform: Option<String>,
    kind: String,
    /// Requests it applies to; absent: until cleared.
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    slow_ms: Option<u64>,
    /// Only calls whose path contains this.
    #[serde(default)]
    path: Option<String>,
    /// Matching calls let through before it starts.
    #[serde(default)]
    skip: u32,
}

async fn add_fault(AxState(sim): AxState<Arc<Sim>>, Json(req): Json<FaultReq>) -> Response {
    let kind = match req.kind.as_str() {
        "5xx" | "server_error" => FaultKind::ServerError,
        "rate_limit" => FaultKind::RateLimit,
        "slow" => FaultKind::Slow(req.slow_ms.unwrap_or(2000)),
        "drop" => FaultKind::Drop,
        "cut" => FaultKind::Cut,
        "429" => FaultKind::TooMany,
        "lose_answer" => FaultKind::LoseAnswer,
        "cut_after" => FaultKind::CutAfter,
        other => {
            return bad(format!(
                "unknown fault `{other}` (5xx, rate_limit, 429, slow, drop, cut, lose_answer, cut_after)"
            ));
        }
    };
    let platform = match req.platform.as_deref() {
        None => None,
        Some(name) => match platform(name) {
            Some(p) => Some(p),
            None => return bad("platform is meituan or jddj"),
        },
    };
    sim.state.lock().expect("sim state").faults.push(Fault {
        platform,
        kind,
        remaining: req.count,
        path: req.path,
        skip: req.skip,
    });
    Json(json!({"ok": true})).into_response()
}

async fn clear_faults(AxState(sim): AxState<Arc<Sim>>) -> Json<Value> {
    sim.state.lock().expect("sim state").faults.clear();
    Json(json!({"ok": true}))
}
