//! Orders arriving from a platform (push, poll or fetch): matched to the catalog, stored once,
//! accepted when the store auto-accepts; cancellations applied to the local order.

use super::DraftOrder;
use crate::model::request::{NewRequest, RequestItem, RequestKind, RequestState};
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
        pickup_code: draft.pickup_code,
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

/// A refund push from Meituan, read (full `refund` or partial `partrefund`).
#[derive(Debug, Clone)]
pub struct RefundPush {
    /// The platform's order id.
    pub external_id: String,
    /// Full or partial.
    pub kind: RequestKind,
    /// `refund_id`, empty when not sent.
    pub refund_id: String,
    /// The items of a partial refund.
    pub items: Vec<RequestItem>,
    /// The customer's reason.
    pub reason: String,
    /// What the push says.
    pub notice: super::meituan::RefundNotice,
}

/// A Meituan refund push: a request opens a decision for a manager; only an agreed refund
/// changes the order; a refused or withdrawn one closes the request and the order goes on. It
/// also lifts the "never take it" mark a request once left on an order that had not arrived yet
/// (releases before this fix cancelled on any refund push).
pub async fn meituan_refund(
    store: &Store,
    alerts: &Alerts,
    push: RefundPush,
    decide_within_ms: i64,
) -> Result<(), StoreError> {
    use super::meituan::RefundNotice as N;
    let platform = Platform::Meituan;
    let ext = push.external_id.clone();
    let settle = |state: RequestState| {
        store.settle_request(platform, &ext, push.kind, &push.refund_id, state)
    };
    match push.notice {
        N::Requested => {
            let asked = NewRequest {
                platform,
                external_id: ext.clone(),
                kind: push.kind,
                refund_id: push.refund_id.clone(),
                items: push.items.clone(),
                reason: push.reason.clone(),
            };
            if store.open_request(asked, decide_within_ms).await?.is_some() {
                tracing::info!(order = %ext, kind = push.kind.as_str(), "a customer's request is waiting for a manager");
            }
            Ok(())
        }
        N::Agreed => {
            // Once per request: the store's own decision may have been answered first, or the
            // platform pushes the same notice again; a granted partial refund takes its units
            // off the order in the same transaction that records it.
            let settled = settle(RequestState::Agreed).await?;
            if push.kind == RequestKind::FullRefund {
                let reason = format!("顾客退款 refund agreed ({})", push.reason);
                return cancelled_by_platform(store, platform, &ext, &reason)
                    .await
                    .map(|_| ());
            }
            if settled.is_none() {
                let asked = NewRequest {
                    platform,
                    external_id: ext.clone(),
                    kind: push.kind,
                    refund_id: push.refund_id.clone(),
                    items: push.items.clone(),
                    reason: push.reason.clone(),
                };
                store.refund_granted_unseen(asked).await?;
            }
            Ok(())
        }
        N::Rejected | N::Withdrawn => {
            let state = if push.notice == N::Rejected {
                RequestState::Rejected
            } else {
                RequestState::Withdrawn
            };
            settle(state).await?;
            tracing::info!(order = %ext, kind = push.kind.as_str(), "a refund request was {}; the order goes on", state.as_str());
            if push.kind == RequestKind::FullRefund {
                // A mark a cancellation wrote stands; a bare time may be an old request's.
                let key = tombstone_key(platform, &ext);
                let lookup = key.clone();
                let mark = store
                    .read_async(move |c| store::sync_state(c, &lookup))
                    .await?;
                if mark.is_some_and(|m| m.parse::<i64>().is_ok()) {
                    store.forget_sync_state(&key).await?;
                }
            }
            Ok(())
        }
        N::Unknown(kind) => {
            alerts(
                "warning",
                format!(
                    "{} order {ext}: a refund notice of an unknown kind `{kind}`; the order was not changed: check it on the platform's console",
                    platform.label()
                ),
                local_id(store, platform, &ext).await?,
            );
            Ok(())
        }
    }
}

