//! Customers' requests over the socket: the live ones listed, and a manager's decision.

use super::dispatch::Ctx;
use crate::api::{ApiError, DecidedReply, RequestsReply};
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

/// A manager agrees or rejects; the decision is queued for the platform with the request's
/// change, so it goes out once whoever asks again.
pub(super) async fn decide(
    cx: &Ctx<'_>,
    request_id: i64,
    agree: bool,
    reason: String,
) -> Result<DecidedReply, ApiError> {
    if !cx
        .shared
        .config
        .staff
        .managers
        .iter()
        .any(|m| m == cx.actor)
    {
        return Err(ApiError {
            code: "refused".into(),
            message: format!(
                "only a manager decides a customer's request, and `{}` is not one ([staff] managers): ask a manager",
                cx.actor
            ),
        });
    }
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
