//! `[platforms.meituan]`, `[platforms.jddj]` and `[webhooks]`: credentials, store codes, intake
//! mode and delivery settings for each delivery platform.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;

/// A credential. Never printed: `Debug` and `Display` show `***`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The credential itself, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How orders reach the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntakeMode {
    /// The platform pushes to our webhook (needs `[webhooks] listen` reachable from outside).
    #[default]
    Push,
    /// We ask the platform for new orders every `poll_interval_secs`.
    Poll,
}

/// Who takes a JD order to the customer when the order does not say (`delivery`): the model's.
pub use crate::model::Delivery;

/// `[platforms.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSection {
    /// Whether the store sells on this platform.
    #[serde(default)]
    pub enabled: bool,
    /// Units held back from this platform for every sku that sets no safety stock of its own.
    #[serde(default)]
    pub safety_stock: i64,
    /// The gateway, up to and including `/api/v1` (Meituan) or `/djapi` (JD).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Lets `base_url` be plain `http://` to another machine: orders and signed requests then
    /// travel unencrypted. For a private line only; only the local file may set it, and every
    /// start logs a warning.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// Meituan `app_id` / JD `app_key`.
    #[serde(default)]
    pub app_id: String,
    /// The app secret used for signing.
    #[serde(default)]
    pub secret: Secret,
    /// JD `token` (required for JD); Meituan `access_token` for service-provider apps (optional).
    #[serde(default)]
    pub token: Secret,
    /// The store's code on the platform: Meituan `app_poi_code`, JD station number.
    #[serde(default)]
    pub store_code: String,
    /// Push (webhooks) or poll.
    #[serde(default)]
    pub mode: IntakeMode,
    /// Polling period when `mode = "poll"`.
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// When `mode = "push"`: ask the platform for orders this often anyway (and once at
    /// start-up), so an order whose push never arrived — the line was down and the platform gave
    /// up — is still taken. 0 turns it off.
    #[serde(default = "default_reconcile")]
    pub reconcile_secs: u64,
    /// Accept new orders at once (reserving their stock); otherwise staff accept them.
    #[serde(default = "yes")]
    pub auto_accept: bool,
    /// JD: who delivers.
    #[serde(default)]
    pub delivery: Delivery,
    /// Stock levels per call.
    #[serde(default = "default_batch")]
    pub stock_batch: usize,
    /// How long a changed level waits for more changes before it is sent (coalescing window).
    #[serde(default = "default_stock_delay")]
    pub stock_delay_ms: u64,
    /// Meituan: the push URL prefix registered in the console (`<prefix>/<message>`); the
    /// signature of a push covers it.
    #[serde(default)]
    pub push_url: Option<String>,
    /// The operator name sent with actions (JD `operator`, `operPin`, `userPin`).
    #[serde(default = "default_operator")]
    pub operator: String,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The longest wait between two tries of an undelivered update.
    #[serde(default = "default_max_retry")]
    pub max_retry_secs: u64,
    /// The rider's travel time, taken off the promised delivery time of orders that come
    /// without the platform's own pick deadline (seconds); `[sla] travel_buffer_secs` when unset.
    #[serde(default)]
    pub travel_buffer_secs: Option<i64>,
    /// How long the store has to decide a customer's refund or cancel request before the
    /// platform decides by itself; the screens count down to it. Neither platform's limit is
    /// documented here (`assets/platforms.md`): 10 minutes is kept short on purpose, so the
    /// store decides before the platform can. Past it the store stops offering the decision:
    /// the request is the platform's, and a manager is told to look there.
    #[serde(default = "default_decide_within")]
    pub decide_within_secs: u64,
    /// After a lost answer to a change the platform may not dedupe (a Meituan partial refund),
    /// how long to wait before looking for it: a platform may still be working on a call the
    /// store gave up waiting for, and a look too early would send the refund again.
    #[serde(default = "default_look_after")]
    pub look_after_secs: u64,
}

fn default_poll() -> u64 {
    15
}
fn yes() -> bool {
    true
}
fn default_batch() -> usize {
    50
}
fn default_stock_delay() -> u64 {
    200
}
fn default_operator() -> String {
    "flashpick".into()
}
fn default_timeout() -> u64 {
    10
}
fn default_reconcile() -> u64 {
    60
}
fn default_max_retry() -> u64 {
    300
}
fn default_decide_within() -> u64 {
    600
}
fn default_look_after() -> u64 {
    60
}

