//! Stock: figures and ledger rows, the levels the platforms must hear, receipts, counts,
//! adjustments and catalog imports.

use super::super::read::stock_figures;
use super::super::{StoreError, StoreEvent, StoreOptions};
use super::emit::{hq_row, platform_row};
use super::{Out, StockOp, StockOpKind};
use crate::model::{
    self, EventId, MoveKind, OrderId, Platform, SkuCode, StockEffect, StockFigures, Timestamp,
};
use crate::store::payload::{
    FullSyncPayload, HqPayload, ImportPayload, LevelPayload, MovePayload, PlatformPayload,
};
use rusqlite::{Transaction, params};
use std::collections::BTreeSet;

/// Who moved stock, why, and under which event: shared by every ledger row of one command.
pub(super) struct MoveCtx<'a> {
    pub(super) actor: &'a str,
    pub(super) reason: Option<&'a str>,
    pub(super) order: Option<OrderId>,
    pub(super) event_id: &'a EventId,
    pub(super) now: Timestamp,
}

/// Applies stock effects: figures, ledger rows for on-hand changes, HQ events, and the coalesced
/// stock levels for every selling platform. Returns the skus touched.
pub(super) fn apply_stock(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    effects: &[StockEffect],
    ctx: &MoveCtx<'_>,
) -> Result<Vec<SkuCode>, StoreError> {
    let mut touched = BTreeSet::new();
    for e in effects {
        move_stock(tx, e, ctx)?;
        if options.hq_events && e.on_hand_delta != 0 {
            let payload = HqPayload::StockMove(MovePayload {
                v: 1,
                caused_by: ctx.event_id.0.clone(),
                sku: e.sku.clone(),
                delta: e.on_hand_delta,
                kind: e.kind.as_str().into(),
                reason: ctx.reason.map(str::to_string),
                actor: ctx.actor.into(),
                order_id: ctx.order.map(|o| o.0),
                at: ctx.now.0,
                event_id: String::new(),
            });
            hq_row(tx, &EventId::new(), &payload, ctx.now)?;
        }
        touched.insert(e.sku.clone());
    }
    for sku in &touched {
        queue_stock_levels(tx, options, sku, ctx.now)?;
    }
    Ok(touched.into_iter().collect())
}

