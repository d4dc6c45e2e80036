//! The writes. Each function runs inside the writer's open transaction and returns its value plus
//! the events to broadcast after the commit. Outbox payloads written here are a wire format: FROZEN
//! at `"v": 1`; change them only by adding a version.

use super::read::{self, order_id_by_external, stock_figures};
use super::{StoreError, StoreEvent, StoreOptions};
use crate::model::{
    self, EventId, Fen, MoveKind, Order, OrderEvent, OrderId, OrderState, Platform, Report,
    SkuCode, StockEffect, StockFigures, Timestamp,
};
use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// One line of an incoming order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLine {
    /// The store item (already mapped from the platform's sku id).
    pub sku: SkuCode,
    /// Name as sold; the catalog name when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Quantity in the sku's unit.
    pub qty: i64,
    /// Price of one unit.
    #[serde(default)]
    pub unit_price: Fen,
    /// The platform's own id of the item (Meituan `sku_id`, JD `skuId`), sent back in adjustments.
    #[serde(default)]
    pub platform_item: Option<String>,
}

/// An item of an incoming order that matched nothing in the catalog: kept on the order, shown
/// to staff, never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownItem {
    /// Name as sold.
    pub name: String,
    /// The merchant code and barcode the platform sent.
    pub codes: Vec<String>,
    /// Quantity ordered.
    pub qty: i64,
}

/// An incoming order, normalised from whichever platform sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    /// Source.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// The platform's day sequence number; assigned locally when absent.
    #[serde(default)]
    pub day_seq: Option<u32>,
    /// When the customer paid.
    pub placed_at: Timestamp,
    /// Promised delivery time.
    #[serde(default)]
    pub promised_at: Option<Timestamp>,
    /// The platform's own pick deadline (JD `pickDeadline`).
    #[serde(default)]
    pub platform_deadline: Option<Timestamp>,
    /// Code the rider will show.
    #[serde(default)]
    pub pickup_code: Option<String>,
    /// The lines.
    pub lines: Vec<NewLine>,
    /// The customer's remark (including what to do when an item is out of stock).
    #[serde(default)]
    pub remark: Option<String>,
    /// Items no catalog entry matched.
    #[serde(default)]
    pub unknown_items: Vec<UnknownItem>,
}

/// The outcome of taking an order in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// A new order.
    New(Order),
    /// Seen before (same message, or same platform order id): nothing changed.
    Duplicate(OrderId),
}

/// The outcome of an applied order event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The order as committed.
    pub order: Order,
    /// The transition's event id (in the history, the ledger and every outbox row it caused).
    pub event_id: EventId,
}

/// A scan as recorded in `pick_scan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanLog {
    /// The order being picked, if any.
    pub order_id: Option<OrderId>,
    /// The line it matched, if any.
    pub line_no: Option<u32>,
    /// The raw code.
    pub code: String,
    /// `ok`, `wrong_item`, `over`, `unknown`, …
    pub result: String,
    /// Units it counted for.
    pub qty: i64,
    /// Who scanned.
    pub actor: String,
    /// Which scanner.
    pub scanner: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// A stock operation outside of orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockOp {
    /// The item.
    pub sku: SkuCode,
    /// What to do.
    pub kind: StockOpKind,
    /// Who.
    pub actor: String,
    /// Why (goes into the ledger).
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a [`StockOp`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockOpKind {
    /// Goods arrived: add.
    Receive(i64),
    /// A shelf count: set.
    Count(i64),
    /// A correction: add (negative to remove).
    Adjust(i64),
}

pub(super) type Out<T> = Result<(T, Vec<StoreEvent>), StoreError>;

pub(super) fn ingest(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    source: &str,
    message_id: &str,
    new: NewOrder,
) -> Out<Ingested> {
    let now = Timestamp::now();
    let fresh = tx
        .prepare_cached(
            "INSERT INTO inbox (source, message_id, received_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![source, message_id, now.0])?
        == 1;
    if let Some(id) = order_id_by_external(tx, new.platform, &new.external_id)? {
        return Ok((Ingested::Duplicate(id), vec![]));
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
             unknown_items)
         VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)",
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
            .then(|| serde_json::to_string(&new.unknown_items).unwrap_or_default())
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
                 platform_item)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            id.0,
            i as u32 + 1,
            line.sku.0,
            name,
            line.qty,
            line.unit_price.0,
            line.platform_item
        ])?;
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

