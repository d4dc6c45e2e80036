//! `[hq]`: the MQTT link to headquarters and the keys its signed configs must carry.

use super::Secret;
use serde::Deserialize;
use std::path::PathBuf;

/// `[hq]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HqSection {
    /// Whether this store reports to headquarters: every order transition and stock move is then
    /// queued in the outbox for HQ, in the same transaction as the change, and sent to the broker.
    #[serde(default)]
    pub enabled: bool,
    /// The broker: `mqtt://host:port` or `mqtts://host:port` (TLS).
    #[serde(default)]
    pub broker: String,
    /// Lets `broker` be plain `mqtt://` to another machine: events, orders and the password
    /// then travel unencrypted. For a private line (a VPN) only; only the local file may set it,
    /// and every start logs a warning.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// Broker user name.
    #[serde(default)]
    pub username: Option<String>,
    /// Broker password (never logged).
    #[serde(default)]
    pub password: Option<Secret>,
    /// CA certificates (PEM) that the broker's certificate must chain to; `mqtts://` only.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// MQTT keep-alive.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u64,
    /// The first wait before reconnecting; doubles up to `reconnect_max_ms`, with jitter.
    #[serde(default = "default_reconnect_min")]
    pub reconnect_min_ms: u64,
    /// The longest wait before reconnecting.
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_ms: u64,
    /// Events per message on the events topic.
    #[serde(default = "default_batch")]
    pub batch_events: usize,
    /// Messages published and not yet acknowledged by the broker, at most.
    #[serde(default = "default_window")]
    pub window: usize,
    /// How often the retained status is refreshed even when nothing changed.
    #[serde(default = "default_status_every")]
    pub status_every_secs: u64,
    /// Public keys (minisign, the base64 line of the `.pub` file) whose signatures configs from
    /// HQ must carry. Only the local file may set these.
    #[serde(default)]
    pub trusted_keys: Vec<String>,
    /// After applying a config from HQ, how long the store may fail to reach the broker before
    /// it goes back to the last good config by itself.
    #[serde(default = "default_rollback")]
    pub rollback_after_secs: u64,
}

fn default_keep_alive() -> u64 {
    30
}
fn default_reconnect_min() -> u64 {
    500
}
fn default_reconnect_max() -> u64 {
    60_000
}
fn default_batch() -> usize {
    200
}
fn default_window() -> usize {
    16
}
fn default_status_every() -> u64 {
    60
}
fn default_rollback() -> u64 {
    600
}

impl Default for HqSection {
    fn default() -> Self {
        HqSection {
            enabled: false,
            allow_plaintext: false,
            broker: String::new(),
            username: None,
            password: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            keep_alive_secs: default_keep_alive(),
            reconnect_min_ms: default_reconnect_min(),
            reconnect_max_ms: default_reconnect_max(),
            batch_events: default_batch(),
            window: default_window(),
            status_every_secs: default_status_every(),
            trusted_keys: Vec::new(),
            rollback_after_secs: default_rollback(),
        }
    }
}

/// Where the broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS.
    pub tls: bool,
}

impl HqSection {
    /// The broker address, parsed.
    pub fn broker_addr(&self) -> Result<BrokerAddr, String> {
        let (tls, rest) = if let Some(r) = self.broker.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = self.broker.strip_prefix("mqtt://") {
            (false, r)
        } else {
            return Err(format!(
                "`{}` is not a broker URL: use mqtt://host:port or mqtts://host:port",
                self.broker
            ));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("`{p}` is not a port number"))?,
            ),
            None => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("the broker URL has no host".into());
        }
        Ok(BrokerAddr {
            host: host.to_string(),
            port,
            tls,
        })
    }

    /// Checks the section; the error names the key.
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let bad = |k: &str, r: String| Err((format!("hq.{k}"), r));
        if !self.enabled {
            return Ok(());
        }
        if self.broker.is_empty() {
            return bad(
                "broker",
                "is required when hq.enabled = true: mqtt://host:port or mqtts://host:port".into(),
            );
        }
        let addr = self
            .broker_addr()
            .map_err(|r| ("hq.broker".to_string(), r))?;
        if !addr.tls && !super::is_local_host(&addr.host) && !self.allow_plaintext {
            return bad(
                "broker",
                format!(
                    "`{}` would send events, orders and the password unencrypted: use mqtts://, or set hq.allow_plaintext = true for a private line (a VPN)",
                    self.broker
                ),
            );
        }
        if !addr.tls && (self.ca_file.is_some() || self.client_cert.is_some()) {
            return bad(
                "ca_file",
                "TLS files are set but the broker URL is mqtt://; use mqtts:// to turn TLS on"
                    .into(),
            );
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return bad(
                "client_key",
                "client_cert and client_key go together (mutual TLS needs both)".into(),
            );
        }
        if self.password.is_some() && self.username.is_none() {
            return bad("username", "a password is set without a user name".into());
        }
        if !(5..=3600).contains(&self.keep_alive_secs) {
            return bad("keep_alive_secs", "use 5 to 3600 seconds".into());
        }
        if self.reconnect_min_ms == 0 || self.reconnect_min_ms > self.reconnect_max_ms {
            return bad(
                "reconnect_min_ms",
                "must be more than 0 and not more than hq.reconnect_max_ms".into(),
            );
        }
        if !(1..=5000).contains(&self.batch_events) {
            return bad("batch_events", "use 1 to 5000 events per message".into());
        }
        if !(1..=64).contains(&self.window) {
            return bad("window", "use 1 to 64 messages in flight".into());
        }
        if self.status_every_secs == 0 {
            return bad("status_every_secs", "must be more than 0".into());
        }
        if self.rollback_after_secs == 0 {
            return bad(
                "rollback_after_secs",
                "must be more than 0 (minutes are usual: a slow reconnect must not undo a good config)".into(),
            );
        }
        for (i, k) in self.trusted_keys.iter().enumerate() {
            if minisign_verify::PublicKey::from_base64(k.trim()).is_err() {
                return bad(
                    &format!("trusted_keys[{i}]"),
                    "is not a minisign public key: copy the second line of the .pub file".into(),
                );
            }
        }
        Ok(())
    }
}
