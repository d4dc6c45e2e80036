//! The one repeating-alert mechanism: a notice stands on every screen until the action it asks
//! for is done (it is *resolved* everywhere), and the screens repeat it until then; a screen may
//! *snooze* it for itself (that is the screen's business, not the daemon's). Decisions on
//! customers' requests use it; riders at the store, reminders and new orders will too.

use super::Shared;
use crate::api::{Event, Notice, NoticeKind};
use crate::model::request::{CustomerRequest, RequestKind, RequestState};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How often a decision is repeated on the screens until someone decides.
pub(crate) const DECISION_REPEAT_SECS: u32 = 30;

/// Notices standing now, by key.
#[derive(Default)]
pub(crate) struct Notices(Mutex<BTreeMap<String, Notice>>);

impl Notices {
    /// Every notice standing, oldest first (for a screen that subscribes later).
    pub(crate) fn list(&self) -> Vec<Notice> {
        let mut all: Vec<Notice> = self.0.lock().expect("notices").values().cloned().collect();
        all.sort_by_key(|n| n.since);
        all
    }

    /// Raises (or replaces) a notice and tells every screen.
    pub(crate) fn raise(&self, shared: &Shared, notice: Notice) {
        self.0
            .lock()
            .expect("notices")
            .insert(notice.key.clone(), notice.clone());
        let _ = shared.events.send(Event::Notice {
            notice: Box::new(notice),
        });
    }

    /// Resolves a notice everywhere; nothing when none stands under `key`.
    pub(crate) fn resolve(&self, shared: &Shared, key: &str, by: &str) {
        if self.0.lock().expect("notices").remove(key).is_some() {
            let _ = shared.events.send(Event::NoticeResolved {
                key: key.to_string(),
                by: by.to_string(),
            });
        }
    }
}

/// What the screens say of a request, in English for the log and the CLI (the TUI renders its
/// own words from the request).
pub(crate) fn request_message(r: &CustomerRequest) -> String {
    let what = match r.asked.kind {
        RequestKind::FullRefund => "a full refund".to_string(),
        RequestKind::Cancel => "to cancel the order".to_string(),
        RequestKind::PartRefund => {
            let items: Vec<String> = r.asked.items.iter().map(|i| i.label()).collect();
            format!("a refund of {}", items.join(", "))
        }
    };
    let reason = if r.asked.reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", r.asked.reason)
    };
    format!(
        "{} order {}: the customer asks {what}{reason}; a manager decides (D on the queue) before the platform does",
        r.asked.platform.label(),
        r.asked.external_id
    )
}

/// A request as it changed: an open one stands as a decision; decided or settled, it is resolved.
pub(crate) fn request_changed(shared: &Shared, r: &CustomerRequest) {
    let key = Notice::request_key(r.id);
    match r.state {
        RequestState::Open => shared.notices.raise(
            shared,
            Notice {
                key,
                kind: NoticeKind::Decision,
                level: "warning".into(),
                message: request_message(r),
                order_id: r.order_id,
                since: r.opened_at.0,
                due: Some(r.decide_by.0),
                repeat_secs: DECISION_REPEAT_SECS,
                request: Some(r.clone()),
            },
        ),
        state => {
            let by = match (state, &r.decided_by) {
                (RequestState::Agreeing | RequestState::Rejecting, Some(who)) => {
                    format!("{} by {who}", state.as_str())
                }
                _ => state.as_str().to_string(),
            };
            shared.notices.resolve(shared, &key, &by);
        }
    }
}

/// At start: every request still open stands again (the daemon may have restarted meanwhile).
pub(crate) async fn restore(shared: &Shared) {
    match shared
        .store
        .read_async(crate::store::requests::live_requests)
        .await
    {
        Ok(list) => {
            for r in list.iter().filter(|r| r.state == RequestState::Open) {
                request_changed(shared, r);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read the customers' requests"),
    }
}