fn next_day_seq(tx: &Transaction<'_>, placed_at: Timestamp) -> Result<u32, StoreError> {
    // Day sequence numbers restart at midnight China time (UTC+8), as the platforms' do.
    let day = (placed_at.0 / 1000 + 8 * 3600)
        .div_euclid(86_400)
        .to_string();
    let n: u32 = tx
        .prepare_cached(
            "INSERT INTO day_seq (day, last) VALUES (?1, 1)
             ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
        )?
        .query_row([day], |r| r.get(0))?;
    Ok(n)
}

pub(super) fn apply(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    id: OrderId,
    event: &OrderEvent,
    actor: &str,
    scan: Option<super::ScanLog>,
) -> Out<Applied> {
    let order = read::load_order(tx, id)?.ok_or(StoreError::NoSuchOrder(id))?;
    apply_loaded(tx, options, order, event, actor, scan)
}

/// [`apply`] to an order already read in this transaction.
fn apply_loaded(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    order: Order,
    event: &OrderEvent,
    actor: &str,
    scan: Option<super::ScanLog>,
) -> Out<Applied> {
    let now = Timestamp::now();
    let id = order.id;
    let safety = options.default_safety(order.platform);
    let mut figures: BTreeMap<SkuCode, StockFigures> = BTreeMap::new();
    for l in &order.lines {
        if !figures.contains_key(&l.sku) {
            figures.insert(
                l.sku.clone(),
                stock_figures(tx, &l.sku, order.platform, safety)?,
            );
        }
    }
    let t = model::transition(&order, event, &|sku| {
        figures.get(sku).copied().unwrap_or_default()
    })?;
    let event_id = EventId::new();
    save_order(tx, &t.order, now)?;
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
    for report in &t.reports {
        platform_report(tx, &t.order, order.state, report, &event_id, now)?;
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
    Ok((
        Applied {
            order: t.order,
            event_id,
        },
        events,
    ))
}

fn save_order(tx: &Transaction<'_>, o: &Order, now: Timestamp) -> Result<(), StoreError> {
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
        "UPDATE order_line SET picked = ?3, short = ?4, short_reason = ?5, weighed_g = ?6
         WHERE order_id = ?1 AND line_no = ?2",
    )?;
    for l in &o.lines {
        stmt.execute(params![
            o.id.0,
            l.line_no,
            l.picked,
            l.short,
            l.short_reason.map(|r| r.as_str()),
            l.weighed_g
        ])?;
    }
    Ok(())
}

/// Who moved stock, why, and under which event: shared by every ledger row of one command.
struct MoveCtx<'a> {
    actor: &'a str,
    reason: Option<&'a str>,
    order: Option<OrderId>,
    event_id: &'a EventId,
    now: Timestamp,
}

/// Applies stock effects: figures, ledger rows for on-hand changes, HQ events, and the coalesced
/// stock levels for every selling platform. Returns the skus touched.
fn apply_stock(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    effects: &[StockEffect],
    ctx: &MoveCtx<'_>,
) -> Result<Vec<SkuCode>, StoreError> {
    let mut touched = BTreeSet::new();
    for e in effects {
        move_stock(tx, e, ctx)?;
        if options.hq_events && e.on_hand_delta != 0 {
            let payload = json!({
                "v": 1, "type": "stock_move", "caused_by": ctx.event_id.0, "sku": e.sku.0,
                "delta": e.on_hand_delta, "kind": e.kind.as_str(), "reason": ctx.reason,
                "actor": ctx.actor, "order_id": ctx.order.map(|o| o.0), "at": ctx.now.0,
            });
            outbox(tx, "hq", "stock_move", None, payload, ctx.now)?;
        }
        touched.insert(e.sku.clone());
    }
    for sku in &touched {
        queue_stock_levels(tx, options, sku, ctx.now)?;
    }
    Ok(touched.into_iter().collect())
}

