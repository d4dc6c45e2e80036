//! Identifiers and time stamps shared by every layer.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The local id of an order (the SQLite row id). Staff see the day sequence number instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub i64);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The store's own code for an item (货号), the key of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SkuCode(pub String);

impl SkuCode {
    /// Wraps a code.
    pub fn new(code: impl Into<String>) -> Self {
        SkuCode(code.into())
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SkuCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Milliseconds since the Unix epoch, UTC. Integer so that SQLite and arithmetic stay exact.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_millis() as i64)
    }
    /// This time plus `secs` seconds (negative moves back).
    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0 + secs * 1000)
    }
}

/// A globally unique, time-ordered event id (UUIDv7). HQ and the platforms dedupe on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub String);

impl EventId {
    /// A fresh UUIDv7.
    pub fn new() -> Self {
        EventId(uuid::Uuid::now_v7().to_string())
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

/// Where an order came from and where its reports go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Meituan Shangou (美团闪购).
    Meituan,
    /// JD Daojia (京东到家).
    Jddj,
    /// Relayed by headquarters' order management system over MQTT.
    Hq,
}

impl Platform {
    /// Every platform, in display order.
    pub const ALL: [Platform; 3] = [Platform::Meituan, Platform::Jddj, Platform::Hq];

    /// The stable lower-case name used in the database, config and wire formats (frozen).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Meituan => "meituan",
            Platform::Jddj => "jddj",
            Platform::Hq => "hq",
        }
    }

    /// The name staff know it by, for messages (美团 Meituan, 京东到家 JD Daojia, HQ).
    pub fn label(self) -> &'static str {
        match self {
            Platform::Meituan => "Meituan",
            Platform::Jddj => "JD Daojia",
            Platform::Hq => "HQ",
        }
    }

    /// Whether this platform sells from the store's stock and must be told stock levels.
    pub fn sells_stock(self) -> bool {
        !matches!(self, Platform::Hq)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the known platforms.
#[derive(Debug, thiserror::Error)]
#[error("unknown platform `{0}` (expected meituan, jddj or hq)")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "meituan" => Ok(Platform::Meituan),
            "jddj" => Ok(Platform::Jddj),
            "hq" => Ok(Platform::Hq),
            other => Err(UnknownPlatform(other.to_string())),
        }
    }
}
