//! Notices: the one repeating-alert mechanism as clients see it.

use serde::{Deserialize, Serialize};

/// What a notice asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A customer's request a manager must decide.
    Decision,
    /// A rider waits at the store for an order not yet packed.
    RiderWaiting,
    /// The customer chased the order.
    Reminder,
    /// A new order waits to be accepted.
    NewOrder,
}

/// How often an escalated notice repeats (seconds).
pub const ESCALATED_REPEAT_SECS: u32 = 5;

/// A notice: repeated on every screen until resolved; a screen may snooze it for itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Stable key (`request:12`, `reminder:40`): a later notice with the key replaces it.
    pub key: String,
    /// What it asks for.
    pub kind: NoticeKind,
    /// `info`, `warning` or `error`.
    pub level: String,
    /// What happened and what to do.
    pub message: String,
    /// The order concerned.
    #[serde(default)]
    pub order_id: Option<i64>,
    /// When it was raised (ms).
    pub since: i64,
    /// When the platform acts by itself (ms): the screens count down to it.
    #[serde(default)]
    pub due: Option<i64>,
    /// Repeat the sound and flash this often until resolved or snoozed.
    pub repeat_secs: u32,
    /// From then on (ms) the notice is urgent: shown red and repeated every few seconds (an
    /// order's acceptance deadline nearing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_at: Option<i64>,
    /// The customer's request, for decisions.
    #[serde(default)]
    pub request: Option<crate::model::request::CustomerRequest>,
}

impl Notice {
    /// The key of the notice of a customer's request.
    pub fn request_key(id: i64) -> String {
        format!("request:{id}")
    }
}
