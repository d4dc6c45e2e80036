//! The store's local configuration file (TOML), parsed strictly: unknown keys, wrong types and
//! invalid values are refused with the dotted key and the reason, and the daemon exits 78.

mod alerts;
mod hq;
mod platforms;
mod printing;
mod scanning;

pub use alerts::AlertsSection;
pub use hq::{BrokerAddr, HqSection};
pub use platforms::{Delivery, IntakeMode, PlatformSection, Secret, WebhooksSection};
pub use printing::{PrinterConfig, PrinterKind};
pub use scanning::{BarcodesSection, Parity, PickingSection, ScannerConfig, ScannerRole, Suffix};

use crate::model::{Platform, SlaPolicy};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the config lives unless `--config` or `FLASHPICK_CONFIG` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/flashpick/store.toml";

/// The largest config file read: a real one is a few KiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Exit status for a bad configuration (sysexits EX_CONFIG); systemd's unit does not restart on it.
pub const EXIT_CONFIG: i32 = 78;

/// The whole file. Sections other than `[store]` may be left out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Who this store is and where it keeps its data.
    pub store: StoreSection,
    /// The local socket the TUI and CLI use.
    #[serde(default)]
    pub api: ApiSection,
    /// `/metrics` and `/healthz`.
    #[serde(default)]
    pub http: HttpSection,
    /// Deadlines and thresholds.
    #[serde(default)]
    pub sla: SlaPolicy,
    /// The delivery platforms this store sells on.
    #[serde(default)]
    pub platforms: PlatformsSection,
    /// Headquarters.
    #[serde(default)]
    pub hq: HqSection,
    /// Badge and order prefixes, scale label layouts.
    #[serde(default)]
    pub barcodes: BarcodesSection,
    /// Weight tolerance, scanner repeat window.
    #[serde(default)]
    pub picking: PickingSection,
    /// The serial barcode scanners.
    #[serde(default)]
    pub scanners: Vec<ScannerConfig>,
    /// The thermal printers.
    #[serde(default)]
    pub printers: Vec<PrinterConfig>,
    /// The push receiver for the platforms.
    #[serde(default)]
    pub webhooks: WebhooksSection,
    /// The terminal UI.
    #[serde(default)]
    pub tui: TuiSection,
    /// Who is who among the staff.
    #[serde(default)]
    pub staff: StaffSection,
    /// How new orders keep ringing.
    #[serde(default)]
    pub alerts: AlertsSection,
    /// Auto-pause: closing at the platforms by itself under load (off by default).
    #[serde(default)]
    pub capacity: crate::model::capacity::Capacity,
    /// Logging.
    #[serde(default)]
    pub log: LogSection,
    /// The text this was parsed from (the base a config from HQ is laid over).
    #[serde(skip)]
    pub source: SourceText,
    /// The version of the config from HQ laid over the local file, if one is.
    #[serde(skip)]
    pub hq_version: Option<i64>,
}

/// A config file's text. It holds credentials, so `Debug` shows only its size.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceText(pub String);

impl std::ops::Deref for SourceText {
    type Target = String;
    fn deref(&self) -> &String {
        &self.0
    }
}

impl std::fmt::Debug for SourceText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes of TOML>", self.0.len())
    }
}

/// `[staff]`: roles, matched against the actor a screen or script declares in its hello. The
/// rules built on them guard against mistakes, not attackers: the socket's group is trusted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSection {
    /// Store managers: they may act on an order another picker has claimed (release it, finish
    /// it) without taking it over.
    #[serde(default)]
    pub managers: Vec<String>,
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// The store id HQ knows it by; used in MQTT topics, so letters, digits, `-` and `_` only.
    pub id: String,
    /// A human name, shown in the UI.
    #[serde(default)]
    pub name: String,
    /// Where the database lives (`store.db` inside it).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/flashpick")
}

/// `[api]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// The Unix socket (created with mode 0660).
    #[serde(default = "default_socket")]
    pub socket: PathBuf,
    /// The group the socket is given to: store staff who run `flashpick tui` join it. It is not
    /// the service's own group, which may read the config and its secrets. Left as it is when
    /// the group does not exist on this machine.
    #[serde(default = "default_socket_group")]
    pub group: String,
}

