//! Whose order it is: the claiming picker's work is theirs (or a manager's), someone else takes
//! it over first (a release and a claim, logged), and a claim nobody touches goes back to the
//! queue.

use super::super::read;
use super::super::{StoreError, StoreOptions};
use super::order::apply_loaded;
use super::{Applied, Out};
use crate::model::{self, Order, OrderEvent, OrderId, OrderState, Timestamp};
use rusqlite::Transaction;

/// Refuses the claiming picker's work (scans, shorts, release, completion) from anyone else but
/// a manager: a second screen logged in as another picker acted on p1's order and its scans were
/// booked to p1. Someone else takes the order over first (a logged transfer).
pub(super) fn check_owner(
    options: &StoreOptions,
    order: &Order,
    event: &OrderEvent,
    actor: &str,
) -> Result<(), StoreError> {
    if order.state != OrderState::Picking || !event.is_pickers_work() {
        return Ok(());
    }
    match &order.picker {
        Some(by) if by != actor && !options.managers.iter().any(|m| m == actor) => {
            Err(StoreError::Transition(model::TransitionError::NotYours {
                by: by.clone(),
                actor: actor.to_string(),
            }))
        }
        _ => Ok(()),
    }
}

/// `picker` takes over an order someone else is picking: a release and a claim in one
/// transaction, both in the order's history under `actor`. Picked units stay picked.
pub(in crate::store) fn take_over(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    id: OrderId,
    picker: &str,
    actor: &str,
    station: Option<&str>,
) -> Out<Applied> {
    let order = read::load_order(tx, id)?.ok_or(StoreError::NoSuchOrder(id))?;
    let from = order.picker.clone().unwrap_or_default();
    let (released, mut events) = apply_loaded(
        tx,
        options,
        order,
        &OrderEvent::Release,
        (actor, None),
        None,
    )?;
    tracing::info!(order = id.0, %from, to = picker, %actor, "order taken over");
    let claim = OrderEvent::Claim {
        picker: picker.to_string(),
    };
    let (claimed, more) =
        apply_loaded(tx, options, released.order, &claim, (actor, station), None)?;
    events.extend(more);
    Ok((claimed, events))
}

/// Releases an order in picking that nobody has touched since `idle_since` (unix ms): no
/// transition and no scan. `None` when it was touched meanwhile or is no longer in picking.
pub(in crate::store) fn release_idle(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    id: OrderId,
    idle_since: Timestamp,
) -> Out<Option<Applied>> {
    let Some(order) = read::load_order(tx, id)? else {
        return Ok((None, vec![]));
    };
    let last = read::last_touched(tx, id)?;
    if order.state != OrderState::Picking || last > idle_since {
        return Ok((None, vec![]));
    }
    let (applied, events) = apply_loaded(
        tx,
        options,
        order,
        &OrderEvent::Release,
        (IDLE_RELEASE, None),
        None,
    )?;
    Ok((Some(applied), events))
}

/// The actor of a release made because a claim sat idle.
pub const IDLE_RELEASE: &str = "idle-release";
