//! `/metrics` (Prometheus text) and `/healthz` on the loopback address from the config.

use super::Shared;
use super::metrics::{PrinterFigures, ScannerFigures};
use crate::store;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(shared);
    let stop = async move {
        let _ = shutdown.changed().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(error = %e, "metrics server failed");
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let names: Vec<String> = shared
        .config
        .printers
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let figures = shared
        .store
        .read_async(move |c| {
            Ok((
                store::order_counts(c)?,
                store::outbox_depth(c)?,
                names
                    .iter()
                    .map(|n| store::print::print_queue(c, n))
                    .collect::<Result<Vec<_>, _>>()?,
                store::batches_in_picking(c)?,
            ))
        })
        .await;
    let (orders, outbox, queues, batches) = match figures {
        Ok((counts, outbox, queues, batches)) => (
            counts
                .into_iter()
                .map(|(s, n)| (s.as_str().to_string(), n))
                .collect::<Vec<_>>(),
            outbox,
            queues,
            batches.into_iter().map(|b| b.orders).collect::<Vec<_>>(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "metrics: cannot read the store");
            (Vec::new(), Vec::new(), Vec::new(), Vec::new())
        }
    };
    let now = shared.clock.now();
    let printers: Vec<PrinterFigures> = shared
        .printers
        .list()
        .into_iter()
        .zip(queues)
        .map(|((p, h), q)| PrinterFigures {
            name: p.name.clone(),
            online: h.online == Some(true),
            waiting: q.waiting,
            oldest_secs: q.oldest.map_or(0, |t| ((now.0 - t.0).max(0) / 1000) as u64),
            printed: h.printed,
            failures: h.failures,
        })
        .collect();
    let scanners: Vec<ScannerFigures> = shared
        .scanners
        .list
        .iter()
        .map(|(s, _)| ScannerFigures {
            name: s.name.clone(),
            connected: s.connected(),
            frames: s.frames(),
            errors: s.errors(),
        })
        .collect();
    let body = shared.metrics.render(
        shared.started_at.0 / 1000,
        &orders,
        &outbox,
        &scanners,
        &printers,
        &batches,
    );
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        body,
    )
}

async fn healthz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let alarms = shared.alarms.list();
    if !alarms.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("alarm: {}\n", alarms.join("\nalarm: ")),
        );
    }
    // Through the writer: it is what must be alive for a scan to be confirmed.
    let alive = tokio::time::timeout(Duration::from_secs(2), shared.store.ping()).await;
    match alive {
        Ok(Ok(())) => (StatusCode::OK, "ok\n".to_string()),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "store: the writer did not answer within 2 s\n".to_string(),
        ),
    }
}