fn default_socket() -> PathBuf {
    PathBuf::from("/run/flashpick/flashpick.sock")
}

fn default_socket_group() -> String {
    "flashpick-staff".into()
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            socket: default_socket(),
            group: default_socket_group(),
        }
    }
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Loopback address for `/metrics` and `/healthz`; port 0 picks a free one.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9477))
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: default_listen(),
        }
    }
}

/// `[platforms]`: one table per platform.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformsSection {
    /// Meituan Shangou.
    #[serde(default)]
    pub meituan: PlatformSection,
    /// JD Daojia.
    #[serde(default)]
    pub jddj: PlatformSection,
}

/// `[tui]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuiSection {
    /// Screen language: `zh` (简体中文) or `en`.
    #[serde(default)]
    pub lang: crate::model::Lang,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// A tracing filter: `info`, `debug`, or per module like `info,flashpick::store=debug`.
    #[serde(default = "default_level")]
    pub level: String,
}

fn default_level() -> String {
    "info".into()
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: default_level(),
        }
    }
}

/// A configuration that cannot be used. Every variant names the file and, where there is one, the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: cannot read the config file: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// Not TOML, an unknown key or a value of the wrong type.
    #[error("{}:{line}: {}{message}", path.display(), key_prefix(key))]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// Dotted key path.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Well-formed, but a value is not acceptable.
    #[error("{path}: key `{key}`: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted key path.
        key: String,
        /// What is wrong and what to do.
        reason: String,
    },
}

impl ConfigError {
    /// The dotted key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Parse { key, .. } | ConfigError::Invalid { key, .. } => Some(key),
        }
    }
}

