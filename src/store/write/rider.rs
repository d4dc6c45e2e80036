//! What the platform tells about an order besides its lines: the rider (kept when it is news: a
//! later event, or a further status at the same time) and the customer chasing it (催单), told
//! to the screens as the order's change.

use super::super::{StoreError, StoreEvent, read};
use super::Out;
use crate::model::rider::Rider;
use crate::model::{Order, Platform};
use rusqlite::{Transaction, params};

/// What a rider push changed: the order afterwards and the rider before, or `None` when the
/// order is not here or the push was no news (late, or repeated).
pub type RiderChange = Option<(Order, Option<Rider>)>;

/// Records the rider of a platform's order if it supersedes what the store has.
pub(in crate::store) fn set_rider(
    tx: &Transaction<'_>,
    platform: Platform,
    external_id: &str,
    rider: Rider,
) -> Out<RiderChange> {
    let Some(id) = read::order_id_by_external(tx, platform, external_id)? else {
        return Ok((None, vec![]));
    };
    let mut order = read::load_order(tx, id)?.ok_or(StoreError::NoSuchOrder(id))?;
    let before = order.rider.take().map(|b| *b);
    if before.as_ref().is_some_and(|old| !rider.supersedes(old)) {
        return Ok((None, vec![]));
    }
    let rider = rider.after(before.as_ref());
    let text = serde_json::to_string(&rider).expect("riders serialise");
    tx.prepare_cached("UPDATE \"order\" SET rider = ?2, version = version + 1 WHERE id = ?1")?
        .execute(params![id.0, text])?;
    order.rider = Some(Box::new(rider));
    let event = StoreEvent::OrderChanged {
        order: order.clone(),
        cause: "rider",
    };
    Ok((Some((order, before)), vec![event]))
}

/// The customer chased a platform's order: marked until someone opens it. `None` when the order
/// is not here or is finished.
pub(in crate::store) fn remind(
    tx: &Transaction<'_>,
    platform: Platform,
    external_id: &str,
    now: crate::model::Timestamp,
) -> Out<Option<Order>> {
    let Some(id) = read::order_id_by_external(tx, platform, external_id)? else {
        return Ok((None, vec![]));
    };
    let mut order = read::load_order(tx, id)?.ok_or(StoreError::NoSuchOrder(id))?;
    if matches!(
        order.state,
        crate::model::OrderState::HandedOver | crate::model::OrderState::Cancelled
    ) {
        return Ok((None, vec![]));
    }
    tx.prepare_cached("UPDATE \"order\" SET reminded_at = ?2 WHERE id = ?1")?
        .execute(params![id.0, now.0])?;
    order.reminded_at = Some(now);
    let event = StoreEvent::OrderChanged {
        order: order.clone(),
        cause: "remind",
    };
    Ok((Some(order), vec![event]))
}

/// Someone opened a chased order: the reminder is answered.
pub(in crate::store) fn reminder_seen(tx: &Transaction<'_>, id: crate::model::OrderId) -> Out<()> {
    let n = tx
        .prepare_cached(
            "UPDATE \"order\" SET reminded_at = NULL WHERE id = ?1 AND reminded_at IS NOT NULL",
        )?
        .execute(params![id.0])?;
    if n == 0 {
        return Ok(((), vec![]));
    }
    let order = read::load_order(tx, id)?.ok_or(StoreError::NoSuchOrder(id))?;
    Ok((
        (),
        vec![StoreEvent::OrderChanged {
            order,
            cause: "reminder_seen",
        }],
    ))
}