/// Changes a sku's figures and, for an on-hand change, appends its ledger row.
fn move_stock(tx: &Transaction<'_>, e: &StockEffect, ctx: &MoveCtx<'_>) -> Result<(), StoreError> {
    let updated = tx
        .prepare_cached(
            "UPDATE stock SET on_hand = on_hand + ?2, reserved = reserved + ?3 WHERE sku = ?1",
        )?
        .execute(params![e.sku.0, e.on_hand_delta, e.reserved_delta])?;
    if updated == 0 {
        tx.prepare_cached("INSERT INTO stock (sku, on_hand, reserved) VALUES (?1, ?2, ?3)")?
            .execute(params![e.sku.0, e.on_hand_delta, e.reserved_delta])?;
    }
    if e.on_hand_delta != 0 {
        tx.prepare_cached(
            "INSERT INTO stock_move (sku, delta, kind, reason, actor, order_id, event_id, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            e.sku.0,
            e.on_hand_delta,
            e.kind.as_str(),
            ctx.reason,
            ctx.actor,
            ctx.order.map(|o| o.0),
            ctx.event_id.0,
            ctx.now.0
        ])?;
    }
    Ok(())
}

/// After a bulk change, asks for every level to be sent to every selling platform. The sender
/// reads the levels when it sends, so one marker per platform replaces a row per sku.
pub(super) fn queue_full_stock_sync(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    now: Timestamp,
) -> Result<(), StoreError> {
    for (platform, _) in &options.selling {
        let payload = json!({
            "v": 1, "type": "stock_full_sync", "platform": platform.as_str(), "at": now.0,
        });
        let key = format!("stock:{}:*", platform.as_str());
        outbox(
            tx,
            platform.as_str(),
            "stock_full_sync",
            Some(&key),
            payload,
            now,
        )?;
    }
    Ok(())
}

/// Queues the sku's current level for every selling platform. A level not yet sent is replaced,
/// so only the newest one per (platform, sku) ever leaves.
fn queue_stock_levels(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    sku: &SkuCode,
    now: Timestamp,
) -> Result<(), StoreError> {
    for (platform, default_safety) in &options.selling {
        let f = stock_figures(tx, sku, *platform, *default_safety)?;
        let payload = json!({
            "v": 1, "type": "stock_level", "platform": platform.as_str(), "sku": sku.0,
            "level": f.publishable(), "on_hand": f.on_hand, "reserved": f.reserved,
            "safety": f.safety, "at": now.0,
        });
        let key = format!("stock:{}:{}", platform.as_str(), sku.0);
        outbox(
            tx,
            platform.as_str(),
            "stock_level",
            Some(&key),
            payload,
            now,
        )?;
    }
    Ok(())
}

fn platform_report(
    tx: &Transaction<'_>,
    order: &Order,
    from: OrderState,
    report: &Report,
    caused_by: &EventId,
    now: Timestamp,
) -> Result<(), StoreError> {
    // Every line with the platform's own item id: an adjustment must name them all (JD lists
    // every remaining line) and the platform knows items by its ids.
    let mut items = tx.prepare_cached(
        "SELECT line_no, platform_item FROM order_line WHERE order_id = ?1 ORDER BY line_no",
    )?;
    let ids: std::collections::HashMap<u32, Option<String>> = items
        .query_map([order.id.0], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let lines: Vec<serde_json::Value> = order
        .lines
        .iter()
        .map(|l| {
            json!({
                "line_no": l.line_no, "sku": l.sku.0, "platform_item": ids.get(&l.line_no).cloned().flatten(),
                "name": l.name, "qty": l.qty, "picked": l.picked, "short": l.short,
                "unit_price_fen": l.unit_price.0,
            })
        })
        .collect();
    let mut payload = json!({
        "v": 1, "type": "report", "caused_by": caused_by.0, "order_id": order.id.0,
        "platform": order.platform.as_str(), "external_id": order.external_id, "at": now.0,
        "from_state": from.as_str(), "order_lines": lines,
    });
    if let (Some(obj), Ok(serde_json::Value::Object(r))) =
        (payload.as_object_mut(), serde_json::to_value(report))
    {
        obj.extend(r);
    }
    outbox(tx, order.platform.as_str(), "report", None, payload, now)
}

#[allow(clippy::too_many_arguments)]
fn history(
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

fn hq_order_event(
    tx: &Transaction<'_>,
    order: &Order,
    from: Option<OrderState>,
    event: &serde_json::Value,
    actor: &str,
    event_id: &EventId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let payload = json!({
        "v": 1, "type": "order_transition", "event_id": event_id.0, "order_id": order.id.0,
        "platform": order.platform.as_str(), "external_id": order.external_id,
        "day_seq": order.day_seq, "from": from.map(|s| s.as_str()), "to": order.state.as_str(),
        "event": event, "actor": actor, "at": now.0,
    });
    outbox_with_id(tx, event_id, "hq", "order_transition", None, payload, now)
}

fn outbox(
    tx: &Transaction<'_>,
    destination: &str,
    kind: &str,
    coalesce_key: Option<&str>,
    payload: serde_json::Value,
    now: Timestamp,
) -> Result<(), StoreError> {
    outbox_with_id(
        tx,
        &EventId::new(),
        destination,
        kind,
        coalesce_key,
        payload,
        now,
    )
}

fn outbox_with_id(
    tx: &Transaction<'_>,
    event_id: &EventId,
    destination: &str,
    kind: &str,
    coalesce_key: Option<&str>,
    mut payload: serde_json::Value,
    now: Timestamp,
) -> Result<(), StoreError> {
    if let Some(obj) = payload.as_object_mut() {
        obj.insert("event_id".into(), json!(event_id.0));
    }
    tx.prepare_cached(
        "INSERT INTO outbox (event_id, destination, kind, coalesce_key, payload, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (coalesce_key) WHERE state = 'pending' AND coalesce_key IS NOT NULL
         DO UPDATE SET event_id = excluded.event_id, payload = excluded.payload,
                       created_at = excluded.created_at",
    )?
    .execute(params![event_id.0, destination, kind, coalesce_key, payload.to_string(), now.0])?;
    Ok(())
}

pub(super) fn log_scan(tx: &Transaction<'_>, s: &ScanLog) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO pick_scan (order_id, line_no, code, result, qty, actor, scanner, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        s.order_id.map(|o| o.0),
        s.line_no,
        s.code,
        s.result,
        s.qty,
        s.actor,
        s.scanner,
        s.at.0
    ])?;
    Ok(())
}

