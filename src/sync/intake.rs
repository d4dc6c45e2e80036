//! Orders arriving from a platform (push, poll or fetch): matched to the catalog, stored once,
//! accepted when the store auto-accepts; cancellations applied to the local order.

use super::DraftOrder;
use crate::model::{CancelSource, Fen, OrderEvent, OrderId, Platform, TransitionError, Unit};
use crate::store::{self, Ingested, NewLine, NewOrder, Store, StoreError, UnknownItem};
use std::sync::Arc;

/// Where intake reports what staff must see (an alert on every screen).
pub type Alerts = Arc<dyn Fn(&str, String, Option<i64>) + Send + Sync>;

/// Matches a draft's items to the catalog: by merchant code, then barcode. Items that match
/// nothing are kept on the order as unknown, never dropped.
pub fn resolve(conn: &rusqlite::Connection, draft: DraftOrder) -> Result<NewOrder, StoreError> {
    let mut lines = Vec::new();
    let mut unknown = Vec::new();
    for l in draft.lines {
        // A quantity out of bounds is not skipped: the order's check refuses it whole.
        let sku = store::resolve_item(
            conn,
            draft.platform,
            l.merchant_code.as_deref(),
            l.upc.as_deref(),
        )?;
        let info = match &sku {
            Some(s) => store::sku_info(conn, s)?,
            None => None,
        };
        match info {
            Some(info) => {
                // Weighed goods are counted in grams: the platform sells portions of a weight
                // (its own figure on the order, else the catalog's).
                // Checked: an absurd count times a portion must not wrap into a plausible one.
                let (qty, unit_price, unit_g) =
                    match (info.unit, l.unit_weight_g.or(info.sale_unit_g)) {
                        (Unit::Gram, Some(w)) => {
                            let grams = l.count.checked_mul(w).ok_or_else(|| {
                                StoreError::BadOrder(format!(
                                    "order {}: {} portions of {w} g is beyond any count",
                                    draft.external_id, l.count
                                ))
                            })?;
                            let per_gram = l.unit_price.0.saturating_add(w / 2) / w;
                            (grams, Fen(per_gram), Some(w))
                        }
                        _ => (l.count, l.unit_price, None),
                    };
                // Kept even when it is our sku: the platform may list the item under both.
                let merchant_code = l.merchant_code.clone().filter(|c| !c.is_empty());
                lines.push(NewLine {
                    sku: info.sku,
                    name: Some(l.name).filter(|n| !n.is_empty()),
                    qty,
                    unit_price,
                    platform_item: l.platform_item,
                    merchant_code,
                    unit_g,
                });
            }
            None => unknown.push(UnknownItem {
                name: l.name,
                codes: [l.merchant_code, l.upc].into_iter().flatten().collect(),
                qty: l.count,
            }),
        }
    }
    Ok(NewOrder {
        platform: draft.platform,
        external_id: draft.external_id,
        day_seq: draft.day_seq,
        placed_at: draft.placed_at,
        promised_at: draft.promised_at,
        platform_deadline: draft.platform_deadline,
        pickup_code: None,
        delivery: draft.delivery,
        lines,
        remark: draft.remark,
        unknown_items: unknown,
    })
}

