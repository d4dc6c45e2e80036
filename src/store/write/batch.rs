//! Batch picking in the store: a picker claims a batch (each order claimed as ever, with its
//! cart slot kept on the order), the orders of a batch for a scan to be routed among, and a
//! batch released whole. Every order keeps its own transitions and stock arithmetic.

use super::super::read;
use super::super::{StoreError, StoreOptions};
use super::order::apply_loaded;
use super::{Applied, Out};
use crate::model::batch::{BatchSlot, Candidate, choose};
use crate::model::{Order, OrderEvent, OrderId, OrderState, Timestamp};
use rusqlite::{Transaction, params};

/// Waiting orders looked at for a batch: the most urgent ones are enough.
const CANDIDATES: i64 = 200;

/// The orders of batch `batch` still in picking, most urgent first.
pub(in crate::store) fn orders_of(
    tx: &Transaction<'_>,
    batch: i64,
) -> Result<Vec<Order>, StoreError> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM \"order\" WHERE batch_id = ?1 AND state = 'picking'
             ORDER BY pick_deadline, id",
        )?
        .query_map([batch], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut orders = Vec::with_capacity(ids.len());
    for id in ids {
        orders.extend(read::load_order(tx, OrderId(id))?);
    }
    Ok(orders)
}

/// `picker` claims a batch: the most urgent waiting orders that fit the batch rules, each in the
/// next slot of the cart. The orders as claimed, most urgent first.
pub(in crate::store) fn claim_batch(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    picker: &str,
    (actor, station): (&str, Option<&str>),
) -> Out<Vec<Applied>> {
    let now = options.clock.now();
    let waiting: Vec<Candidate> = tx
        .prepare_cached(
            "SELECT o.id, o.pick_deadline,
                    (SELECT count(*) FROM order_line l WHERE l.order_id = o.id)
             FROM \"order\" o WHERE o.state = 'accepted'
             ORDER BY o.pick_deadline, o.id LIMIT ?1",
        )?
        .query_map([CANDIDATES], |r| {
            Ok(Candidate {
                id: OrderId(r.get(0)?),
                pick_deadline: Timestamp(r.get(1)?),
                lines: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        // Booked orders wait for their time, as on the queue.
        .filter(|c| !options.sla.scheduled(c.pick_deadline, now))
        .collect();
    let chosen = choose(&waiting, &options.batch.rules, now);
    let Some(first) = chosen.first().copied() else {
        return Err(StoreError::Refused(
            "no order is waiting to be picked".into(),
        ));
    };
    let (mut claimed, mut events) = (Vec::new(), Vec::new());
    for (id, slot) in chosen.into_iter().zip(&options.batch.slots) {
        let mut order = read::load_order(tx, id)?.ok_or(StoreError::NoSuchOrder(id))?;
        tx.prepare_cached("UPDATE \"order\" SET batch_id = ?2, slot = ?3 WHERE id = ?1")?
            .execute(params![id.0, first.0, slot])?;
        order.batch = Some(Box::new(BatchSlot {
            batch: first.0,
            slot: slot.clone(),
        }));
        let claim = OrderEvent::Claim {
            picker: picker.to_string(),
        };
        let (applied, more) = apply_loaded(tx, options, order, &claim, (actor, station), None)?;
        claimed.push(applied);
        events.extend(more);
    }
    Ok((claimed, events))
}

/// Releases every order of the batch `order` is in that is still in picking (each back to the
/// queue, its picked units kept, as a release of one order).
pub(in crate::store) fn release_batch(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    order: OrderId,
    actor: &str,
) -> Out<Vec<Applied>> {
    let o = read::load_order(tx, order)?.ok_or(StoreError::NoSuchOrder(order))?;
    let batch = match (&o.batch, o.state) {
        (Some(b), OrderState::Picking) => orders_of(tx, b.batch)?,
        _ => vec![o],
    };
    let (mut released, mut events) = (Vec::new(), Vec::new());
    for o in batch {
        super::claim::check_owner(options, &o, &OrderEvent::Release, actor)?;
        let (applied, more) =
            apply_loaded(tx, options, o, &OrderEvent::Release, (actor, None), None)?;
        released.push(applied);
        events.extend(more);
    }
    Ok((released, events))
}

/// A batch being picked: its number, its picker and how many of its orders are in picking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInPicking {
    /// The batch (its first order's id).
    pub batch: i64,
    /// Who picks it.
    pub picker: String,
    /// Its orders still in picking.
    pub orders: u32,
}

/// The batches being picked now.
pub fn batches_in_picking(conn: &rusqlite::Connection) -> Result<Vec<BatchInPicking>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT batch_id, COALESCE(max(picker), ''), count(*) FROM \"order\"
             WHERE state = 'picking' AND batch_id IS NOT NULL GROUP BY batch_id ORDER BY batch_id",
        )?
        .query_map([], |r| {
            Ok(BatchInPicking {
                batch: r.get(0)?,
                picker: r.get(1)?,
                orders: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}