pub(super) fn stock(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    op: StockOp,
) -> Out<StockFigures> {
    let now = Timestamp::now();
    let mut current = stock_figures(tx, &op.sku, Platform::Hq, 0)?;
    let effect = match op.kind {
        StockOpKind::Receive(qty) => Some(model::stock::receive(&op.sku, qty)?),
        StockOpKind::Count(counted) => model::stock::count(&op.sku, current.on_hand, counted)?,
        StockOpKind::Adjust(delta) => Some(model::stock::adjust(&op.sku, current.on_hand, delta)?),
    };
    let Some(effect) = effect else {
        return Ok((current, vec![]));
    };
    let event_id = EventId::new();
    let ctx = MoveCtx {
        actor: &op.actor,
        reason: op.reason.as_deref(),
        order: None,
        event_id: &event_id,
        now,
    };
    let skus = apply_stock(tx, options, std::slice::from_ref(&effect), &ctx)?;
    current.on_hand += effect.on_hand_delta;
    Ok((current, vec![StoreEvent::StockChanged { skus }]))
}

pub(super) fn import_catalog(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    rows: &[super::CatalogRow],
) -> Out<usize> {
    super::catalog::check_batch(rows)?;
    let now = Timestamp::now();
    let event_id = EventId::new();
    let mut upsert = tx.prepare_cached(
        "INSERT INTO sku (sku, name, name_en, spec, unit, location, walk_seq, price_fen, safety_stock, updated_at, plu)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, name_en = excluded.name_en,
             spec = excluded.spec, unit = excluded.unit, location = excluded.location,
             walk_seq = excluded.walk_seq, price_fen = excluded.price_fen,
             safety_stock = excluded.safety_stock, updated_at = excluded.updated_at,
             plu = excluded.plu",
    )?;
    let mut clear_codes = tx.prepare_cached("DELETE FROM barcode WHERE sku = ?1")?;
    let mut add_code = tx.prepare_cached(
        "INSERT INTO barcode (code, sku) VALUES (?1, ?2)
         ON CONFLICT (code) DO UPDATE SET sku = excluded.sku",
    )?;
    let mut on_hand = tx.prepare_cached(
        "INSERT INTO stock (sku, on_hand, reserved) VALUES (?1, 0, 0)
         ON CONFLICT (sku) DO UPDATE SET on_hand = on_hand RETURNING on_hand",
    )?;
    let mut changed = Vec::new();
    for row in rows {
        let at_line = |e: rusqlite::Error| {
            StoreError::Catalog(super::CatalogError::Row {
                line: row.line,
                message: e.to_string(),
            })
        };
        upsert
            .execute(params![
                row.sku.0,
                row.name,
                row.name_en,
                row.spec,
                row.unit.as_str(),
                row.location,
                row.walk_seq,
                row.price.map(|p| p.0),
                row.safety_stock,
                now.0,
                row.plu
            ])
            .map_err(at_line)?;
        clear_codes.execute([&row.sku.0]).map_err(at_line)?;
        for code in &row.barcodes {
            add_code
                .execute(params![code, row.sku.0])
                .map_err(at_line)?;
        }
        let current: i64 = on_hand
            .query_row([&row.sku.0], |r| r.get(0))
            .map_err(at_line)?;
        if current != row.on_hand {
            changed.push(StockEffect {
                sku: row.sku.clone(),
                kind: MoveKind::Import,
                on_hand_delta: row.on_hand - current,
                reserved_delta: 0,
            });
        }
    }
    // A bulk load: ledger rows per sku, but one full stock sync per platform and one summary
    // event for HQ instead of a row per sku for each of them.
    let ctx = MoveCtx {
        actor: "catalog-import",
        reason: Some("catalog import"),
        order: None,
        event_id: &event_id,
        now,
    };
    for e in &changed {
        move_stock(tx, e, &ctx)?;
    }
    // Any import may change safety stock or on-hand figures: the platforms hear all levels again.
    if !rows.is_empty() {
        queue_full_stock_sync(tx, options, now)?;
    }
    if options.hq_events {
        let payload = json!({
            "v": 1, "type": "catalog_import", "items": rows.len(),
            "stock_changes": changed.len(), "at": now.0,
        });
        outbox_with_id(tx, &event_id, "hq", "catalog_import", None, payload, now)?;
    }
    let skus = changed.into_iter().map(|e| e.sku).collect();
    Ok((rows.len(), vec![StoreEvent::StockChanged { skus }]))
}

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
    /// Weight tolerance for weighed lines.
    pub tolerance_pct: u32,
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
    pub item: Option<super::SkuInfo>,
    /// The order afterwards.
    pub order: Order,
    /// Where its lines are.
    pub walk: Vec<super::LineWalk>,
}

