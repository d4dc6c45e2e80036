//! Opening and closing the store at the platforms over the socket: a manager's, with a reason;
//! each platform's wanted state goes out through the outbox, and what it confirms is shown.

use super::dispatch::{Ctx, bad_request};
use super::requests::manager_only;
use crate::api::{ApiError, OpenStatesReply};
use crate::model::{Platform, Timestamp};

/// Every platform's state.
pub(super) async fn states(cx: &Ctx<'_>) -> Result<OpenStatesReply, ApiError> {
    let platforms = cx
        .shared
        .store
        .read_async(crate::store::open::open_states)
        .await
        .map_err(|e| cx.err(e))?;
    Ok(OpenStatesReply { platforms })
}

/// A manager opens or closes the store at one platform or at every one enabled.
pub(super) async fn set(
    cx: &Ctx<'_>,
    platform: Option<Platform>,
    open: bool,
    until: Option<i64>,
    reason: String,
) -> Result<OpenStatesReply, ApiError> {
    manager_only(cx, "opens or closes the store at the platforms")?;
    let reason = reason.trim().to_string();
    if !open && reason.is_empty() {
        return Err(bad_request(
            "say why the store closes (--reason): the screens and HQ show it",
        ));
    }
    if reason.len() > 200 {
        return Err(bad_request("the reason is at most 200 bytes"));
    }
    let now = cx.shared.clock.now();
    let until = match until {
        Some(_) if open => return Err(bad_request("only a close has an end time")),
        Some(t) if t <= now.0 || t > now.0 + 24 * 3600 * 1000 => {
            return Err(bad_request(
                "a close ends within the next 24 hours: give a time ahead",
            ));
        }
        other => other.map(Timestamp),
    };
    let enabled: Vec<Platform> = cx.shared.channels.iter().map(|c| c.platform).collect();
    let targets: Vec<Platform> = match platform {
        Some(p) if enabled.contains(&p) => vec![p],
        Some(p) => {
            return Err(bad_request(format!(
                "{} is not enabled in this store",
                p.label()
            )));
        }
        None => enabled,
    };
    for p in targets {
        cx.shared
            .store
            .set_open(p, open, &reason, cx.actor, false, until)
            .await
            .map_err(|e| cx.err(e))?;
        tracing::warn!(platform = %p, open, by = cx.actor, reason = %reason, "the store's state at a platform set by hand");
    }
    states(cx).await
}
