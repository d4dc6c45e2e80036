//! One platform channel: its adapter, its HTTP client and its live state.

use super::jddj::{self, Jddj};
use super::meituan::{self, Meituan};
use super::{Action, DraftOrder, HttpCall, Kind, Verdict};
use crate::config::PlatformSection;
use crate::model::{Platform, Timestamp};
use serde_json::Value;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The platform-specific half of a channel.
#[derive(Debug, Clone)]
pub enum Adapter {
    /// Meituan Shangou.
    Meituan(Meituan),
    /// JD Daojia.
    Jddj(Jddj),
}

impl Adapter {
    /// The call an action makes.
    pub fn action(&self, a: &Action, now: Timestamp) -> Result<HttpCall, String> {
        match self {
            Adapter::Meituan(m) => m.action(a, now),
            Adapter::Jddj(j) => j.action(a, now),
        }
    }

    /// How to look at the platform for the effect of an action it is not known to dedupe, and
    /// what the action asks (item code, units); `None` for an action safe to repeat (the
    /// platform answers "already" or takes an absolute state). The table, with sources, is in
    /// `assets/platforms.md`.
    pub fn look(&self, a: &Action, now: Timestamp) -> Option<super::look::Lookup> {
        match self {
            Adapter::Meituan(m) => m.look(a, now),
            Adapter::Jddj(_) => None,
        }
    }

    /// What an answer to a call of `kind` means.
    pub fn classify(&self, status: u16, body: &str, kind: Kind) -> (Verdict, Option<Value>) {
        match self {
            Adapter::Meituan(_) => meituan::classify(status, body, kind),
            Adapter::Jddj(_) => jddj::classify(status, body, kind),
        }
    }

    /// The order inside an answer to a fetch.
    pub fn fetched_order(&self, data: &Value) -> Result<DraftOrder, String> {
        match self {
            Adapter::Meituan(_) => meituan::draft(data),
            Adapter::Jddj(_) => {
                let first = jddj::orders_in(data).into_iter().next();
                jddj::draft(&first.ok_or("the platform returned no such order")?)
            }
        }
    }
}

/// Live figures of a channel, for status and the screens.
#[derive(Debug, Default)]
pub struct ChannelState {
    online: AtomicBool,
    calls: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ChannelState {
    /// Whether the last call got an answer.
    pub fn online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }
    /// Calls made.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    /// Calls that failed or were refused.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
    /// The latest failure.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("channel state").clone()
    }
    /// For a connection (the HQ link): gone, for a reason already recorded or none (a stop).
    pub fn set_offline(&self) {
        self.online.store(false, Ordering::Relaxed);
    }

    /// For a connection (the HQ link): connected, or the reason it is not.
    pub fn record_link(&self, result: Result<(), String>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.online.store(result.is_ok(), Ordering::Relaxed);
        if let Err(e) = result {
            self.failures.fetch_add(1, Ordering::Relaxed);
            *self.last_error.lock().expect("channel state") = Some(e);
        }
    }

    fn record(&self, verdict: &Verdict) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (online, error) = match verdict {
            Verdict::Done => (true, None),
            Verdict::Permanent(e) | Verdict::Refused(e) | Verdict::RateLimited(e) => {
                (true, Some(e.clone()))
            }
            Verdict::Retry(e) => (false, Some(e.clone())),
        };
        self.online.store(online, Ordering::Relaxed);
        if let Some(e) = error {
            self.failures.fetch_add(1, Ordering::Relaxed);
            *self.last_error.lock().expect("channel state") = Some(e);
        }
    }
}

/// A platform channel.
#[derive(Debug)]
pub struct Channel {
    /// Which platform.
    pub platform: Platform,
    /// Its adapter.
    pub adapter: Adapter,
    /// Its settings.
    pub config: PlatformSection,
    /// Live figures.
    pub state: ChannelState,
    client: reqwest::Client,
}

impl Channel {
    /// A channel from the platform's config section.
    pub fn new(platform: Platform, config: &PlatformSection) -> Result<Channel, String> {
        crate::tls::ensure_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .connect_timeout(Duration::from_secs(config.timeout_secs.min(5)))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let adapter = match platform {
            Platform::Meituan => Adapter::Meituan(Meituan::new(config)),
            Platform::Jddj => Adapter::Jddj(Jddj::new(config)),
            Platform::Hq => return Err("HQ is not an HTTP platform".into()),
        };
        Ok(Channel {
            platform,
            adapter,
            config: config.clone(),
            state: ChannelState::default(),
            client,
        })
    }

    /// Sends a call and classifies the answer; a network failure is a retry.
    pub async fn send(&self, call: &HttpCall, kind: Kind) -> (Verdict, Option<Value>) {
        let body = form(&call.params);
        let request = if call.post {
            self.client
                .post(&call.url)
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded;charset=utf-8",
                )
                .body(body)
        } else {
            self.client.get(format!("{}?{body}", call.url))
        };
        let out = match request.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.text().await {
                    Ok(text) => self.adapter.classify(status, &text, kind),
                    Err(e) => (
                        Verdict::Retry(format!("reading the answer: {}", short(e))),
                        None,
                    ),
                }
            }
            Err(e) => (
                Verdict::Retry(format!("{}: {}", self.platform, short(e))),
                None,
            ),
        };
        self.state.record(&out.0);
        out
    }
}

/// `k=v&…`, URL-encoded (the signature was made over the raw values).
pub fn form(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

// Never the URL: a GET's query carries the signature and, for some apps, the access token.
fn short(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.without_url().to_string()
    }
}
