//! What a scan does. Every scan — from a serial scanner or typed into a TUI — goes through
//! [`scan_into`]: decode, find the item, match a line of the order, commit the pick in one
//! transaction, and tell every screen. A wrong scan moves nothing and says what was expected.

use super::Shared;
use super::views::view_with;
use crate::api::{Event, Expected, ScanOutcome, ScanReply};
use crate::model::barcode::{self, CodeKind};
use crate::model::{Order, OrderId};
use crate::scan::{ReaderMsg, RepeatFilter, ScanFrame, ScannerStats, Sink};
use crate::store::{self, ScanDone, ScanLog, ScanRequest, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The configured scanners and who each one belongs to.
pub(crate) struct Scanners {
    /// Per scanner: its figures and its station.
    pub list: Vec<(Arc<ScannerStats>, Option<String>)>,
    /// Scanner name → picker id: from the config, then from badges scanned since.
    pub bindings: std::sync::Mutex<HashMap<String, String>>,
    /// Picker → the cart slot their next scan goes into (a slot label scanned before an item;
    /// it directs that one scan only).
    pub directed: std::sync::Mutex<HashMap<String, String>>,
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

/// The sink for one scanner's reader thread. A frame is handled right there, on the reader
/// thread: decoded, bound or scanned into the picker's order through the writer, and published.
/// Handing it to a task first would add two thread wake-ups to every scan. Frames of one scanner
/// are handled in arrival order; the writer orders scans of several scanners.
pub(crate) fn sink(shared: Arc<Shared>) -> Sink {
    let window = Duration::from_millis(shared.config.picking.repeat_window_ms);
    let mut repeats = RepeatFilter::new(window);
    Box::new(move |msg| {
        let frame = match msg {
            ReaderMsg::Frame(f) => f,
            ReaderMsg::Connected { scanner } => {
                return alert(&shared, "info", format!("scanner {scanner} connected"));
            }
            ReaderMsg::Disconnected { scanner, reason } => {
                return alert(&shared, "warning", format!("scanner {scanner}: {reason}"));
            }
        };
        if repeats.is_repeat(&frame) {
            super::metrics::Metrics::inc(&shared.metrics.scan_repeats);
            return;
        }
        if let Err(e) = serial_scan(&shared, frame) {
            tracing::error!(error = %e, "scan could not be handled");
        }
    })
}

fn alert(shared: &Arc<Shared>, level: &str, message: String) {
    let _ = shared.events.send(Event::Alert {
        level: level.into(),
        message,
        order_id: None,
    });
}

/// Blocking: runs on the scanner's reader thread.
fn serial_scan(shared: &Arc<Shared>, frame: ScanFrame) -> Result<(), StoreError> {
    let decoded = barcode::decode(&frame.code, &shared.rules);
    let scanner = frame.scanner.clone();
    if let Ok(d) = &decoded
        && d.kind == Some(CodeKind::Badge)
    {
        let picker = shared.store.read(|c| store::picker_for_badge(c, &d.data))?;
        shared.store.bind_scanner_blocking(&scanner, &picker)?;
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
    // An order's code is caught before the pick path, as a badge is: never an item.
    if let Ok(d) = &decoded
        && d.kind == Some(CodeKind::Order)
    {
        return order_code(shared, frame.code, scanner);
    }
    let Some(picker) = shared.scanners.picker_of(&scanner) else {
        let message = format!("scanner {scanner} belongs to no picker: scan your badge first");
        return no_order(shared, frame.code, message, scanner, None);
    };
    if let Some(slot) = shared.rules.slot_label(&frame.code) {
        publish(
            shared,
            direct(shared, frame.code, slot, Some(scanner), picker),
        );
        return Ok(());
    }
    let Some(order) = shared.store.read(|c| store::current_order_id(c, &picker))? else {
        let message = format!("picker {picker} has no order in picking: claim one first");
        return no_order(shared, frame.code, message, scanner, Some(picker));
    };
    let (req, weight_g) = scan_request(
        shared,
        order,
        frame.code.clone(),
        Some(scanner.clone()),
        picker.clone(),
    );
    // Answered on the writer thread as soon as it commits; the reader goes back to the wire.
    let on_writer = shared.clone();
    shared.store.scan_then(req, move |done| match done {
        Ok(done) => {
            answer(&on_writer, done, frame.code, Some(scanner), weight_g);
        }
        // The order left picking between the lookup and the scan (released, cancelled): the
        // picker must hear it, not only the log.
        Err(e) if e.is_refusal() => {
            static REFUSED: crate::throttle::Throttle =
                crate::throttle::Throttle::new(std::time::Duration::from_secs(10));
            if let Some(held) = REFUSED.check() {
                tracing::warn!(scanner = %scanner, error = %e, more_since_last_line = held, "scan refused");
            }
            let reply = bare_reply(
                ScanOutcome::Invalid,
                frame.code,
                e.to_string(),
                Some(scanner),
                Some(picker),
            );
            on_writer.metrics.scan(ScanOutcome::Invalid);
            publish(&on_writer, reply);
        }
        Err(e) => tracing::error!(error = %e, "scan could not be handled"),
    })
}

/// An order's code (`<order prefix><order id>`, as its labels print it) on a serial scanner:
/// a packing station's scanner hands the packed order over; a picker's scanner says where it
/// belongs. Anything else (not packed, no such order) is refused with the reason; nothing moves.
fn order_code(shared: &Arc<Shared>, code: String, scanner: String) -> Result<(), StoreError> {
    let id = shared.rules.order_label(&code);
    let role = shared
        .config
        .scanners
        .iter()
        .find(|s| s.name == scanner)
        .map(|s| s.role)
        .unwrap_or_default();
    let picker = shared.scanners.picker_of(&scanner);
    let actor = picker
        .clone()
        .unwrap_or_else(|| format!("scanner {scanner}"));
    let (outcome, message, order_id) = match (id, role) {
        (None, _) => (
            ScanOutcome::Invalid,
            format!("{code} is an order label without an order number: print the label again"),
            None,
        ),
        (Some(id), crate::config::ScannerRole::Pick) => (
            ScanOutcome::Invalid,
            format!("{code} is order {id}'s label: hand it over at a packing station's scanner"),
            Some(id),
        ),
        (Some(id), crate::config::ScannerRole::Pack)
            if let Some(why) = shared
                .store
                .read(move |c| crate::store::load_order(c, OrderId(id)))?
                .as_ref()
                .and_then(super::conn::orders::pickup_needs_code) =>
        {
            (ScanOutcome::Invalid, why, Some(id))
        }
        (Some(id), crate::config::ScannerRole::Pack) => {
            match shared.store.apply_blocking(
                OrderId(id),
                crate::model::OrderEvent::HandOver,
                &actor,
            ) {
                Ok(applied) => (
                    ScanOutcome::Ok,
                    format!("order #{} handed over", applied.order.day_seq),
                    Some(id),
                ),
                Err(e) if e.is_refusal() => (
                    ScanOutcome::Invalid,
                    format!("order {id} not handed over: {e}"),
                    Some(id),
                ),
                Err(e) => return Err(e),
            }
        }
    };
    shared.store.log_scan_blocking(ScanLog {
        order_id: order_id.filter(|_| outcome == ScanOutcome::Ok).map(OrderId),
        line_no: None,
        code: code.clone(),
        result: outcome.as_str().into(),
        qty: 0,
        actor: actor.clone(),
        scanner: Some(scanner.clone()),
        at: shared.clock.now(),
    })?;
    shared.metrics.scan(outcome);
    publish(
        shared,
        bare_reply(outcome, code, message, Some(scanner), picker),
    );
    Ok(())
}

fn no_order(
    shared: &Arc<Shared>,
    code: String,
    message: String,
    scanner: String,
    picker: Option<String>,
) -> Result<(), StoreError> {
    shared.store.log_scan_blocking(ScanLog {
        order_id: None,
        line_no: None,
        code: code.clone(),
        result: ScanOutcome::NoOrder.as_str().into(),
        qty: 0,
        actor: picker.clone().unwrap_or_else(|| scanner.clone()),
        scanner: Some(scanner.clone()),
        at: shared.clock.now(),
    })?;
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
        slot: None,
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
    actor: String,
) -> Result<ScanReply, StoreError> {
    if let Some(slot) = shared.rules.slot_label(&code) {
        let reply = direct(shared, code, slot, scanner, actor);
        publish(shared, reply.clone());
        return Ok(reply);
    }
    let (req, weight_g) = scan_request(shared, order, code.clone(), scanner.clone(), actor);
    let done = shared.store.scan(req).await?;
    Ok(answer(shared, done, code, scanner, weight_g))
}

/// A slot label: `picker`'s next scan goes into that slot's order (the writer checks the slot
/// is in the batch; a slot of no order leaves the scan to the usual routing).
fn direct(
    shared: &Arc<Shared>,
    code: String,
    slot: String,
    scanner: Option<String>,
    picker: String,
) -> ScanReply {
    shared
        .scanners
        .directed
        .lock()
        .expect("directed slots")
        .insert(picker.clone(), slot.clone());
    shared.metrics.scan(ScanOutcome::Slot);
    let mut reply = bare_reply(
        ScanOutcome::Slot,
        code,
        format!("the next unit goes into slot {slot}"),
        scanner,
        Some(picker),
    );
    reply.slot = Some(slot);
    reply
}

/// The writer's request for a scan, and the weight the code carried.
fn scan_request(
    shared: &Arc<Shared>,
    order: OrderId,
    code: String,
    scanner: Option<String>,
    actor: String,
) -> (ScanRequest, Option<i64>) {
    let decoded = barcode::decode(&code, &shared.rules);
    let weight_g = decoded.as_ref().ok().and_then(|d| d.weight_g);
    let req_actor = actor.clone();
    let req = ScanRequest {
        order,
        code,
        decoded,
        scanner,
        actor,
        tolerance_pct: shared.config.picking.weight_tolerance_pct,
        // A slot scanned before this item directs this scan, and only this one.
        slot: shared
            .scanners
            .directed
            .lock()
            .expect("directed slots")
            .remove(&req_actor),
    };
    (req, weight_g)
}

/// Counts what the writer did with a scan, tells every screen, and returns the reply.
fn answer(
    shared: &Arc<Shared>,
    done: ScanDone,
    code: String,
    scanner: Option<String>,
    weight_g: Option<i64>,
) -> ScanReply {
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
        slot: done.slot.clone(),
        order: Some(view_with(
            done.order,
            done.walk.into_iter().map(Into::into).collect(),
            done.print,
            &shared.config.sla,
            shared.clock.now(),
        )),
    };
    publish(shared, reply.clone());
    reply
}
