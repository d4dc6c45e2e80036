//! The daemon's status: the reply to `status` and the payload of status events — orders,
//! outbox, scanners, channels, printers, batches.

use super::OutboxDepth;
use crate::model::Timestamp;
use serde::{Deserialize, Serialize};

/// Reply to `status`, and the payload of status events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// flashpick version.
    pub version: String,
    /// Protocol version.
    pub protocol: u32,
    /// Store id.
    pub store_id: String,
    /// Store name.
    pub store_name: String,
    /// When the daemon started.
    pub started_at: Timestamp,
    /// Seconds since.
    pub uptime_secs: i64,
    /// Orders still needing work.
    pub open_orders: i64,
    /// Orders per state.
    pub orders_by_state: std::collections::BTreeMap<String, i64>,
    /// Outbox per destination.
    pub outbox: Vec<OutboxDepth>,
    /// Scanners (filled in once scanners are configured).
    pub scanners: Vec<ScannerStatus>,
    /// Connectivity per channel (HQ, each platform).
    pub channels: Vec<ChannelStatus>,
    /// The HQ config version applied, if any.
    pub config_version: Option<u64>,
    /// Clients attached to the socket.
    pub clients: u64,
    /// What is wrong with the store itself (its database deleted or damaged), each with what to
    /// do; empty when all is well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    /// The store open or closed at each platform, where it was ever set or heard of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<crate::model::capacity::OpenState>,
    /// The printers (`[[printers]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub printers: Vec<PrinterStatus>,
    /// Batches being picked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<BatchStatus>,
    /// `[picking] batch_max`: above 1, the screens claim batches.
    #[serde(default = "single")]
    pub batch_max: u32,
}

fn single() -> u32 {
    1
}

/// A batch being picked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchStatus {
    /// The batch's number (its first order's id).
    pub batch: i64,
    /// Who picks it.
    pub picker: String,
    /// Its orders still in picking.
    pub orders: u32,
}

/// One printer's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterStatus {
    /// Configured name.
    pub name: String,
    /// Where it is (host:port, a device, a directory).
    pub address: String,
    /// Took its last job; `None` before the first.
    pub online: Option<bool>,
    /// What it said about itself: `ready`, `paper_low`, `paper_out`, `cover_open`, `error`
    /// (printers that answer DLE EOT).
    #[serde(default)]
    pub state: Option<String>,
    /// Jobs waiting.
    pub waiting: u64,
    /// Seconds the oldest waiting job has waited.
    #[serde(default)]
    pub oldest_secs: Option<i64>,
    /// Jobs printed since start.
    pub printed: u64,
    /// Failed tries since start.
    pub failures: u64,
    /// The latest failure, with what to check.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// One scanner's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannerStatus {
    /// Configured name.
    pub name: String,
    /// Device path.
    pub path: String,
    /// Open right now.
    pub connected: bool,
    /// Frames read.
    pub frames: u64,
    /// Bad frames and read errors.
    pub errors: u64,
    /// The latest error, for the person fixing it.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The picker it is bound to.
    #[serde(default)]
    pub picker: Option<String>,
    /// The station it belongs to.
    #[serde(default)]
    pub station: Option<String>,
}

/// One outward channel's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStatus {
    /// `hq`, `meituan`, `jddj`.
    pub name: String,
    /// Reachable right now.
    pub online: bool,
    /// Calls made since start.
    #[serde(default)]
    pub calls: u64,
    /// Calls that failed or were refused.
    #[serde(default)]
    pub failures: u64,
    /// The latest failure.
    #[serde(default)]
    pub last_error: Option<String>,
}