pub(super) fn scan(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    req: ScanRequest,
) -> Out<ScanDone> {
    use model::{ScanOutcome, ScanPlan, ScannedItem, TransitionError};
    let order = read::load_order(tx, req.order)?.ok_or(StoreError::NoSuchOrder(req.order))?;
    if order.state != OrderState::Picking {
        // Not a scan result: the picker must claim the order first (or it is already done).
        return Err(StoreError::Transition(TransitionError::NotAllowed {
            state: order.state,
            event: "scan items into",
        }));
    }
    let item = match read::sku_for_scan(tx, req.decoded.as_ref().ok(), &req.code)? {
        Some(s) => read::sku_info(tx, &s)?,
        None => None,
    };
    let scanned = item.as_ref().map(|i| ScannedItem {
        sku: i.sku.clone(),
        name: i.name.clone(),
        unit: i.unit,
    });
    let plan = model::plan_scan(
        &order,
        &req.code,
        &req.decoded,
        scanned.as_ref(),
        req.tolerance_pct,
    );
    let mut log = super::ScanLog {
        order_id: Some(order.id),
        line_no: None,
        code: req.code.clone(),
        result: ScanOutcome::Ok.as_str().into(),
        qty: 0,
        actor: order.picker.clone().unwrap_or_else(|| "station".into()),
        scanner: req.scanner.clone(),
        at: Timestamp::now(),
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
                &actor,
                Some(log.clone()),
            ) {
                Ok((applied, events)) => {
                    let l = applied.order.lines.iter().find(|l| l.line_no == line);
                    let (picked, qty) = l.map_or((0, 0), |l| (l.picked, l.qty));
                    let name = item.as_ref().map_or("", |i| i.name.as_str());
                    let message = format!("{name}: {picked}/{qty} on line {line} of order #{seq}");
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
    let done = ScanDone {
        outcome,
        message,
        line_no: line,
        item,
        order: after,
        walk,
    };
    Ok((done, events))
}
