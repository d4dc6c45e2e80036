//! A customer collecting a packed order (自提) with their code. Meituan's code is the order's day
//! number, checked here; JD's is checked with JD at the counter (`ocs/checkSelfPickCode`), and
//! when JD cannot be reached the hand-over waits — unless a manager hands over without the check,
//! which is logged and told to every screen.

use super::dispatch::{Ctx, bad_request};
use super::orders::view;
use crate::api::{ApiError, Event, OrderReply};
use crate::model::{Delivery, Order, OrderEvent, OrderId, OrderState, Platform};
use crate::store;
use crate::sync::{Action, Verdict};

fn refused(message: String) -> ApiError {
    ApiError {
        code: "refused".into(),
        message,
    }
}

/// Hands the order over when the customer's code is right.
pub(super) async fn hand_over(
    cx: &Ctx<'_>,
    order_id: Option<i64>,
    platform: Platform,
    code: String,
    unchecked: bool,
) -> Result<OrderReply, ApiError> {
    let code = code.trim().trim_start_matches('#').to_string();
    if code.is_empty() || code.len() > 32 {
        return Err(bad_request("the pickup code is 1 to 32 characters"));
    }
    let order = find(cx, order_id, platform, &code).await?;
    if order.platform != platform {
        return Err(refused(format!(
            "order #{} is a {} order, not {}: check the code's platform",
            order.day_seq,
            order.platform.label(),
            platform.label()
        )));
    }
    if order.delivery != Some(Delivery::Pickup) {
        return Err(refused(format!(
            "order #{} goes with a rider, not to a customer at the counter: hand it to the rider",
            order.day_seq
        )));
    }
    if order.state != OrderState::Packed {
        return Err(refused(format!(
            "order #{} is {}, not packed: pack it first",
            order.day_seq,
            order.state.as_str()
        )));
    }
    match platform {
        Platform::Jddj if unchecked => override_check(cx, &order)?,
        Platform::Jddj => jd_check(cx, &order, &code).await?,
        _ if order.pickup_code.as_deref() == Some(code.as_str()) => {}
        _ => {
            return Err(refused(format!(
                "wrong pickup code for order #{}: ask the customer for the code in their app",
                order.day_seq
            )));
        }
    }
    let applied = cx
        .shared
        .store
        .apply(order.id, OrderEvent::HandOver, cx.actor, None)
        .await
        .map_err(|e| cx.err(e))?;
    view(cx, applied.order).await
}

/// The order named, or Meituan's packed pickup order with that day number.
async fn find(
    cx: &Ctx<'_>,
    order_id: Option<i64>,
    platform: Platform,
    code: &str,
) -> Result<Order, ApiError> {
    let code_owned = code.to_string();
    let found = cx
        .shared
        .store
        .read_async(move |c| match order_id {
            Some(id) => store::load_order(c, OrderId(id)),
            None => Ok(store::list_orders(c, true, 5_000)?.into_iter().find(|o| {
                o.platform == platform
                    && o.state == OrderState::Packed
                    && o.pickup_code.as_deref() == Some(code_owned.as_str())
            })),
        })
        .await
        .map_err(|e| cx.err(e))?;
    found.ok_or_else(|| match order_id {
        Some(id) => ApiError {
            code: "not_found".into(),
            message: format!("no order {id}"),
        },
        None if platform == Platform::Jddj => bad_request(
            "a JD pickup code is checked with JD for one order: open the order first (its order_id)",
        ),
        None => ApiError {
            code: "not_found".into(),
            message: format!(
                "no packed {} order for pickup with code {code}: check the code and the platform",
                platform.label()
            ),
        },
    })
}

/// JD checks the code; an unreachable JD keeps the order until it answers or a manager decides.
async fn jd_check(cx: &Ctx<'_>, order: &Order, code: &str) -> Result<(), ApiError> {
    let Some(channel) = cx
        .shared
        .channels
        .iter()
        .find(|c| c.platform == Platform::Jddj)
    else {
        return Err(refused(
            "JD Daojia is not enabled here, so its pickup code cannot be checked".into(),
        ));
    };
    let action = Action::CheckPickupCode {
        order: order.external_id.clone(),
        code: code.to_string(),
    };
    let call = channel
        .adapter
        .action(&action, crate::model::Timestamp::now())
        .map_err(refused)?;
    match channel.send(&call, action.kind()).await.0 {
        Verdict::Done => Ok(()),
        Verdict::Permanent(why) | Verdict::Refused(why) => Err(refused(format!(
            "JD refused the pickup code for order #{}: {why}; ask the customer for the code in their app",
            order.day_seq
        ))),
        Verdict::Retry(why) | Verdict::RateLimited(why) => Err(ApiError {
            code: "unavailable".into(),
            message: format!(
                "JD cannot check the pickup code now ({why}): try again, or a manager hands order #{} over without the check (logged)",
                order.day_seq
            ),
        }),
    }
}

/// A manager hands over without JD's check: logged and told to every screen.
fn override_check(cx: &Ctx<'_>, order: &Order) -> Result<(), ApiError> {
    if !cx
        .shared
        .config
        .staff
        .managers
        .iter()
        .any(|m| m == cx.actor)
    {
        return Err(refused(format!(
            "only a manager hands over without JD's code check, and `{}` is not one ([staff] managers)",
            cx.actor
        )));
    }
    let message = format!(
        "order #{} (JD Daojia {}) handed over without JD's pickup code check, by {}",
        order.day_seq, order.external_id, cx.actor
    );
    tracing::warn!(order = order.id.0, by = cx.actor, "{message}");
    let _ = cx.shared.events.send(Event::Alert {
        level: "warning".into(),
        message,
        order_id: Some(order.id.0),
    });
    Ok(())
}
