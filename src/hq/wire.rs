//! The MQTT topic contract with headquarters: topic names and every payload's type. This is a
//! public interface, documented in `assets/asyncapi.yaml`; a test checks the examples there
//! against these types. Payloads carry `"v": 1`; change them only by adding a version.

use serde::{Deserialize, Serialize};

/// Payload format version.
pub const V: u32 = 1;

/// The topics of one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// `flashpick/v1/{store}/status` (retained; the last will too).
    pub status: String,
    /// `…/events`: batches of outbox events.
    pub events: String,
    /// `…/orders`: orders relayed by HQ.
    pub orders: String,
    /// `…/config` (retained): the signed config.
    pub config: String,
    /// `…/config/status` (retained): what became of it.
    pub config_status: String,
    /// `…/catalog`: catalog / price / layout deltas.
    pub catalog: String,
}

impl Topics {
    /// The topics of `store`.
    pub fn new(store: &str) -> Topics {
        let t = |s: &str| format!("flashpick/v1/{store}/{s}");
        Topics {
            status: t("status"),
            events: t("events"),
            orders: t("orders"),
            config: t("config"),
            config_status: t("config/status"),
            catalog: t("catalog"),
        }
    }
}

/// A message on `…/events`: events in outbox order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// Payload format.
    pub v: u32,
    /// The store.
    pub store: String,
    /// The events, oldest first; per order always in order.
    pub events: Vec<HqEvent>,
}

/// One event. HQ dedupes on `id`; a redelivery carries the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HqEvent {
    /// UUIDv7, unique per event.
    pub id: String,
    /// `order_transition`, `stock_move`, `catalog_import`, `catalog_applied`, `rejected`, …
    pub kind: String,
    /// The event's own fields (see the AsyncAPI file), with `"v"`, `"type"` and `"at"`.
    pub data: serde_json::Value,
}

/// The retained message on `…/status`; the last will says `online: false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMsg {
    /// Payload format.
    pub v: u32,
    /// The store.
    pub store: String,
    /// Connected (false in the last will).
    pub online: bool,
    /// When this was made (ms since the epoch); absent in the last will.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// Everything else; absent in the last will.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<StatusDetail>,
}

/// The store's state, as HQ's fleet view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDetail {
    /// The binary's version.
    pub version: String,
    /// The config version from HQ in force (absent: the local file alone).
    pub config_version: Option<i64>,
    /// The database schema version.
    pub schema_version: i64,
    /// Open orders.
    pub open_orders: i64,
    /// Outbox rows waiting, per destination.
    pub outbox: Vec<OutboxInfo>,
    /// The serial scanners.
    pub scanners: Vec<ScannerInfo>,
    /// The platform channels.
    pub channels: Vec<ChannelInfo>,
    /// When HQ last acknowledged events (ms since the epoch).
    pub last_sync: Option<i64>,
}

/// Outbox depth of one destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxInfo {
    /// `meituan`, `jddj`, `hq`.
    pub destination: String,
    /// Waiting.
    pub pending: i64,
    /// Refused for good, waiting for a person.
    pub parked: i64,
    /// Age of the oldest waiting row, seconds.
    pub oldest_age_secs: Option<i64>,
}

/// A scanner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerInfo {
    /// Its name.
    pub name: String,
    /// Port open.
    pub connected: bool,
    /// Frames read.
    pub frames: u64,
    /// Bad frames.
    pub errors: u64,
}

/// A platform channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelInfo {
    /// `meituan` or `jddj`.
    pub name: String,
    /// Its last call succeeded.
    pub online: bool,
    /// The last error.
    pub last_error: Option<String>,
}

/// The retained message on `…/config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigDoc {
    /// The TOML text, laid over the store's local file.
    pub config: String,
    /// The text of the `.minisig` file signing exactly the bytes of `config`.
    pub minisig: String,
}

/// What became of the last config offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigResult {
    /// In force.
    Applied,
    /// Refused; the one in force is unchanged.
    Rejected,
    /// Applied, then undone because the store lost HQ.
    RolledBack,
}

/// The retained message on `…/config/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigStatus {
    /// Payload format.
    pub v: u32,
    /// The store.
    pub store: String,
    /// What happened.
    pub result: ConfigResult,
    /// The version in force now (absent: the local file alone).
    pub version: Option<i64>,
    /// The version offered (absent when it could not be read).
    pub offered_version: Option<i64>,
    /// Why, when rejected or rolled back.
    pub reason: Option<String>,
    /// When (ms since the epoch).
    pub at: i64,
}

pub use super::inbound::{CatalogChange, CatalogMsg, RelayedLine, RelayedOrder, WireOrder};
