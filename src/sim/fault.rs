//! What an injected fault does to one call, the same on both platforms.

use super::state::FaultKind;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Carries out `fault` before the call is handled: an answer that replaces the real one, or
/// `None` to go on (after a delay for the slow kinds). `rate_limited` is the platform's own
/// rate-limit answer.
pub(super) async fn before_call(
    fault: Option<FaultKind>,
    rate_limited: impl FnOnce() -> Response,
) -> Option<Response> {
    match fault? {
        FaultKind::ServerError => {
            Some((StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response())
        }
        FaultKind::RateLimit => Some(rate_limited()),
        FaultKind::TooMany => Some((StatusCode::TOO_MANY_REQUESTS, "slow down").into_response()),
        FaultKind::Cut => Some(Response::new(Body::new(Cut))),
        FaultKind::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            None
        }
        FaultKind::Drop => {
            // Longer than any client waits: it gives up with a timeout.
            tokio::time::sleep(Duration::from_secs(120)).await;
            None
        }
        FaultKind::LoseAnswer | FaultKind::CutAfter => None,
    }
}

/// What replaces the answer of a call that took effect: a 503, or a connection cut.
pub(super) fn after_call(fault: FaultKind) -> Response {
    match fault {
        FaultKind::CutAfter => Response::new(Body::new(Cut)),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "answer lost").into_response(),
    }
}

/// An answer whose body fails at once: the server drops the connection instead of answering
/// (perhaps after the status line), so the client reads a broken answer, as on a flaky line.
/// It fires before the call is handled; `lose_answer` is the fault for "done, answer lost".
struct Cut;

impl http_body::Body for Cut {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the simulator cut the line",
        ))))
    }
}
