//! What a scan does. Every scan — from a serial scanner or typed into a TUI — goes through
//! [`scan_into`]: decode, find the item, match a line of the order, commit the pick in one
//! transaction, and tell every screen. A wrong scan moves nothing and says what was expected.

use super::Shared;
use super::views::view_with;
use crate::api::{Event, Expected, ScanOutcome, ScanReply};
use crate::model::barcode::{self, CodeKind};
use crate::model::{Order, OrderId, Timestamp};
use crate::scan::{ReaderMsg, RepeatFilter, ScanFrame, ScannerStats};
use crate::store::{self, ScanLog, ScanRequest, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The configured scanners and who each one belongs to.
pub(crate) struct Scanners {
    /// Per scanner: its figures and its station.
    pub list: Vec<(Arc<ScannerStats>, Option<String>)>,
    /// Scanner name → picker id: from the config, then from badges scanned since.
    pub bindings: std::sync::Mutex<HashMap<String, String>>,
}

impl Scanners {
    pub fn picker_of(&self, scanner: &str) -> Option<String> {
        self.bindings
            .lock()
            .expect("bindings")
            .get(scanner)
            .cloned()
    }
}

/// Handles what the reader threads send until shutdown, one at a time, in arrival order.
pub(crate) async fn serial_loop(
    shared: Arc<Shared>,
    mut inbox: mpsc::Receiver<ReaderMsg>,
    mut shutdown: watch::Receiver<bool>,
) {
    let window = Duration::from_millis(shared.config.picking.repeat_window_ms);
    let mut repeats = RepeatFilter::new(window);
    loop {
        let msg = tokio::select! {
            _ = shutdown.changed() => return,
            m = inbox.recv() => match m {
                Some(m) => m,
                None => return,
            },
        };
        let frame = match msg {
            ReaderMsg::Frame(f) => f,
            ReaderMsg::Connected { scanner } => {
                alert(&shared, "info", format!("scanner {scanner} connected"));
                continue;
            }
            ReaderMsg::Disconnected { scanner, reason } => {
                alert(&shared, "warning", format!("scanner {scanner}: {reason}"));
                continue;
            }
        };
        if repeats.is_repeat(&frame) {
            super::metrics::Metrics::inc(&shared.metrics.scan_repeats);
            continue;
        }
        if let Err(e) = serial_scan(&shared, frame).await {
            tracing::error!(error = %e, "scan could not be handled");
        }
    }
}

fn alert(shared: &Arc<Shared>, level: &str, message: String) {
    let _ = shared.events.send(Event::Alert {
        level: level.into(),
        message,
        order_id: None,
    });
}

async fn serial_scan(shared: &Arc<Shared>, frame: ScanFrame) -> Result<(), StoreError> {
    let decoded = barcode::decode(&frame.code, &shared.rules);
    let scanner = frame.scanner.clone();
    if let Ok(d) = &decoded
        && d.kind == Some(CodeKind::Badge)
    {
        let badge = d.data.clone();
        let picker = shared
            .store
            .read_async(move |c| store::picker_for_badge(c, &badge))
            .await?;
        shared.store.bind_scanner(&scanner, &picker).await?;
        shared
            .scanners
            .bindings
            .lock()
            .expect("bindings")
            .insert(scanner.clone(), picker.clone());
        let message = format!("scanner {scanner} now belongs to picker {picker}");
        tracing::info!("{message}");
        let reply = bare_reply(
            ScanOutcome::Badge,
            frame.code,
            message,
            Some(scanner),
            Some(picker),
        );
        publish(shared, reply);
        return Ok(());
    }
    let Some(picker) = shared.scanners.picker_of(&scanner) else {
        let message = format!("scanner {scanner} belongs to no picker: scan your badge first");
        return no_order(shared, frame.code, message, scanner, None).await;
    };
    let who = picker.clone();
    let order = shared
        .store
        .read_async(move |c| store::current_order(c, &who))
        .await?;
    let Some(order) = order else {
        let message = format!("picker {picker} has no order in picking: claim one first");
        return no_order(shared, frame.code, message, scanner, Some(picker)).await;
    };
    scan_into(shared, order.id, frame.code, Some(scanner)).await?;
    Ok(())
}

async fn no_order(
    shared: &Arc<Shared>,
    code: String,
    message: String,
    scanner: String,
    picker: Option<String>,
) -> Result<(), StoreError> {
    shared
        .store
        .log_scan(ScanLog {
            order_id: None,
            line_no: None,
            code: code.clone(),
            result: ScanOutcome::NoOrder.as_str().into(),
            qty: 0,
            actor: picker.clone().unwrap_or_else(|| scanner.clone()),
            scanner: Some(scanner.clone()),
            at: Timestamp::now(),
        })
        .await?;
    shared.metrics.scan(ScanOutcome::NoOrder);
    publish(
        shared,
        bare_reply(ScanOutcome::NoOrder, code, message, Some(scanner), picker),
    );
    Ok(())
}

fn bare_reply(
    result: ScanOutcome,
    code: String,
    message: String,
    scanner: Option<String>,
    picker: Option<String>,
) -> ScanReply {
    ScanReply {
        result,
        code,
        message,
        scanner,
        picker,
        line_no: None,
        sku: None,
        name: None,
        weight_g: None,
        expected: Vec::new(),
        order: None,
    }
}

fn publish(shared: &Arc<Shared>, reply: ScanReply) {
    let _ = shared.events.send(Event::ScanResult {
        reply: Box::new(reply),
    });
}

fn expected(order: &Order) -> Vec<Expected> {
    order
        .lines
        .iter()
        .filter(|l| l.remaining() > 0)
        .map(|l| Expected {
            line_no: l.line_no,
            sku: l.sku.0.clone(),
            name: l.name.clone(),
            remaining: l.remaining(),
        })
        .collect()
}

/// Scans `code` into the order (which must be in picking) and reports the outcome to everyone.
pub(crate) async fn scan_into(
    shared: &Arc<Shared>,
    order: OrderId,
    code: String,
    scanner: Option<String>,
) -> Result<ScanReply, StoreError> {
    let decoded = barcode::decode(&code, &shared.rules);
    let weight_g = decoded.as_ref().ok().and_then(|d| d.weight_g);
    let done = shared
        .store
        .scan(ScanRequest {
            order,
            code: code.clone(),
            decoded,
            scanner: scanner.clone(),
            tolerance_pct: shared.config.picking.weight_tolerance_pct,
        })
        .await?;
    shared.metrics.scan(done.outcome);
    let reply = ScanReply {
        result: done.outcome,
        code,
        message: done.message,
        scanner,
        picker: done.order.picker.clone(),
        line_no: done.line_no,
        sku: done.item.as_ref().map(|s| s.sku.0.clone()),
        name: done.item.map(|s| s.name),
        weight_g,
        expected: expected(&done.order),
        order: Some(view_with(
            done.order,
            done.walk,
            &shared.config.sla,
            Timestamp::now(),
        )),
    };
    publish(shared, reply.clone());
    Ok(reply)
}