/// Takes an order in (deduplicated on `(source, message_id)` and on its id) and, when
/// `auto_accept`, accepts it. Returns the local id when the order is new.
pub async fn take(
    store: &Store,
    alerts: &Alerts,
    mut draft: DraftOrder,
    source: &str,
    message_id: &str,
    auto_accept: bool,
    travel_buffer: Option<i64>,
) -> Result<Option<OrderId>, StoreError> {
    // Cancelled before we had it (a fetch found it so, or the cancel push came first): nothing
    // to pick, nothing to reserve.
    let tombstone = tombstone_key(draft.platform, &draft.external_id);
    let cancelled_first = store
        .read_async(move |c| store::sync_state(c, &tombstone))
        .await?
        .is_some();
    if draft.cancelled || cancelled_first {
        tracing::info!(platform = %draft.platform, order = %draft.external_id, "cancelled on the platform before it reached the store; not taken");
        return Ok(None);
    }
    // A platform-specific travel buffer (Meituan) turns the promised time into a deadline here;
    // otherwise the store's [sla] buffer applies.
    if draft.platform_deadline.is_none()
        && let (Some(promised), Some(buffer)) = (draft.promised_at, travel_buffer)
    {
        draft.platform_deadline = Some(promised.plus_secs(-buffer));
    }
    let unknown_carrier = draft.unknown_carrier.take();
    let new = store.read_async(move |c| resolve(c, draft)).await?;
    let unknown: Vec<String> = new
        .unknown_items
        .iter()
        .map(|u| format!("{} ×{}", u.name, u.qty))
        .collect();
    let (platform, external) = (new.platform, new.external_id.clone());
    let order = match store.ingest(source, message_id, new).await {
        Ok(Ingested::New(o)) => o,
        Ok(Ingested::Duplicate(_)) => return Ok(None),
        Ok(Ingested::Changed { id, what }) => {
            tracing::error!(%platform, order = %external, "the platform sent the order again with other content: {what}");
            alerts(
                "error",
                format!(
                    "{} order {external} came again with other content ({what}); the store keeps the first — check it on the platform's console",
                    platform.label()
                ),
                Some(id.0),
            );
            return Ok(None);
        }
        Err(StoreError::BadOrder(reason)) => {
            refuse(store, alerts, platform, source, message_id, &reason).await?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    tracing::info!(platform = %order.platform, order = %order.external_id, seq = order.day_seq, "new order");
    if !unknown.is_empty() {
        alerts(
            "warning",
            format!(
                "order #{} has items not in the catalog: {} — pick the rest and mark these short, or cancel",
                order.day_seq,
                unknown.join(", ")
            ),
            Some(order.id.0),
        );
    }
    if let Some(carrier) = unknown_carrier {
        alerts(
            "warning",
            format!(
                "{} order #{} names a carrier flashpick does not know ({carrier}): it is reported as picked for the platform's riders; check who collects it on the platform's merchant app",
                order.platform.label(),
                order.day_seq
            ),
            Some(order.id.0),
        );
    }
    if auto_accept {
        match store
            .apply(order.id, OrderEvent::Accept, "auto-accept", None)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Transition(e @ TransitionError::InsufficientStock { .. })) => alerts(
                "error",
                format!("order #{} was not accepted: {e}", order.day_seq),
                Some(order.id.0),
            ),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(order.id))
}

/// The platform cancelled an order: release its stock. `false` when we do not have it or it
/// is past cancelling (already handed over or cancelled).
pub async fn cancelled_by_platform(
    store: &Store,
    platform: Platform,
    external_id: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    let ext = external_id.to_string();
    let id = store
        .read_async(move |c| store::order_id_by_external(c, platform, &ext))
        .await?;
    let Some(id) = id else {
        // Not here yet (a JD fetch may still be queued): remember, so it is never taken.
        let key = tombstone_key(platform, external_id);
        // Named for what wrote it: only the bare times of the releases before (which wrote one
        // for a mere refund request too) may be lifted by a refused or withdrawn request.
        store
            .set_sync_state(&key, &format!("cancelled {}", store.clock().now().0))
            .await?;
        return Ok(false);
    };
    let event = OrderEvent::Cancel {
        by: CancelSource::Platform,
        reason: reason.to_string(),
    };
    match store.apply(id, event, platform.as_str(), None).await {
        Ok(_) => Ok(true),
        Err(StoreError::Transition(TransitionError::NotAllowed { .. })) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A Meituan full-refund push: only an agreed refund cancels the order. A request is told to
/// every screen (the store decides on the platform's console); a refused or withdrawn one leaves
/// the order as it is, and lifts the "never take it" mark a request once left on an order that
/// had not arrived yet (releases before this fix cancelled on any refund push).
pub async fn full_refund(
    store: &Store,
    alerts: &Alerts,
    external_id: &str,
    notice: super::meituan::FullRefund,
    reason: &str,
) -> Result<(), StoreError> {
    use super::meituan::FullRefund;
    let platform = Platform::Meituan;
    match notice {
        FullRefund::Agreed => cancelled_by_platform(store, platform, external_id, reason)
            .await
            .map(|_| ()),
        FullRefund::Requested => {
            alerts(
                "warning",
                format!(
                    "{} order {external_id}: the customer asks for a full refund ({reason}); decide on the platform's console: agreed, the order is cancelled here",
                    platform.label()
                ),
                local_id(store, platform, external_id).await?,
            );
            Ok(())
        }
        FullRefund::Withdrawn => {
            tracing::info!(order = %external_id, "a full-refund request was refused or withdrawn; the order goes on");
            // A mark a cancellation wrote stands; a bare time may be an old request's.
            let key = tombstone_key(platform, external_id);
            let lookup = key.clone();
            let mark = store
                .read_async(move |c| store::sync_state(c, &lookup))
                .await?;
            if mark.is_some_and(|m| m.parse::<i64>().is_ok()) {
                store.forget_sync_state(&key).await?;
            }
            Ok(())
        }
        FullRefund::Unknown(kind) => {
            alerts(
                "warning",
                format!(
                    "{} order {external_id}: a refund notice of an unknown kind `{kind}`; the order was not changed: check it on the platform's console",
                    platform.label()
                ),
                local_id(store, platform, external_id).await?,
            );
            Ok(())
        }
    }
}

/// A Meituan partial-refund push, told on the order's screens with the items and counts. The
/// order's lines are not changed here: a person takes the goods out (an agreed refund) or packs
/// as ordered (a refused or withdrawn one).
pub async fn part_refund(
    store: &Store,
    alerts: &Alerts,
    external_id: &str,
    kind: super::meituan::FullRefund,
    items: &[String],
) -> Result<(), StoreError> {
    use super::meituan::FullRefund;
    let platform = Platform::Meituan;
    let what = if items.is_empty() {
        "items not named".to_string()
    } else {
        items.join("、")
    };
    let (level, text) = match kind {
        FullRefund::Requested => (
            "warning",
            format!(
                "the customer asks a refund of {what}; decide on the platform's console, and keep them aside until then"
            ),
        ),
        FullRefund::Agreed => (
            "warning",
            format!("refund of {what} agreed: take them out of the order"),
        ),
        FullRefund::Withdrawn => (
            "info",
            format!("the refund of {what} was refused or withdrawn: pack as ordered"),
        ),
        FullRefund::Unknown(k) => (
            "warning",
            format!(
                "a partial-refund notice of an unknown kind `{k}` ({what}); check it on the platform's console"
            ),
        ),
    };
    let id = local_id(store, platform, external_id).await?;
    alerts(
        level,
        format!("{} order {external_id}: {text}", platform.label()),
        id,
    );
    Ok(())
}

/// The local id of a platform's order, if it is here.
async fn local_id(
    store: &Store,
    platform: Platform,
    external_id: &str,
) -> Result<Option<i64>, StoreError> {
    let ext = external_id.to_string();
    let id = store
        .read_async(move |c| store::order_id_by_external(c, platform, &ext))
        .await?;
    Ok(id.map(|i| i.0))
}

/// A message the store will never take (an absurd order, signed by the platform all the same):
/// kept in the inbox as refused with the reason, answered as received so the platform does not
/// retry it for hours, and told once on every screen with the platform's order id.
pub async fn refuse(
    store: &Store,
    alerts: &Alerts,
    platform: Platform,
    source: &str,
    message_id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let shown: String = message_id.chars().take(64).collect();
    if store.refuse_message(source, &shown, reason).await? {
        tracing::error!(%platform, message = %shown, "refused for good: {reason}");
        alerts(
            "error",
            format!(
                "{} sent an order the store refused ({reason}); it was not taken — check it on the platform's console",
                platform.label()
            ),
            None,
        );
    }
    Ok(())
}

/// An inbox id for a refused message that has no usable id of its own: the message kind, what
/// id it gave (cut short) and a digest of its content, so two different absurd pushes are two
/// refusals and the same one retried is one.
pub fn refusal_id(message: &str, id: &str, content: &str) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(content.as_bytes());
    let hex = super::sign::hex(&digest[..8]);
    format!(
        "{message}:{}:{hex}",
        id.chars().take(64).collect::<String>()
    )
}

fn tombstone_key(platform: Platform, external_id: &str) -> String {
    format!("cancelled:{}:{external_id}", platform.as_str())
}
