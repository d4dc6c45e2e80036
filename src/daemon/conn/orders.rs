//! Requests about orders: lists, one order, its transitions, claims, scans.

use super::dispatch::{Ctx, bad_request};
use crate::api::{ApiError, OrderReply, OrdersReply, ScanReply};
use crate::daemon::views::{load_view, order_view, order_views};
use crate::model::{OrderEvent, OrderId};
use crate::store;

/// The open orders, or the latest 500 of all.
pub(super) async fn list(cx: &Ctx<'_>, all: bool) -> Result<OrdersReply, ApiError> {
    let (sla, now) = (cx.shared.config.sla, cx.now);
    let orders = cx
        .shared
        .store
        .read_async(move |c| order_views(c, store::list_orders(c, !all, 500)?, &sla, now))
        .await
        .map_err(|e| cx.err(e))?;
    Ok(OrdersReply { orders })
}

/// One order.
pub(super) async fn get(cx: &Ctx<'_>, id: i64) -> Result<OrderReply, ApiError> {
    let (sla, now) = (cx.shared.config.sla, cx.now);
    let order = cx
        .shared
        .store
        .read_async(move |c| load_view(c, OrderId(id), &sla, now))
        .await
        .map_err(|e| cx.err(e))?;
    seen(cx, &order.order).await;
    Ok(OrderReply { order })
}

/// A chased order was opened: its reminder is answered (on every screen). A failure to record
/// it leaves the reminder standing, which is the safe side.
async fn seen(cx: &Ctx<'_>, order: &crate::model::Order) {
    if order.reminded_at.is_some()
        && let Err(e) = cx.shared.store.reminder_seen(order.id).await
    {
        tracing::warn!(order = order.id.0, error = %e, "could not record that a reminder was seen");
    }
}

/// Applies `event` to order `id` as the connection's actor; answers the order as committed.
pub(super) async fn apply(
    cx: &Ctx<'_>,
    id: i64,
    event: OrderEvent,
) -> Result<OrderReply, ApiError> {
    let applied = cx
        .shared
        .store
        .apply_at(OrderId(id), event, cx.actor, cx.station.map(str::to_string))
        .await
        .map_err(|e| cx.err(e))?;
    view(cx, applied.order).await
}

/// Hands an order to its rider. An order the customer collects goes only with the customer's
/// code (`hand_over_pickup`): a plain hand-over would skip the platform's check.
pub(super) async fn hand_over(
    cx: &Ctx<'_>,
    id: i64,
    code: Option<String>,
) -> Result<OrderReply, ApiError> {
    let order = cx
        .shared
        .store
        .read_async(move |c| crate::store::load_order(c, OrderId(id)))
        .await
        .map_err(|e| cx.err(e))?;
    if let Some(why) = order.as_ref().and_then(pickup_needs_code) {
        return Err(ApiError {
            code: "refused".into(),
            message: why,
        });
    }
    if let (Some(o), Some(code)) = (&order, code.as_deref())
        && !names_order(o, code.trim(), &cx.shared.rules)
    {
        return Err(ApiError {
            code: "refused".into(),
            message: format!(
                "{} is not order #{}'s label or number: check the bag in hand, nothing was handed over",
                code.trim(),
                o.day_seq
            ),
        });
    }
    apply(cx, id, OrderEvent::HandOver).await
}

/// Whether a code scanned at the pack screen names this order: its label (`<order prefix><id>`,
/// read by the same rules as a packing station's serial scanner), its id at the platform, or its
/// day number (`#23` or `23`).
pub(crate) fn names_order(
    o: &crate::model::Order,
    code: &str,
    rules: &crate::model::barcode::DecodeRules,
) -> bool {
    rules.order_label(code) == Some(o.id.0)
        || o.external_id == code
        || code.trim_start_matches('#') == o.day_seq.to_string()
}

