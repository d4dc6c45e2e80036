//! Customers' requests over the socket: the live ones listed, and a manager's decision.

use super::dispatch::Ctx;
use crate::api::{ApiError, DecidedReply, RequestsReply, ResolvedReply};
use crate::store;

/// The requests still waiting for the store or the platform.
pub(super) async fn list(cx: &Ctx<'_>) -> Result<RequestsReply, ApiError> {
    let requests = cx
        .shared
        .store
        .read_async(store::requests::live_requests)
        .await
        .map_err(|e| cx.err(e))?;
    Ok(RequestsReply { requests })
}

/// Whether the connection's actor is a manager; the refusal says what to do.
pub(super) fn manager_only(cx: &Ctx<'_>, what: &str) -> Result<(), ApiError> {
    if cx
        .shared
        .config
        .staff
        .managers
        .iter()
        .any(|m| m == cx.actor)
    {
        return Ok(());
    }
    Err(ApiError {
        code: "refused".into(),
        message: format!(
            "only a manager {what}, and `{}` is not one ([staff] managers): ask a manager",
            cx.actor
        ),
    })
}

/// A manager settles a parked row by hand: logged with who, recorded on the row.
pub(super) async fn resolve_parked(
    cx: &Ctx<'_>,
    row: i64,
    resend: bool,
) -> Result<ResolvedReply, ApiError> {
    manager_only(cx, "resolves a parked row")?;
    let state = cx
        .shared
        .store
        .resolve_parked(row, resend, cx.actor)
        .await
        .map_err(|e| cx.err(e))?;
    tracing::warn!(
        row,
        resend,
        by = cx.actor,
        "a parked outbox row resolved by hand"
    );
    let _ = cx.shared.events.send(crate::api::Event::Alert {
        level: "info".into(),
        message: format!(
            "outbox row {row} {} by {}",
            if resend { "sent again" } else { "marked done" },
            cx.actor
        ),
        order_id: None,
    });
    Ok(ResolvedReply {
        row,
        state: state.to_string(),
    })
}

/// A manager agrees or rejects; the decision is queued for the platform with the request's
/// change, so it goes out once whoever asks again.
pub(super) async fn decide(
    cx: &Ctx<'_>,
    request_id: i64,
    agree: bool,
    reason: String,
) -> Result<DecidedReply, ApiError> {
    manager_only(cx, "decides a customer's request")?;
    let request = cx
        .shared
        .store
        .decide_request(request_id, agree, reason.trim(), cx.actor)
        .await
        .map_err(|e| cx.err(e))?;
    tracing::info!(
        request = request_id,
        order = %request.asked.external_id,
        agree,
        by = cx.actor,
        "a customer's request decided"
    );
    Ok(DecidedReply { request })
}