/// Changes a sku's figures and, for an on-hand change, appends its ledger row.
pub(super) fn move_stock(
    tx: &Transaction<'_>,
    e: &StockEffect,
    ctx: &MoveCtx<'_>,
) -> Result<(), StoreError> {
    let updated = tx
        .prepare_cached(
            // CAST: a figure an older release stored as a REAL (an overflow) is read as the
            // nearest whole number, so a count can put it right; for whole numbers it is a no-op.
            "UPDATE stock SET on_hand = CAST(on_hand AS INTEGER) + ?2,
                 reserved = CAST(reserved AS INTEGER) + ?3 WHERE sku = ?1",
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
pub(in crate::store) fn queue_full_stock_sync(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    now: Timestamp,
) -> Result<(), StoreError> {
    for (platform, _) in &options.selling {
        let payload = PlatformPayload::StockFullSync(FullSyncPayload {
            v: 1,
            platform: *platform,
            at: now.0,
            event_id: String::new(),
        });
        let key = format!("stock:{}:*", platform.as_str());
        platform_row(tx, *platform, Some(&key), &payload, now)?;
    }
    Ok(())
}

/// Queues the sku's current level for every selling platform, under each code the platform
/// knows it by. A level not yet sent is replaced, so only the newest one per (platform, code)
/// ever leaves.
pub(super) fn queue_stock_levels(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    sku: &SkuCode,
    now: Timestamp,
) -> Result<(), StoreError> {
    if options.selling.is_empty() {
        return Ok(());
    }
    // Two reads for every platform at once: this runs on every pick.
    let item = crate::store::read::selling_view(tx, sku)?;
    for (platform, default_safety) in &options.selling {
        let f = item.figures(*platform, *default_safety);
        // Marked sold out: 0 until a receipt or a count (a coalesced later level stays 0).
        let level = if item.sold_out {
            0
        } else {
            f.platform_level(item.unit, item.sale_unit_g)
        };
        let sale_unit_g = item.sale_unit_g;
        // The codes the platform knows the item by (learned from its orders), else the sku.
        let mut codes = item.codes(*platform);
        if codes.is_empty() {
            codes.push((sku.0.clone(), None));
        }
        for (code, item) in codes {
            let key = format!("stock:{}:{code}", platform.as_str());
            let payload = PlatformPayload::StockLevel(LevelPayload {
                v: 1,
                platform: *platform,
                sku: sku.clone(),
                code: Some(code),
                item,
                level,
                on_hand: f.on_hand,
                reserved: f.reserved,
                safety: f.safety,
                sale_unit_g,
                at: now.0,
                event_id: String::new(),
            });
            platform_row(tx, *platform, Some(&key), &payload, now)?;
        }
    }
    Ok(())
}

pub(in crate::store) fn stock(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    op: StockOp,
) -> Out<StockFigures> {
    let now = options.clock.now();
    let mut current = stock_figures(tx, &op.sku, Platform::Hq, 0)?;
    let effect = match op.kind {
        StockOpKind::Receive(qty) => Some(model::stock::receive(&op.sku, current.on_hand, qty)?),
        StockOpKind::Count(counted) => model::stock::count(&op.sku, current.on_hand, counted)?,
        StockOpKind::Adjust(delta) => Some(model::stock::adjust(&op.sku, current.on_hand, delta)?),
    };
    // Goods arrived, or someone counted the shelf: a sold-out mark has had its answer.
    let cleared = matches!(op.kind, StockOpKind::Receive(_) | StockOpKind::Count(_))
        && set_sold_out(tx, &op.sku, None)?;
    let Some(effect) = effect else {
        if cleared {
            queue_stock_levels(tx, options, &op.sku, now)?;
            return Ok((
                current,
                vec![StoreEvent::StockChanged {
                    skus: vec![op.sku.clone()],
                }],
            ));
        }
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

pub(in crate::store) fn import_catalog(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    rows: &[crate::store::CatalogRow],
) -> Out<usize> {
    crate::store::catalog::check_batch(rows)?;
    let batch: Vec<super::codes::ItemCodes<'_>> = rows
        .iter()
        .map(|r| super::codes::ItemCodes {
            place: format!("line {}", r.line),
            sku: &r.sku.0,
            codes: &r.barcodes,
        })
        .collect();
    let moving = super::codes::check_codes(tx, &batch).map_err(|(i, message)| {
        StoreError::Catalog(crate::store::CatalogError::Row {
            line: rows[i].line,
            message,
        })
    })?;
    let plus: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.sku.0.as_str(), r.plu.as_deref()))
        .collect();
    let moving_plus = super::codes::check_plus(tx, &plus).map_err(|(i, message)| {
        StoreError::Catalog(crate::store::CatalogError::Row {
            line: rows[i].line,
            message,
        })
    })?;
    let now = options.clock.now();
    let event_id = EventId::new();
    let mut upsert = tx.prepare_cached(
        "INSERT INTO sku (sku, name, name_en, spec, unit, location, walk_seq, price_fen, safety_stock, updated_at, plu, sale_unit_g)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, name_en = excluded.name_en,
             spec = excluded.spec, unit = excluded.unit, location = excluded.location,
             walk_seq = excluded.walk_seq, price_fen = excluded.price_fen,
             safety_stock = excluded.safety_stock, updated_at = excluded.updated_at,
             plu = excluded.plu, sale_unit_g = excluded.sale_unit_g",
    )?;
    let mut on_hand = tx.prepare_cached(
        "INSERT INTO stock (sku, on_hand, reserved) VALUES (?1, 0, 0)
         ON CONFLICT (sku) DO UPDATE SET on_hand = CAST(on_hand AS INTEGER) RETURNING on_hand",
    )?;
    let mut changed = Vec::new();
    for row in rows {
        // Rows may come over the socket, not only from `catalog::parse`: every door meets here.
        row.check().map_err(|message| {
            StoreError::Catalog(crate::store::CatalogError::Row {
                line: row.line,
                message,
            })
        })?;
        let at_line = |e: rusqlite::Error| {
            StoreError::Catalog(crate::store::CatalogError::Row {
                line: row.line,
                message: e.to_string(),
            })
        };
        super::codes::free_plu(tx, &row.sku.0, row.plu.as_deref(), &moving_plus)?;
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
                row.plu,
                row.sale_unit_g
            ])
            .map_err(at_line)?;
        super::codes::write_codes(tx, &row.sku.0, &row.barcodes, &moving)?;
        let current: i64 = on_hand
            .query_row([&row.sku.0], |r| r.get(0))
            .map_err(at_line)?;
        if current != row.on_hand {
            changed.push(StockEffect {
                sku: row.sku.clone(),
                kind: MoveKind::Import,
                // Checked: a figure an older release left at the edge of i64 must not wrap.
                on_hand_delta: row.on_hand.checked_sub(current).ok_or_else(|| {
                    StoreError::Catalog(crate::store::CatalogError::Row {
                        line: row.line,
                        message: format!(
                            "the store holds {current} of sku {} (from an older release): count that shelf first",
                            row.sku
                        ),
                    })
                })?,
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
        let payload = HqPayload::CatalogImport(ImportPayload {
            v: 1,
            items: rows.len(),
            stock_changes: changed.len(),
            at: now.0,
            event_id: String::new(),
        });
        hq_row(tx, &event_id, &payload, now)?;
    }
    let skus = changed.into_iter().map(|e| e.sku).collect();
    Ok((rows.len(), vec![StoreEvent::StockChanged { skus }]))
}

/// Marks the sku sold out at `at`, or clears the mark (`None`). Whether anything changed.
pub(in crate::store) fn set_sold_out(
    tx: &Transaction<'_>,
    sku: &SkuCode,
    at: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let n = match at {
        Some(t) => tx
            .prepare_cached(
                "UPDATE sku SET sold_out_at = ?2 WHERE sku = ?1 AND sold_out_at IS NULL",
            )?
            .execute(params![sku.0, t.0])?,
        None => tx
            .prepare_cached(
                "UPDATE sku SET sold_out_at = NULL WHERE sku = ?1 AND sold_out_at IS NOT NULL",
            )?
            .execute(params![sku.0])?,
    };
    Ok(n > 0)
}

/// A manager clears a sold-out mark: the item's real level goes to every platform again.
pub(in crate::store) fn clear_sold_out(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    sku: &SkuCode,
) -> Out<bool> {
    crate::store::read::sku_info(tx, sku)?.ok_or_else(|| StoreError::NoSuchSku(sku.clone()))?;
    if !set_sold_out(tx, sku, None)? {
        return Ok((false, vec![]));
    }
    queue_stock_levels(tx, options, sku, options.clock.now())?;
    Ok((
        true,
        vec![StoreEvent::StockChanged {
            skus: vec![sku.clone()],
        }],
    ))
}