impl Default for PlatformSection {
    fn default() -> Self {
        PlatformSection {
            enabled: false,
            safety_stock: 0,
            allow_plaintext: false,
            base_url: None,
            app_id: String::new(),
            secret: Secret::default(),
            token: Secret::default(),
            store_code: String::new(),
            mode: IntakeMode::default(),
            poll_interval_secs: default_poll(),
            reconcile_secs: default_reconcile(),
            auto_accept: true,
            delivery: Delivery::default(),
            stock_batch: default_batch(),
            stock_delay_ms: default_stock_delay(),
            push_url: None,
            operator: default_operator(),
            timeout_secs: default_timeout(),
            max_retry_secs: default_max_retry(),
            travel_buffer_secs: None,
            decide_within_secs: default_decide_within(),
            look_after_secs: default_look_after(),
        }
    }
}

/// `[webhooks]`: where the platforms push.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksSection {
    /// Address for the push receiver (behind the store's reverse proxy or tunnel); none: no
    /// receiver, and every platform must poll.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
}

/// Whether `url` is plain http to another machine, judged on the host the HTTP client itself
/// will read from it (so no spelling — a backslash, user info, an IPv6 literal — can make a
/// remote host look local). An unreadable URL counts as remote.
pub(super) fn plaintext_remote(url: &str) -> bool {
    match reqwest::Url::parse(url) {
        Ok(u) if u.scheme() == "https" => false,
        Ok(u) => u
            .host_str()
            .is_none_or(|h| !super::is_local_host(h.trim_start_matches('[').trim_end_matches(']'))),
        Err(_) => true,
    }
}

/// Checks one platform's section; `Err((key, reason))`.
pub(super) fn validate(
    name: &str,
    p: &PlatformSection,
    webhooks: &WebhooksSection,
) -> Result<(), (String, String)> {
    let key = |k: &str| format!("platforms.{name}.{k}");
    if p.safety_stock < 0 {
        return Err((
            key("safety_stock"),
            format!("{} must not be negative", p.safety_stock),
        ));
    }
    if !p.enabled {
        return Ok(());
    }
    if let Some(url) = &p.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err((
                key("base_url"),
                format!("`{url}` must start with https:// (or http://)"),
            ));
        }
        if let Err(e) = reqwest::Url::parse(url) {
            return Err((key("base_url"), format!("`{url}` is not a URL: {e}")));
        }
        if plaintext_remote(url) && !p.allow_plaintext {
            return Err((
                key("base_url"),
                format!(
                    "`{url}` would send orders and signed requests unencrypted: use https://, or set platforms.{name}.allow_plaintext = true for a private line"
                ),
            ));
        }
    }
    for (k, empty) in [
        ("app_id", p.app_id.trim().is_empty()),
        ("secret", p.secret.is_empty()),
        ("store_code", p.store_code.trim().is_empty()),
    ] {
        if empty {
            return Err((key(k), "is required when the platform is enabled: copy it from the platform's developer console".into()));
        }
    }
    if name == "jddj" && p.token.is_empty() {
        return Err((
            key("token"),
            "is required for JD Daojia: copy it from the developer console".into(),
        ));
    }
    if p.mode == IntakeMode::Push && webhooks.listen.is_none() {
        return Err((
            key("mode"),
            "is push, but [webhooks] listen is not set: set it, or use mode = \"poll\"".into(),
        ));
    }
    if !(1..=3600).contains(&p.poll_interval_secs) {
        return Err((key("poll_interval_secs"), "use 1 to 3600 seconds".into()));
    }
    if p.reconcile_secs > 3600 {
        return Err((
            key("reconcile_secs"),
            "use 1 to 3600 seconds, or 0 to turn it off".into(),
        ));
    }
    if p.stock_delay_ms > 5000 {
        return Err((
            key("stock_delay_ms"),
            "use 0 to 5000 ms: platforms must see stock quickly".into(),
        ));
    }
    if !(1..=200).contains(&p.stock_batch) {
        return Err((key("stock_batch"), "use 1 to 200 levels per call".into()));
    }
    if !(1..=3600).contains(&p.max_retry_secs) {
        return Err((key("max_retry_secs"), "use 1 to 3600 seconds".into()));
    }
    if !(1..=120).contains(&p.timeout_secs) {
        return Err((key("timeout_secs"), "use 1 to 120 seconds".into()));
    }
    if !(1..=3600).contains(&p.look_after_secs) {
        return Err((
            key("look_after_secs"),
            "use 1 to 3600 seconds (at least timeout_secs: a look sooner than a request may take could send a refund twice)".into(),
        ));
    }
    Ok(())
}