/// The platform answered a manager's decision: `Ok` it took it (the request is settled and its
/// effect happens now, once), `Err` it refused it (decided already, by itself or on its
/// console): the request is closed as failed and a person is told.
pub async fn decision_answered(
    store: &Store,
    alerts: &Alerts,
    d: &crate::store::payload::DecisionPayload,
    answer: Result<(), String>,
) -> Result<(), StoreError> {
    match answer {
        Ok(()) => {
            let state = if d.agree {
                RequestState::Agreed
            } else {
                RequestState::Rejected
            };
            // A push may have settled it first, and done what it asked; a granted partial
            // refund is taken off the order by the store as it records it.
            let closed = store.close_request(d.request_id, state, None).await?;
            if closed.is_some() && d.agree && d.kind.cancels() {
                let reason = match d.kind {
                    RequestKind::Cancel => {
                        "顾客申请取消（已同意） customer's cancel agreed".to_string()
                    }
                    _ => format!("顾客退款（已同意） refund agreed by {}", d.decided_by),
                };
                cancelled_by_platform(store, d.platform, &d.external_id, &reason).await?;
            }
            Ok(())
        }
        Err(why) => {
            let r = store
                .close_request(d.request_id, RequestState::Failed, Some(why.clone()))
                .await?;
            alerts(
                "error",
                format!(
                    "{} refused the store's decision on order {} ({}): {why}; see the order on the platform's console",
                    d.platform.label(),
                    d.external_id,
                    d.kind.as_str().replace('_', " ")
                ),
                r.and_then(|r| r.order_id),
            );
            Ok(())
        }
    }
}

/// A rider push: kept when it is news; the screens are told through the order's change.
pub async fn rider(
    store: &Store,
    platform: Platform,
    external_id: &str,
    rider: crate::model::rider::Rider,
) -> Result<(), StoreError> {
    store
        .set_rider(platform, external_id, rider)
        .await
        .map(|_| ())
}

/// A JD customer asks to cancel (`applyCancelOrder`): a decision for a manager.
pub async fn cancel_requested(
    store: &Store,
    platform: Platform,
    external_id: &str,
    reason: &str,
    decide_within_ms: i64,
) -> Result<(), StoreError> {
    let asked = NewRequest {
        platform,
        external_id: external_id.to_string(),
        kind: RequestKind::Cancel,
        refund_id: String::new(),
        items: vec![],
        reason: reason.to_string(),
    };
    store
        .open_request(asked, decide_within_ms)
        .await
        .map(|_| ())
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

/// A JD after-sale bill (退货 / 退款 售后单: `newApplyAfterSaleBill`, `newAfterSaleBill`,
/// `updateApplyAfterSaleBill`, `afterSaleBillStatus`). Their fields and JD's approval call
/// (`afs/afsOpenApprove`) are not documented here, so flashpick does not guess: a manager is told
/// once per bill and status to decide it on the JD merchant app. Goods that come back are booked
/// by a receive.
pub async fn jd_after_sale(
    store: &Store,
    alerts: &Alerts,
    message: &str,
    bill: &str,
    status: &str,
) -> Result<(), StoreError> {
    let key = format!("afs:{bill}:{message}:{status}");
    let lookup = key.clone();
    if store
        .read_async(move |c| store::sync_state(c, &lookup))
        .await?
        .is_some()
    {
        return Ok(());
    }
    store
        .set_sync_state(&key, &store.clock().now().0.to_string())
        .await?;
    tracing::warn!(
        bill,
        push = message,
        status,
        "a JD after-sale bill: left to the JD merchant app"
    );
    alerts(
        "warning",
        format!(
            "JD after-sale bill {bill} ({message}{}): flashpick does not read JD's after-sale bills; a manager decides it on the JD merchant app (goods that come back: r on the stock screen)",
            if status.is_empty() {
                String::new()
            } else {
                format!(", status {status}")
            }
        ),
        None,
    );
    Ok(())
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
