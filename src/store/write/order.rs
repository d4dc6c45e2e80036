//! Orders coming in, and their transitions: the state, the history row, the stock effects and the
//! reports for the platform, all in the writer's transaction.

use super::super::read::{self, order_id_by_external, stock_figures};
use super::super::{StoreError, StoreEvent, StoreOptions};
use super::emit::{hq_row, platform_row};
use super::scan_log::log_scan;
use super::stock::{MoveCtx, apply_stock, queue_stock_levels};
use super::{Applied, Ingested, NewOrder, Out};
use crate::model::{
    self, EventId, Order, OrderEvent, OrderId, OrderState, Platform, Report, SkuCode, StockFigures,
    Timestamp,
};
use crate::store::payload::{
    HqPayload, PlatformPayload, ReportLine, ReportPayload, TransitionPayload,
};
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;
use std::collections::BTreeMap;

/// What differs between the order the store has under this id and `new`, comparing what
/// decides the picking only (lines, quantities, prices, the promised time; a status or rider
/// re-push is no change). Told once per version: the same difference again is `None`.
fn changed_under_same_id(
    tx: &Transaction<'_>,
    id: OrderId,
    new: &NewOrder,
) -> Result<Option<String>, StoreError> {
    let mut had: Vec<(String, i64, i64)> = tx
        .prepare_cached("SELECT sku, qty, unit_price_fen FROM order_line WHERE order_id = ?1")?
        .query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut now: Vec<(String, i64, i64)> = new
        .lines
        .iter()
        .map(|l| (l.sku.0.clone(), l.qty, l.unit_price.0))
        .collect();
    had.sort();
    now.sort();
    let promised: Option<i64> = tx
        .prepare_cached("SELECT promised_at FROM \"order\" WHERE id = ?1")?
        .query_row([id.0], |r| r.get(0))?;
    let mut what = Vec::new();
    if had != now {
        let show = |v: &[(String, i64, i64)]| {
            v.iter()
                .map(|(s, q, p)| format!("{s}×{q}@{p}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        what.push(format!("lines {} became {}", show(&had), show(&now)));
    }
    if promised != new.promised_at.map(|t| t.0) {
        what.push(format!(
            "promised time {} became {}",
            promised.map_or("none".into(), |t| t.to_string()),
            new.promised_at.map_or("none".into(), |t| t.0.to_string())
        ));
    }
    if what.is_empty() {
        return Ok(None);
    }
    let what = what.join("; ");
    // Once per version of the difference: a platform pushing the same change again, or a poll
    // reading it every round, is not a new alarm.
    let key = format!("changed:{}:{}", new.platform.as_str(), new.external_id);
    let told: Option<String> = tx
        .prepare_cached("SELECT value FROM sync_state WHERE key = ?1")?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    if told.as_deref() == Some(what.as_str()) {
        return Ok(None);
    }
    crate::store::outbox::set_sync_state(tx, &key, &what)?;
    Ok(Some(what))
}

/// Learns the code (and item id) a platform sells a line's item under, so that its stock levels
/// go out under that code from now on. A code that named another item before (the catalog's
/// barcodes moved) is moved to this one. When anything changed, the levels of the items
/// concerned are queued again under their codes now, and the ones still waiting under a code the
/// platform does not use are dropped.
fn learn_code(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    platform: Platform,
    code: &str,
    line: &super::NewLine,
    now: Timestamp,
) -> Result<(), StoreError> {
    let before: Option<(String, Option<String>)> = tx
        .prepare_cached(
            "SELECT sku, item_id FROM platform_sku WHERE platform = ?1 AND platform_sku_id = ?2",
        )?
        .query_row(params![platform.as_str(), code], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let item = line.platform_item.clone();
    let unchanged = before
        .as_ref()
        .is_some_and(|(sku, known)| *sku == line.sku.0 && (item.is_none() || *known == item));
    if unchanged {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO platform_sku (platform, platform_sku_id, sku, item_id) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (platform, platform_sku_id)
         DO UPDATE SET sku = excluded.sku, item_id = COALESCE(excluded.item_id, item_id)",
    )?
    .execute(params![platform.as_str(), code, line.sku.0, item])?;
    let mut skus = vec![line.sku.clone()];
    if let Some((old, _)) = before.filter(|(old, _)| *old != line.sku.0) {
        tracing::warn!(%platform, code, from = %old, to = %line.sku, "the platform's code now names another item (its barcode says so)");
        skus.push(SkuCode(old));
    }
    for sku in &skus {
        tx.prepare_cached(
            "DELETE FROM outbox WHERE destination = ?1 AND kind = 'stock_level' AND state = 'pending'
             AND json_extract(payload, '$.sku') = ?2",
        )?
        .execute(params![platform.as_str(), sku.0])?;
        queue_stock_levels(tx, options, sku, now)?;
    }
    Ok(())
}

pub(in crate::store) fn ingest(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    source: &str,
    message_id: &str,
    new: NewOrder,
) -> Out<Ingested> {
    let now = options.clock.now();
    // Every door meets here: a push, a poll, a fetch, HQ's relay.
    super::order_check::check(&new, now, options.sla.max_schedule_days)
        .map_err(StoreError::BadOrder)?;
    let fresh = tx
        .prepare_cached(
            "INSERT INTO inbox (source, message_id, received_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![source, message_id, now.0])?
        == 1;
    if let Some(id) = order_id_by_external(tx, new.platform, &new.external_id)? {
        return match changed_under_same_id(tx, id, &new)? {
            Some(what) => Ok((Ingested::Changed { id, what }, vec![])),
            None => Ok((Ingested::Duplicate(id), vec![])),
        };
    }
    if !fresh {
        return Err(StoreError::BadOrder(format!(
            "message {source}/{message_id} was seen before but its order {} is unknown",
            new.external_id
        )));
    }
    if new.external_id.trim().is_empty() {
        return Err(StoreError::BadOrder(
            "the order has no platform order id".into(),
        ));
    }
    if new.lines.is_empty() && new.unknown_items.is_empty() {
        return Err(StoreError::BadOrder(format!(
            "order {} has no lines",
            new.external_id
        )));
    }
    let day_seq = match new.day_seq {
        Some(n) => n,
        None => next_day_seq(tx, new.placed_at)?,
    };
    let deadline = options
        .sla
        .pick_deadline(new.platform_deadline, new.promised_at, new.placed_at);
    tx.prepare_cached(
        "INSERT INTO \"order\" (platform, external_id, day_seq, state, placed_at, promised_at,
             platform_deadline, pick_deadline, pickup_code, created_at, updated_at, remark,
             unknown_items, delivery)
         VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        new.platform.as_str(),
        new.external_id,
        day_seq,
        new.placed_at.0,
        new.promised_at.map(|t| t.0),
        new.platform_deadline.map(|t| t.0),
        deadline.0,
        new.pickup_code,
        now.0,
        new.remark,
        (!new.unknown_items.is_empty())
            .then(|| serde_json::to_string(&new.unknown_items).unwrap_or_default()),
        new.delivery.map(|d| d.as_str())
    ])?;
    let id = OrderId(tx.last_insert_rowid());
    for (i, line) in new.lines.iter().enumerate() {
        if line.qty <= 0 || line.qty > model::MAX_QTY {
            return Err(StoreError::BadOrder(format!(
                "line {} of order {} has quantity {}",
                i + 1,
                new.external_id,
                line.qty
            )));
        }
        let info = read::sku_info(tx, &line.sku)?
            .ok_or_else(|| StoreError::NoSuchSku(line.sku.clone()))?;
        let name = line.name.clone().unwrap_or(info.name);
        tx.prepare_cached(
            "INSERT INTO order_line (order_id, line_no, sku, name, qty, unit_price_fen,
                 platform_item, unit_g, merchant_code)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            id.0,
            i as u32 + 1,
            line.sku.0,
            name,
            line.qty,
            line.unit_price.0,
            line.platform_item,
            line.unit_g,
            line.merchant_code
        ])?;
        if let Some(code) = &line.merchant_code
            && new.platform != Platform::Hq
        {
            learn_code(tx, options, new.platform, code, line, now)?;
        }
    }
    let order = read::load_order(tx, id)?.ok_or(StoreError::NoSuchOrder(id))?;
    let event_id = EventId::new();
    history(
        tx,
        &order,
        None,
        "ingest",
        &json!({"type": "ingest", "source": source}),
        "platform",
        &event_id,
        now,
    )?;
    if options.hq_events {
        hq_order_event(
            tx,
            &order,
            None,
            &json!({"type": "ingest"}),
            "platform",
            &event_id,
            now,
        )?;
    }
    let events = vec![StoreEvent::OrderChanged {
        order: order.clone(),
        cause: "ingest",
    }];
    Ok((Ingested::New(order), events))
}

pub(super) fn next_day_seq(tx: &Transaction<'_>, placed_at: Timestamp) -> Result<u32, StoreError> {
    let day = crate::model::china_time::day_number(placed_at).to_string();
    let n: u32 = tx
        .prepare_cached(
            "INSERT INTO day_seq (day, last) VALUES (?1, 1)
             ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
        )?
        .query_row([day], |r| r.get(0))?;
    Ok(n)
}

pub(in crate::store) fn apply(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    id: OrderId,
    event: &OrderEvent,
    actor: &str,
    station: Option<&str>,
    scan: Option<crate::store::ScanLog>,
) -> Out<Applied> {
    let order = read::load_order(tx, id)?.ok_or(StoreError::NoSuchOrder(id))?;
    super::claim::check_owner(options, &order, event, actor)?;
    apply_loaded(tx, options, order, event, (actor, station), scan)
}

/// [`apply`] to an order already read in this transaction, by an actor at a station (whose
/// printers print the documents the change causes).
pub(super) fn apply_loaded(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    order: Order,
    event: &OrderEvent,
    (actor, station): (&str, Option<&str>),
    scan: Option<crate::store::ScanLog>,
) -> Out<Applied> {
    let now = options.clock.now();
    let id = order.id;
    let safety = options.default_safety(order.platform);
    let mut figures: BTreeMap<SkuCode, StockFigures> = BTreeMap::new();
    for l in order.lines.iter().filter(|_| event.reads_stock()) {
        if !figures.contains_key(&l.sku) {
            figures.insert(
                l.sku.clone(),
                stock_figures(tx, &l.sku, order.platform, safety)?,
            );
        }
    }
    let mut t = model::transition(&order, event, &|sku| {
        figures.get(sku).copied().unwrap_or_default()
    })?;
    // Back to the queue: out of its batch (a later claim may batch it otherwise).
    if t.order.batch.is_some() && t.order.state == model::OrderState::Accepted {
        t.order.batch = None;
        tx.prepare_cached("UPDATE \"order\" SET batch_id = NULL, slot = NULL WHERE id = ?1")?
            .execute([id.0])?;
    }
    let event_id = EventId::new();
    save_order(tx, Some(&order), &t.order, now)?;
    let reason = match event {
        OrderEvent::Short { reason, .. } => Some(reason.as_str().to_string()),
        OrderEvent::Cancel { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    let ctx = MoveCtx {
        actor,
        reason: reason.as_deref(),
        order: Some(id),
        event_id: &event_id,
        now,
    };
    // Not on the shelf at all: sold out at every platform from now (the levels the short
    // queues below are 0), until a receipt or a count says otherwise.
    if let OrderEvent::Short {
        line,
        reason: model::ShortReason::OutOfStock,
        ..
    } = event
        && options.sold_out_on_short
        && let Some(l) = order.lines.iter().find(|l| l.line_no == *line)
    {
        super::stock::set_sold_out(tx, &l.sku, Some(now))?;
    }
    let skus = apply_stock(tx, options, &t.stock, &ctx)?;
    let event_json = serde_json::to_value(event).unwrap_or_default();
    history(
        tx,
        &t.order,
        Some(order.state),
        event.name(),
        &event_json,
        actor,
        &event_id,
        now,
    )?;
    // A platform hears its own orders' progress as reports; HQ has no report API: it learns
    // its relayed orders' progress from the `order_transition` events below (a `report` row
    // under `hq` went out as an event kind the contract does not have).
    if t.order.platform.sells_stock() {
        for report in &t.reports {
            platform_report(tx, &t.order, order.state, report, &event_id, now)?;
        }
    }
    if options.hq_events {
        hq_order_event(
            tx,
            &t.order,
            Some(order.state),
            &event_json,
            actor,
            &event_id,
            now,
        )?;
    }
    let mut events = vec![StoreEvent::OrderChanged {
        order: t.order.clone(),
        cause: event.name(),
    }];
    if let Some(mut scan) = scan {
        scan.order_id = Some(id);
        log_scan(tx, &scan)?;
    }
    if !skus.is_empty() {
        events.push(StoreEvent::StockChanged { skus });
    }
    events.extend(crate::store::print::queue_caused(
        tx,
        options,
        order.state,
        &t.order,
        event,
        station,
    )?);
    if t.order.state == model::OrderState::Cancelled && order.state != t.order.state {
        events.extend(crate::store::requests::order_cancelled(
            tx,
            options,
            t.order.platform,
            &t.order.external_id,
            now,
        )?);
    }
    // In a batch, an order whose lines are all picked or short completes by itself, in the
    // same transaction: its pick-complete goes to the platform without waiting for the batch.
    if t.order.state == model::OrderState::Picking
        && t.order.batch.is_some()
        && model::batch::all_done(&t.order)
        && matches!(
            event,
            OrderEvent::Pick { .. } | OrderEvent::PickWeighed { .. } | OrderEvent::Short { .. }
        )
    {
        let (done, more) = apply_loaded(
            tx,
            options,
            t.order,
            &OrderEvent::CompletePick,
            (actor, station),
            None,
        )?;
        events.extend(more);
        return Ok((done, events));
    }
    Ok((
        Applied {
            order: t.order,
            event_id,
        },
        events,
    ))
}

/// Writes the order's state and its lines; with `before`, only the lines that changed (a scan
/// changes one line of many).
pub(super) fn save_order(
    tx: &Transaction<'_>,
    before: Option<&Order>,
    o: &Order,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE \"order\" SET state = ?2, picker = ?3, return_pending = ?4, bags = ?5,
             cancel_reason = ?6, updated_at = ?7, version = version + 1 WHERE id = ?1",
    )?
    .execute(params![
        o.id.0,
        o.state.as_str(),
        o.picker,
        o.return_pending,
        o.bags,
        o.cancel_reason,
        now.0
    ])?;
    let mut stmt = tx.prepare_cached(
        "UPDATE order_line SET picked = ?3, short = ?4, short_reason = ?5, weighed_g = ?6,
             refunded = qty - ?7, put_back = ?8
         WHERE order_id = ?1 AND line_no = ?2",
    )?;
    let unchanged = |l: &crate::model::OrderLine| {
        before.is_some_and(|b| b.lines.iter().find(|old| old.line_no == l.line_no) == Some(l))
    };
    for l in o.lines.iter().filter(|l| !unchanged(l)) {
        stmt.execute(params![
            o.id.0,
            l.line_no,
            l.picked,
            l.short,
            l.short_reason.map(|r| r.as_str()),
            l.weighed_g,
            l.qty,
            l.put_back
        ])?;
    }
    Ok(())
}

pub(super) fn platform_report(
    tx: &Transaction<'_>,
    order: &Order,
    from: OrderState,
    report: &Report,
    caused_by: &EventId,
    now: Timestamp,
) -> Result<(), StoreError> {
    // Every line with the platform's own item id: an adjustment must name them all (JD lists
    // every remaining line) and the platform knows items by its ids.
    // Weighed lines go back in the portions they were sold by: the line's own (from the order),
    // else the catalog's (lines taken before portions were recorded).
    let mut items = tx.prepare_cached(
        "SELECT ol.line_no, ol.platform_item,
                COALESCE(ol.unit_g, CASE WHEN k.unit = 'gram' THEN k.sale_unit_g END),
                k.unit = 'gram', ol.merchant_code
         FROM order_line ol JOIN sku k ON k.sku = ol.sku
         WHERE ol.order_id = ?1 ORDER BY ol.line_no",
    )?;
    type Item = (Option<String>, Option<i64>, bool, Option<String>);
    let ids: std::collections::HashMap<u32, Item> = items
        .query_map([order.id.0], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        })?
        .collect::<Result<_, _>>()?;
    let order_lines = order
        .lines
        .iter()
        .map(|l| {
            let (platform_item, unit_g, weighed, merchant_code) =
                ids.get(&l.line_no).cloned().unwrap_or_default();
            ReportLine {
                line_no: l.line_no,
                sku: l.sku.clone(),
                platform_item,
                merchant_code,
                name: l.name.clone(),
                qty: l.qty,
                picked: l.picked,
                short: l.short,
                unit_price_fen: l.unit_price.0,
                unit_g,
                weighed,
            }
        })
        .collect();
    let payload = PlatformPayload::Report(ReportPayload {
        v: 1,
        caused_by: caused_by.0.clone(),
        order_id: order.id.0,
        platform: order.platform,
        external_id: order.external_id.clone(),
        from_state: from.as_str().into(),
        order_lines,
        delivery: order.delivery,
        report: report.clone(),
        at: now.0,
        event_id: String::new(),
    });
    platform_row(tx, order.platform, None, &payload, now)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn history(
    tx: &Transaction<'_>,
    order: &Order,
    from: Option<OrderState>,
    _name: &str,
    event: &serde_json::Value,
    actor: &str,
    event_id: &EventId,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO order_transition (order_id, event_id, from_state, to_state, event, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        order.id.0,
        event_id.0,
        from.map(|s| s.as_str()),
        order.state.as_str(),
        event.to_string(),
        actor,
        now.0
    ])?;
    Ok(())
}

pub(super) fn hq_order_event(
    tx: &Transaction<'_>,
    order: &Order,
    from: Option<OrderState>,
    event: &serde_json::Value,
    actor: &str,
    event_id: &EventId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let payload = HqPayload::OrderTransition(TransitionPayload {
        v: 1,
        event_id: event_id.0.clone(),
        order_id: order.id.0,
        platform: order.platform,
        external_id: order.external_id.clone(),
        day_seq: order.day_seq,
        from: from.map(|s| s.as_str().into()),
        to: order.state.as_str().into(),
        event: event.clone(),
        actor: actor.into(),
        at: now.0,
    });
    hq_row(tx, event_id, &payload, now)
}
