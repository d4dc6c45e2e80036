//! What a scan does. Every scan — from a serial scanner or typed into a TUI — goes through
//! [`scan_into`]: decode, find the item, match a line of the order, commit the pick in one
//! transaction, and tell every screen. A wrong scan moves nothing and says what was expected.

use super::Shared;
use super::views::view_with;
use crate::api::{Event, Expected, ScanOutcome, ScanReply};
use crate::model::barcode::{self, BarcodeError, CodeKind};
use crate::model::{Order, OrderEvent, ScanMatch, Timestamp, TransitionError, Unit, match_scan};
use crate::scan::{ReaderMsg, RepeatFilter, ScanFrame, ScannerStats};
use crate::store::{self, ScanLog, StoreError};
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
    scan_into(shared, order, frame.code, Some(scanner)).await?;
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

/// Scans `code` into `order` (which must be in picking) and reports the outcome to everyone.
pub(crate) async fn scan_into(
    shared: &Arc<Shared>,
    order: Order,
    code: String,
    scanner: Option<String>,
) -> Result<ScanReply, StoreError> {
    let store = &shared.store;
    let decoded = barcode::decode(&code, &shared.rules);
    let (lookup, raw, lines) = (decoded.clone().ok(), code.clone(), order.clone());
    // One read for the item and the walk, so the reply needs no second read after the commit.
    let (item, walk) = store
        .read_async(move |c| {
            let item = match store::sku_for_scan(c, lookup.as_ref(), &raw)? {
                Some(s) => store::sku_info(c, &s)?,
                None => None,
            };
            Ok((item, super::views::walk(c, &lines)?))
        })
        .await?;
    let weight = decoded.as_ref().ok().and_then(|d| d.weight_g);
    let actor = order.picker.clone().unwrap_or_else(|| "station".into());
    let mut log = ScanLog {
        order_id: Some(order.id),
        line_no: None,
        code: code.clone(),
        result: String::new(),
        qty: 0,
        actor: actor.clone(),
        scanner: scanner.clone(),
        at: Timestamp::now(),
    };
    let seq = order.day_seq;
    let mut after = order.clone();
    let (outcome, message) = match (&decoded, &item) {
        (Err(e), None) if !matches!(e, BarcodeError::NotRecognized(_)) => {
            (ScanOutcome::Invalid, e.to_string())
        }
        (_, None) => (
            ScanOutcome::Unknown,
            format!("unknown code {code}: no item in the catalog has it"),
        ),
        (_, Some(info)) => match match_scan(&order, &info.sku) {
            ScanMatch::WrongItem => (
                ScanOutcome::WrongItem,
                format!("wrong item: {} ({code}) is not in order #{seq}", info.name),
            ),
            ScanMatch::Over(line) => {
                log.line_no = Some(line);
                (
                    ScanOutcome::Over,
                    format!(
                        "over: order #{seq} already has every {} it needs",
                        info.name
                    ),
                )
            }
            ScanMatch::Line(line) => {
                log.line_no = Some(line);
                let event = match (info.unit, weight) {
                    (Unit::Gram, Some(grams)) => Some(OrderEvent::PickWeighed {
                        line,
                        grams,
                        tolerance_pct: shared.config.picking.weight_tolerance_pct,
                    }),
                    (Unit::Gram, None) => None,
                    (Unit::Piece, _) => Some(OrderEvent::Pick { line, qty: 1 }),
                };
                match event {
                    None => (
                        ScanOutcome::Invalid,
                        format!(
                            "{} is weighed: scan the scale label, not the item code",
                            info.name
                        ),
                    ),
                    Some(ev) => {
                        log.result = ScanOutcome::Ok.as_str().into();
                        log.qty = match ev {
                            OrderEvent::PickWeighed { grams, .. } => grams,
                            _ => 1,
                        };
                        match store.apply(order.id, ev, &actor, Some(log.clone())).await {
                            Ok(applied) => {
                                after = applied.order;
                                let l = after.lines.iter().find(|l| l.line_no == line);
                                let (picked, qty) = l.map_or((0, 0), |l| (l.picked, l.qty));
                                (
                                    ScanOutcome::Ok,
                                    format!(
                                        "{}: {picked}/{qty} on line {line} of order #{seq}",
                                        info.name
                                    ),
                                )
                            }
                            // Another scanner filled the line between our read and this write.
                            Err(StoreError::Transition(e @ TransitionError::OverPick { .. }))
                            | Err(StoreError::Transition(e @ TransitionError::OverWeight { .. })) => {
                                (ScanOutcome::Over, e.to_string())
                            }
                            Err(StoreError::Transition(e)) => (ScanOutcome::Invalid, e.to_string()),
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        },
    };
    if outcome != ScanOutcome::Ok {
        log.result = outcome.as_str().into();
        log.qty = 0;
        store.log_scan(log.clone()).await?;
    }
    shared.metrics.scan(outcome);
    let still = expected(&after);
    let view = view_with(after, walk, &shared.config.sla, Timestamp::now());
    let reply = ScanReply {
        result: outcome,
        code,
        message,
        scanner,
        picker: view.order.picker.clone(),
        line_no: log.line_no,
        sku: item.as_ref().map(|s| s.sku.0.clone()),
        name: item.map(|s| s.name),
        weight_g: weight,
        expected: still,
        order: Some(view),
    };
    publish(shared, reply.clone());
    Ok(reply)
}
