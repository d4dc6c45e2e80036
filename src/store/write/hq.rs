//! Writes that come from headquarters: catalog / price / layout deltas, and notes for HQ (a
//! refused message and why) that go out through the outbox like every other event.

use super::Out;
use super::emit::hq_row;
use crate::model::{EventId, Fen, SkuCode, Timestamp, Unit};
use crate::store::payload::{AppliedPayload, HqPayload, RejectedPayload};
use crate::store::{StoreError, StoreEvent};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

/// The sync-state key holding the last catalog delta applied.
const VERSION_KEY: &str = "hq.catalog_version";

/// A versioned set of catalog changes from HQ, applied whole or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDelta {
    /// Payload format, 1.
    pub v: u32,
    /// This delta's number: one more than the last one applied.
    pub version: i64,
    /// The changes, in order.
    pub changes: Vec<CatalogChange>,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum CatalogChange {
    /// Creates or replaces an item's description (never its stock).
    Item {
        /// Store code.
        sku: SkuCode,
        /// Chinese name.
        name: String,
        /// English name.
        #[serde(default)]
        name_en: Option<String>,
        /// Specification.
        #[serde(default)]
        spec: Option<String>,
        /// `piece` or `gram`.
        #[serde(default)]
        unit: Unit,
        /// Shelf location.
        location: String,
        /// Position on the pick walk.
        #[serde(default)]
        walk_seq: i64,
        /// Shelf price.
        #[serde(default)]
        price_fen: Option<Fen>,
        /// Barcodes (replace the item's codes).
        #[serde(default)]
        barcodes: Vec<String>,
        /// Scale PLU (leading zeros are taken off, as a catalog file's are).
        #[serde(default, deserialize_with = "plu_form")]
        plu: Option<String>,
        /// Weighed goods: the grams of one portion as the platforms sell it (absent: the item
        /// keeps the one it has).
        #[serde(default)]
        sale_unit_g: Option<i64>,
    },
    /// A new shelf price.
    Price {
        /// Store code.
        sku: SkuCode,
        /// Price.
        price_fen: Fen,
    },
    /// A new place on the shelves (layout change).
    Move {
        /// Store code.
        sku: SkuCode,
        /// Shelf location.
        location: String,
        /// Position on the pick walk.
        walk_seq: i64,
    },
}

fn plu_form<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let plu: Option<String> = Option::deserialize(d)?;
    Ok(plu.map(|p| crate::model::item::normalised_plu(&p)))
}

/// What became of a delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaOutcome {
    /// Applied; the catalog is now at this version.
    Applied(i64),
    /// Already applied before (a redelivery): nothing done.
    Duplicate(i64),
    /// Refused for its content (an invalid item, a code of another item, an unknown sku):
    /// nothing of it applied, but its version is used up so the next one is not refused as a gap.
    Refused {
        /// The delta's version, now the store's.
        version: i64,
        /// Why, and what to send.
        reason: String,
    },
}