impl Config {
    /// Reads, parses and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        use std::io::Read;
        let io = |cause| ConfigError::Io {
            path: path.to_path_buf(),
            cause,
        };
        // Bounded: `config check /dev/zero` once read until memory ran out.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(io)?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "(file)".into(),
                reason: format!(
                    "the file is larger than {} KiB: not a flashpick config (check the path)",
                    MAX_CONFIG_BYTES / 1024
                ),
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text ({e})"),
            ))
        })?;
        Config::parse(&text, path)
    }

    /// Whether loading failed only because this user may not read the file (store staff may not
    /// read the config's secrets; what they need, the socket, has a default).
    pub fn unreadable(e: &ConfigError) -> bool {
        matches!(e, ConfigError::Io { cause, .. } if cause.kind() == std::io::ErrorKind::PermissionDenied)
    }

    /// Parses and validates `text`; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let parse_err = |e: toml::de::Error, key: String| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            let message = e.message().trim().to_string();
            // serde names the table of an unknown field; the operator wants the key itself.
            let key = match unknown_field(&message) {
                Some(field) if key.is_empty() || key == "." => field.to_string(),
                Some(field) if !key.ends_with(field) => format!("{key}.{field}"),
                _ => key,
            };
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                key,
                message,
            }
        };
        let de = toml::Deserializer::parse(text).map_err(|e| parse_err(e, String::new()))?;
        let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            parse_err(e.into_inner(), key)
        })?;
        config.source = SourceText(text.to_string());
        config.validate(path)?;
        Ok(config)
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.store.state_dir.join("store.db")
    }

    /// The section of a selling platform.
    pub fn platform(&self, p: Platform) -> Option<&PlatformSection> {
        match p {
            Platform::Meituan => Some(&self.platforms.meituan),
            Platform::Jddj => Some(&self.platforms.jddj),
            Platform::Hq => None,
        }
    }

    /// The platforms stock levels are pushed to.
    pub fn selling_platforms(&self) -> Vec<Platform> {
        Platform::ALL
            .into_iter()
            .filter(|p| self.platform(*p).is_some_and(|s| s.enabled))
            .collect()
    }

    /// The lines this config lets run unencrypted to another machine (each `allow_plaintext`
    /// in use), as warnings for the log and `config check`.
    pub fn plaintext_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, p) in [
            ("meituan", &self.platforms.meituan),
            ("jddj", &self.platforms.jddj),
        ] {
            if let Some(url) = p.base_url.as_deref().filter(|_| p.enabled)
                && platforms::plaintext_remote(url)
            {
                out.push(format!(
                    "platforms.{name}: {url} is plain http; orders and signed requests travel unencrypted (allow_plaintext = true)"
                ));
            }
        }
        if self.hq.enabled
            && let Ok(addr) = self.hq.broker_addr()
            && !addr.tls
            && !is_local_host(&addr.host)
        {
            out.push(format!(
                "hq: {} is plain mqtt; events, orders and the broker password travel unencrypted (allow_plaintext = true)",
                self.hq.broker
            ));
        }
        out
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            reason,
        };
        let id = &self.store.id;
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "store.id",
                format!(
                    "`{id}` is not a store id: use 1-64 letters, digits, `-` or `_` (it becomes part of MQTT topics)"
                ),
            ));
        }
        if !self.http.listen.ip().is_loopback() {
            return Err(invalid(
                "http.listen",
                format!(
                    "{} is not a loopback address: metrics stay on the machine; use 127.0.0.1:<port>",
                    self.http.listen
                ),
            ));
        }
        if self.api.socket.as_os_str().is_empty() {
            return Err(invalid("api.socket", "must be a file path".into()));
        }
        if self.api.socket == self.db_path() {
            return Err(invalid(
                "api.socket",
                "is the database file; use a path of its own such as /run/flashpick/flashpick.sock"
                    .into(),
            ));
        }
        // sockaddr_un holds 108 bytes including the final NUL.
        if self.api.socket.as_os_str().len() > 107 {
            return Err(invalid(
                "api.socket",
                "is longer than the 107 bytes a Unix socket path may have; use a shorter path"
                    .into(),
            ));
        }
        let sla = &self.sla;
        for (key, v) in [
            ("sla.travel_buffer_secs", sla.travel_buffer_secs),
            ("sla.default_pick_secs", sla.default_pick_secs),
            ("sla.at_risk_secs", sla.at_risk_secs),
            ("sla.late_secs", sla.late_secs),
            ("sla.release_before_secs", sla.release_before_secs),
        ] {
            if !(0..=86_400).contains(&v) {
                return Err(invalid(
                    key,
                    format!("{v} is out of range: use 0 to 86400 seconds"),
                ));
            }
        }
        if !(1..=30).contains(&sla.max_schedule_days) {
            return Err(invalid(
                "sla.max_schedule_days",
                format!(
                    "{} is out of range: use 1 to 30 days",
                    sla.max_schedule_days
                ),
            ));
        }
        if sla.default_pick_secs == 0 {
            return Err(invalid(
                "sla.default_pick_secs",
                "must be more than 0 seconds".into(),
            ));
        }
        if sla.at_risk_secs <= sla.late_secs {
            return Err(invalid(
                "sla.at_risk_secs",
                format!(
                    "{} must be greater than sla.late_secs ({}), or orders never turn amber before red",
                    sla.at_risk_secs, sla.late_secs
                ),
            ));
        }
        for (name, p) in [
            ("meituan", &self.platforms.meituan),
            ("jddj", &self.platforms.jddj),
        ] {
            platforms::validate(name, p, &self.webhooks)
                .map_err(|(key, reason)| invalid(&key, reason))?;
        }
        self.hq
            .validate()
            .map_err(|(key, reason)| invalid(&key, reason))?;
        printing::validate(&self.printers).map_err(|(key, reason)| invalid(&key, reason))?;
        scanning::validate(&self.barcodes, &self.picking, &self.scanners)
            .map_err(|(key, reason)| invalid(&key, reason))?;
        alerts::validate(&self.alerts).map_err(|(key, reason)| invalid(&key, reason))?;
        self.capacity
            .check()
            .map_err(|(key, reason)| invalid(&key, reason))?;
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(invalid(
                "log.level",
                format!(
                    "`{}` is not a log filter: use error, warn, info, debug or trace",
                    self.log.level
                ),
            ));
        }
        Ok(())
    }
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("key `{key}`: ")
    }
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// Whether `host` is this machine (a loopback name or address), where plain text never leaves it.
pub(crate) fn is_local_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
