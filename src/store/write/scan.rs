//! A scan into an order, in one transaction, and the scan log.

use super::super::read::{self};
use super::super::{StoreError, StoreOptions};
use super::Out;
use super::order::apply_loaded;
use super::scan_log::log_scan;
use crate::model::{self, Order, OrderEvent, OrderId, OrderState};
use rusqlite::Transaction;

/// A scan to carry out in one transaction: find the item, plan, apply or refuse, log.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// The order being picked.
    pub order: OrderId,
    /// The code as scanned.
    pub code: String,
    /// What the decoder made of it.
    pub decoded: Result<model::barcode::Decoded, model::barcode::BarcodeError>,
    /// The scanner, for scans that came from one.
    pub scanner: Option<String>,
    /// Who scanned: the screen's actor, or the picker the scanner belongs to. The ledger and
    /// the scan log record this person, never the order's picker in their place.
    pub actor: String,
    /// Weight tolerance for weighed lines.
    pub tolerance_pct: u32,
    /// In a batch: the cart slot the picker scanned before this item (the item goes to that
    /// slot's order).
    pub slot: Option<String>,
}

/// What a scan did.
#[derive(Debug, Clone)]
pub struct ScanDone {
    /// The outcome.
    pub outcome: model::ScanOutcome,
    /// Why, in a sentence.
    pub message: String,
    /// The line it counted for (or would have).
    pub line_no: Option<u32>,
    /// The item the code named.
    pub item: Option<crate::store::SkuInfo>,
    /// The order afterwards.
    pub order: Order,
    /// Where its lines are.
    pub walk: Vec<crate::store::LineWalk>,
    /// Its documents printed and waiting.
    pub print: crate::store::print::PrintMark,
    /// In a batch: the cart slot of the order the scan went to ("put it in slot B").
    pub slot: Option<String>,
}

pub(in crate::store) fn scan(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    req: ScanRequest,
) -> Out<ScanDone> {
    use model::{ScanOutcome, ScanPlan, ScannedItem, TransitionError};
    let mut order = read::load_order(tx, req.order)?.ok_or(StoreError::NoSuchOrder(req.order))?;
    if order.state != OrderState::Picking {
        // Not a scan result: the picker must claim the order first (or it is already done).
        return Err(StoreError::Transition(TransitionError::NotAllowed {
            state: order.state,
            event: "scan items into",
        }));
    }
    // Someone else's order: nothing is counted for it.
    super::claim::check_owner(options, &order, &OrderEvent::CompletePick, &req.actor)?;
    let item = match read::sku_for_scan(tx, req.decoded.as_ref().ok(), &req.code)? {
        Some(s) => read::sku_info(tx, &s)?,
        None => None,
    };
    let scanned = item.as_ref().map(|i| ScannedItem {
        sku: i.sku.clone(),
        name: i.name.clone(),
        unit: i.unit,
    });
    // In a batch, the scan goes to the order of the batch it is for (the model decides).
    let mut no_order_needs_it = false;
    if let (Some(b), Some(i)) = (order.batch.as_ref(), scanned.as_ref()) {
        let batch = super::batch::orders_of(tx, b.batch)?;
        let directed = req.slot.as_ref().and_then(|s| {
            batch
                .iter()
                .find(|o| o.batch.as_ref().is_some_and(|b| &b.slot == s))
                .map(|o| o.id)
        });
        let weight = req.decoded.as_ref().ok().and_then(|d| d.weight_g);
        let refs: Vec<&Order> = batch.iter().collect();
        let to =
            match model::batch::route(&refs, &i.sku, i.unit, weight, req.tolerance_pct, directed) {
                model::batch::Route::To(id) | model::batch::Route::Over(id) => Some(id),
                model::batch::Route::WrongItem => {
                    no_order_needs_it = true;
                    None
                }
            };
        if let Some(o) = to.and_then(|id| batch.into_iter().find(|o| o.id == id)) {
            order = o;
        }
    }
    let mut plan = model::plan_scan(
        &order,
        &req.code,
        &req.decoded,
        scanned.as_ref(),
        req.tolerance_pct,
    );
    if let (true, Some(i)) = (no_order_needs_it, scanned.as_ref()) {
        plan = ScanPlan::Refuse {
            outcome: ScanOutcome::WrongItem,
            line: None,
            message: format!(
                "wrong item: {} ({}) is in no order of this batch",
                i.name, req.code
            ),
        };
    }
    let mut log = crate::store::ScanLog {
        order_id: Some(order.id),
        line_no: None,
        code: req.code.clone(),
        result: ScanOutcome::Ok.as_str().into(),
        qty: 0,
        actor: req.actor.clone(),
        scanner: req.scanner.clone(),
        at: options.clock.now(),
    };
    let seq = order.day_seq;
    let (outcome, message, line, after, events) = match plan {
        ScanPlan::Refuse {
            outcome,
            line,
            message,
        } => (outcome, message, line, order, vec![]),
        ScanPlan::Apply { line, event } => {
            log.line_no = Some(line);
            log.qty = match event {
                OrderEvent::PickWeighed { grams, .. } => grams,
                _ => 1,
            };
            let actor = log.actor.clone();
            match apply_loaded(
                tx,
                options,
                order.clone(),
                &event,
                (&actor, None),
                Some(log.clone()),
            ) {
                Ok((applied, events)) => {
                    let l = applied.order.lines.iter().find(|l| l.line_no == line);
                    let (picked, qty) = l.map_or((0, 0), |l| (l.picked, l.qty));
                    let name = item.as_ref().map_or("", |i| i.name.as_str());
                    let slot = order
                        .batch
                        .as_ref()
                        .map_or(String::new(), |b| format!(": into slot {}", b.slot));
                    let message =
                        format!("{name}: {picked}/{qty} on line {line} of order #{seq}{slot}");
                    (ScanOutcome::Ok, message, Some(line), applied.order, events)
                }
                // The model refused before anything was written: report it as a scan result.
                Err(StoreError::Transition(
                    e @ (TransitionError::OverPick { .. } | TransitionError::OverWeight { .. }),
                )) => (ScanOutcome::Over, e.to_string(), Some(line), order, vec![]),
                Err(StoreError::Transition(e)) => (
                    ScanOutcome::Invalid,
                    e.to_string(),
                    Some(line),
                    order,
                    vec![],
                ),
                Err(e) => return Err(e),
            }
        }
    };
    if outcome != ScanOutcome::Ok {
        log.result = outcome.as_str().into();
        log.qty = 0;
        log.line_no = line;
        log_scan(tx, &log)?;
    }
    let walk = read::walk(tx, &after)?;
    let print = crate::store::print::print_marks(tx, &[after.id])?
        .remove(&after.id.0)
        .unwrap_or_default();
    let done = ScanDone {
        slot: after.batch.as_ref().map(|b| b.slot.clone()),
        print,
        outcome,
        message,
        line_no: line,
        item,
        order: after,
        walk,
    };
    Ok((done, events))
}