/// Applies a delta if it is the next one. A later one (a gap) is refused and waits for the one
/// missing; one refused for its content is refused whole and its version used up
/// ([`DeltaOutcome::Refused`]); an earlier one is a duplicate.
pub(in crate::store) fn catalog_delta(
    tx: &Transaction<'_>,
    options: &crate::store::StoreOptions,
    delta: &CatalogDelta,
) -> Out<DeltaOutcome> {
    let current: i64 = tx
        .query_row(
            "SELECT value FROM sync_state WHERE key = ?1",
            [VERSION_KEY],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if delta.version <= current {
        return Ok((DeltaOutcome::Duplicate(current), vec![]));
    }
    if delta.version != current + 1 {
        return Err(StoreError::BadOrder(format!(
            "catalog delta {} arrived but the store is at {current}: send {} first",
            delta.version,
            current + 1
        )));
    }
    // A delta refused for its content is consumed: the store moves to its version without
    // applying any of it, so HQ's next delta (with the fix) is not refused as a gap forever.
    tx.execute_batch("SAVEPOINT delta")?;
    match apply_changes(tx, options, delta) {
        Ok(skus) => {
            tx.execute_batch("RELEASE delta")?;
            crate::store::outbox::set_sync_state(tx, VERSION_KEY, &delta.version.to_string())?;
            let now = options.clock.now();
            if options.hq_events {
                let event_id = EventId::new();
                let payload = HqPayload::CatalogApplied(AppliedPayload {
                    v: 1,
                    version: delta.version,
                    changes: delta.changes.len(),
                    at: now.0,
                    event_id: String::new(),
                });
                hq_row(tx, &event_id, &payload, now)?;
            }
            Ok((
                DeltaOutcome::Applied(delta.version),
                vec![StoreEvent::StockChanged { skus }, StoreEvent::OutboxChanged],
            ))
        }
        // Also a rule of the schema the checks above missed: refused, never retried forever.
        Err(StoreError::Sqlite(e))
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
        {
            tx.execute_batch("ROLLBACK TO delta; RELEASE delta")?;
            crate::store::outbox::set_sync_state(tx, VERSION_KEY, &delta.version.to_string())?;
            Ok((
                DeltaOutcome::Refused {
                    version: delta.version,
                    reason: format!(
                        "catalog delta {v} breaks a rule of the catalog ({e}); nothing of it was applied and the store is now at {v}: send the fix as {}",
                        delta.version + 1,
                        v = delta.version
                    ),
                },
                vec![],
            ))
        }
        Err(StoreError::BadOrder(reason)) => {
            tx.execute_batch("ROLLBACK TO delta; RELEASE delta")?;
            crate::store::outbox::set_sync_state(tx, VERSION_KEY, &delta.version.to_string())?;
            Ok((
                DeltaOutcome::Refused {
                    version: delta.version,
                    reason: format!(
                        "{reason}; nothing of delta {v} was applied and the store is now at {v}: send the fix as {}",
                        delta.version + 1,
                        v = delta.version
                    ),
                },
                vec![],
            ))
        }
        Err(e) => Err(e),
    }
}

/// The changes of a delta, in order; a refusal is `BadOrder` with the change it is about.
fn apply_changes(
    tx: &Transaction<'_>,
    options: &crate::store::StoreOptions,
    delta: &CatalogDelta,
) -> Result<Vec<SkuCode>, StoreError> {
    let now = options.clock.now();
    let items: Vec<(usize, super::codes::ItemCodes<'_>)> = delta
        .changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            CatalogChange::Item { sku, barcodes, .. } => Some((
                i,
                super::codes::ItemCodes {
                    place: format!("change {i}"),
                    sku: &sku.0,
                    codes: barcodes,
                },
            )),
            _ => None,
        })
        .collect();
    let (at, batch): (Vec<usize>, Vec<_>) = items.into_iter().unzip();
    let moving = super::codes::check_codes(tx, &batch).map_err(|(i, reason)| {
        StoreError::BadOrder(format!(
            "catalog delta {} change {}: {reason}",
            delta.version, at[i]
        ))
    })?;
    let plus: Vec<(usize, (&str, Option<&str>))> = delta
        .changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            CatalogChange::Item { sku, plu, .. } => Some((i, (sku.0.as_str(), plu.as_deref()))),
            _ => None,
        })
        .collect();
    let (plu_at, plu_batch): (Vec<usize>, Vec<_>) = plus.into_iter().unzip();
    let moving_plus = super::codes::check_plus(tx, &plu_batch).map_err(|(i, reason)| {
        StoreError::BadOrder(format!(
            "catalog delta {} change {}: {reason}",
            delta.version, plu_at[i]
        ))
    })?;
    let mut skus = Vec::new();
    for (i, change) in delta.changes.iter().enumerate() {
        let unknown = |sku: &SkuCode| {
            StoreError::BadOrder(format!(
                "catalog delta {} change {}: no item {}; send an `item` change first",
                delta.version, i, sku.0
            ))
        };
        match change {
            CatalogChange::Item {
                sku,
                name,
                name_en,
                spec,
                unit,
                location,
                walk_seq,
                price_fen,
                barcodes,
                plu,
                sale_unit_g,
            } => {
                let refuse = |reason: String| {
                    StoreError::BadOrder(format!(
                        "catalog delta {} change {i}: {reason}",
                        delta.version
                    ))
                };
                // The one item check every door makes (HQ never sets stock).
                crate::model::item::check_item(&crate::model::item::ItemFields {
                    sku: &sku.0,
                    name,
                    name_en: name_en.as_deref(),
                    spec: spec.as_deref(),
                    location,
                    walk_seq: *walk_seq,
                    price_fen: price_fen.map(|p| p.0),
                    safety_stock: None,
                    on_hand: None,
                    barcodes,
                    plu: plu.as_deref(),
                })
                .map_err(refuse)?;
                // A weighed item sent without its portion (HQ software from before the field)
                // keeps the one it has; with none it shows 0 on the platforms (doctor names
                // it) rather than stall every later delta behind this one.
                if sale_unit_g.is_some() {
                    crate::store::catalog::check_sale_unit(&sku.0, *unit, *sale_unit_g)
                        .map_err(refuse)?;
                }
                super::codes::free_plu(tx, &sku.0, plu.as_deref(), &moving_plus)?;
                tx.prepare_cached(
                    "INSERT INTO sku (sku, name, name_en, spec, unit, location, walk_seq, price_fen, updated_at, plu, sale_unit_g)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (sku) DO UPDATE SET name = excluded.name, name_en = excluded.name_en,
                         spec = excluded.spec, unit = excluded.unit, location = excluded.location,
                         walk_seq = excluded.walk_seq, price_fen = excluded.price_fen,
                         updated_at = excluded.updated_at, plu = excluded.plu,
                         sale_unit_g = CASE WHEN excluded.unit = 'gram'
                             THEN COALESCE(excluded.sale_unit_g, sale_unit_g) END",
                )?
                .execute(params![
                    sku.0,
                    name,
                    name_en,
                    spec,
                    unit.as_str(),
                    location,
                    walk_seq,
                    price_fen.map(|p| p.0),
                    now.0,
                    plu,
                    sale_unit_g
                ])?;
                super::codes::write_codes(tx, &sku.0, barcodes, &moving)?;
                tx.prepare_cached(
                    "INSERT INTO stock (sku, on_hand, reserved) VALUES (?1, 0, 0) ON CONFLICT (sku) DO NOTHING",
                )?
                .execute([&sku.0])?;
                // Its unit or portion may have changed what the platforms should show.
                super::stock::queue_stock_levels(tx, options, sku, now)?;
                skus.push(sku.clone());
            }
            CatalogChange::Price { sku, price_fen } => {
                crate::model::item::check_price(price_fen.0).map_err(|reason| {
                    StoreError::BadOrder(format!(
                        "catalog delta {} change {i}: {reason}",
                        delta.version
                    ))
                })?;
                let n = tx
                    .prepare_cached(
                        "UPDATE sku SET price_fen = ?2, updated_at = ?3 WHERE sku = ?1",
                    )?
                    .execute(params![sku.0, price_fen.0, now.0])?;
                if n == 0 {
                    return Err(unknown(sku));
                }
            }
            CatalogChange::Move {
                sku,
                location,
                walk_seq,
            } => {
                crate::model::item::check_place(location, *walk_seq).map_err(|reason| {
                    StoreError::BadOrder(format!(
                        "catalog delta {} change {i}: {reason}",
                        delta.version
                    ))
                })?;
                let n = tx
                    .prepare_cached(
                        "UPDATE sku SET location = ?2, walk_seq = ?3, updated_at = ?4 WHERE sku = ?1",
                    )?
                    .execute(params![sku.0, location, walk_seq, now.0])?;
                if n == 0 {
                    return Err(unknown(sku));
                }
            }
        }
    }
    Ok(skus)
}

/// What HQ sent and was refused, and why: the `rejected` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `orders`, `catalog` or `config`.
    pub topic: String,
    /// HQ's id of the message, when it had one.
    pub message_id: Option<String>,
    /// Why.
    pub reason: String,
}

/// Queues a refusal for HQ, deduplicated on the message it is about when there is one. Returns
/// false when that message was seen before.
pub(in crate::store) fn hq_note(
    tx: &Transaction<'_>,
    about: Option<(&str, &str)>,
    rejection: Rejection,
    now: Timestamp,
) -> Out<bool> {
    if let Some((source, id)) = about {
        let fresh = tx
            .prepare_cached(
                "INSERT INTO inbox (source, message_id, received_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![source, id, now.0])?
            == 1;
        if !fresh {
            return Ok((false, vec![]));
        }
    }
    let payload = HqPayload::Rejected(RejectedPayload {
        v: 1,
        topic: rejection.topic,
        message_id: rejection.message_id,
        reason: rejection.reason,
        at: now.0,
        event_id: String::new(),
    });
    hq_row(tx, &EventId::new(), &payload, now)?;
    Ok((true, vec![StoreEvent::OutboxChanged]))
}