/// Why an order cannot be handed over without the customer's code, if it cannot.
pub(crate) fn pickup_needs_code(o: &crate::model::Order) -> Option<String> {
    (o.delivery == Some(crate::model::Delivery::Pickup)).then(|| {
        format!(
            "order #{} is collected by the customer: hand it over with their pickup code (g on the queue, h on the pack screen)",
            o.day_seq
        )
    })
}

/// `picker` claims order `id`, or takes it over from another picker (logged as a transfer).
pub(super) async fn claim(
    cx: &Ctx<'_>,
    id: i64,
    picker: String,
    take_over: bool,
) -> Result<OrderReply, ApiError> {
    if picker.trim().is_empty() {
        return Err(bad_request("picker must not be empty"));
    }
    if !take_over {
        // The history records who claimed, for whom is the order's picker.
        let reply = apply(cx, id, OrderEvent::Claim { picker }).await?;
        seen(cx, &reply.order.order).await;
        return Ok(reply);
    }
    let applied = cx
        .shared
        .store
        .take_over(
            OrderId(id),
            &picker,
            cx.actor,
            cx.station.map(str::to_string),
        )
        .await
        .map_err(|e| cx.err(e))?;
    view(cx, applied.order).await
}

/// A scan typed or wedged at a screen into order `id`.
pub(super) async fn scan(
    cx: &Ctx<'_>,
    id: i64,
    code: String,
    scanner: Option<String>,
) -> Result<ScanReply, ApiError> {
    crate::daemon::scanning::scan_into(cx.shared, OrderId(id), code, scanner, cx.actor.into())
        .await
        .map_err(|e| cx.err(e))
}

pub(super) async fn view(cx: &Ctx<'_>, order: crate::model::Order) -> Result<OrderReply, ApiError> {
    let (sla, now) = (cx.shared.config.sla, cx.now);
    let order = cx
        .shared
        .store
        .read_async(move |c| order_view(c, order, &sla, now))
        .await
        .map_err(|e| cx.err(e))?;
    Ok(OrderReply { order })
}

/// Prints an order's document again, asked for by the connection's actor.
pub(super) async fn reprint(
    cx: &Ctx<'_>,
    id: i64,
    document: crate::model::document::Document,
    printer: Option<String>,
) -> Result<crate::api::PrintingReply, ApiError> {
    let (jobs, printers, day_seq) = cx
        .shared
        .store
        .reprint(
            OrderId(id),
            document,
            printer,
            cx.station.map(str::to_string),
            cx.actor.to_string(),
        )
        .await
        .map_err(|e| cx.err(e))?;
    tracing::info!(
        order = id,
        document = document.as_str(),
        ?printers,
        actor = cx.actor,
        "reprint asked"
    );
    Ok(crate::api::PrintingReply {
        jobs,
        printers,
        day_seq,
    })
}

/// `picker` claims a batch (`[picking] batch_*`); its orders, most urgent first.
pub(super) async fn claim_batch(cx: &Ctx<'_>, picker: String) -> Result<OrdersReply, ApiError> {
    if picker.trim().is_empty() {
        return Err(bad_request("picker must not be empty"));
    }
    let claimed = cx
        .shared
        .store
        .claim_batch(&picker, cx.actor, cx.station.map(str::to_string))
        .await
        .map_err(|e| cx.err(e))?;
    views(cx, claimed).await
}

/// Releases the batch `id` is in (or `id` alone); the orders released.
pub(super) async fn release_batch(cx: &Ctx<'_>, id: i64) -> Result<OrdersReply, ApiError> {
    let released = cx
        .shared
        .store
        .release_batch(OrderId(id), cx.actor)
        .await
        .map_err(|e| cx.err(e))?;
    views(cx, released).await
}

async fn views(cx: &Ctx<'_>, applied: Vec<store::Applied>) -> Result<OrdersReply, ApiError> {
    let (sla, now) = (cx.shared.config.sla, cx.now);
    let orders = applied.into_iter().map(|a| a.order).collect();
    let orders = cx
        .shared
        .store
        .read_async(move |c| order_views(c, orders, &sla, now))
        .await
        .map_err(|e| cx.err(e))?;
    Ok(OrdersReply { orders })
}
