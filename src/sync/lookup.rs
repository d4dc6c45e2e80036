//! The worker's side of [`super::look`]: for an action a platform is not known to dedupe, look
//! at the platform before each send. The first look notes what the platform shows; a row marked
//! sent whose answer never came (a timeout, a cut connection, a 5xx, a crash mid-send) is looked
//! up and only sent again if its effect is not there. A look that fails keeps the row waiting
//! and is tried again — never the action.

use super::channel::Channel;
use super::intake::Alerts;
use super::look::{self, Seen};
use super::worker::{ids, retry};
use super::{Action, Kind, Verdict};
use crate::model::Timestamp;
use crate::store::payload::PlatformPayload;
use crate::store::{OutboxRow, Settle, Store, StoreError};
use std::hash::RandomState;

/// What the look decided.
pub(super) enum Next {
    /// Send the action now (the row is marked as sent first).
    Send,
    /// Nothing to send this round: the row was settled, parked, or waits for the next look.
    Handled,
}

/// Looks at the platform for `row`'s effect when `action` needs it; marks the row before a send.
pub(super) async fn before_send(
    channel: &Channel,
    store: &Store,
    alerts: &Alerts,
    row: &OutboxRow,
    action: &Action,
    jitter: &RandomState,
) -> Result<Next, StoreError> {
    let Some(look) = channel.adapter.look(action, Timestamp::now()) else {
        return Ok(Next::Send);
    };
    let (call, asked) = match look {
        Ok(l) => l,
        Err(reason) => {
            park_unclear(channel, store, alerts, row, reason).await?;
            return Ok(Next::Handled);
        }
    };
    // A platform may still be making a change the store gave up waiting for: look only once
    // it has had time to finish, or the look could miss it and the refund go twice.
    if let Some(sent) = row.sent_at {
        let due = sent.0 + channel.config.look_after_secs as i64 * 1000;
        if store.clock().now().0 < due {
            let settle = Settle::Retry {
                next_at: Timestamp(due),
                error: format!(
                    "the answer was lost: looking for the change {} s after it was sent",
                    channel.config.look_after_secs
                ),
            };
            store
                .settle_outbox(ids(std::slice::from_ref(row)), settle)
                .await?;
            return Ok(Next::Handled);
        }
    }
    let seen = match channel.send(&call, Kind::Query).await {
        (Verdict::Done, Some(data)) => look::counts(&data),
        // Refused for good (the order cancelled or completed, the token, the signature): no
        // look will tell, so a person decides.
        (Verdict::Permanent(why) | Verdict::Refused(why), _) => {
            let why = format!("the platform refused the look ({why})");
            park_unclear(channel, store, alerts, row, why).await?;
            return Ok(Next::Handled);
        }
        (Verdict::Done, None) => {
            let why = "the platform answered the look without the refundable items".to_string();
            park_unclear(channel, store, alerts, row, why).await?;
            return Ok(Next::Handled);
        }
        (v, _) => Err(format!("{v:?}")),
    };
    let now = match seen {
        Ok(now) => now,
        Err(why) => {
            let what = if row.sent_at.is_some() {
                "looking for a change whose answer was lost"
            } else {
                "looking before sending a change the platform may not dedupe"
            };
            retry(
                channel,
                store,
                std::slice::from_ref(row),
                format!("{what}: {why}"),
                jitter,
            )
            .await?;
            return Ok(Next::Handled);
        }
    };
    if row.sent_at.is_some() {
        let Some(before) = row.look.as_ref().and_then(look::from_value) else {
            let why = "sent without a note of what the platform showed before".to_string();
            park_unclear(channel, store, alerts, row, why).await?;
            return Ok(Next::Handled);
        };
        match look::compare(&asked, &before, &now) {
            // A customer's own refund of this order could have made the same fall: the counts
            // cannot tell the two apart, so a person decides.
            Seen::There if customer_refunded(store, channel, row).await? => {
                let why = "the refundable counts fell by this refund, but a customer's refund of the same order is known too: the counts cannot tell them apart".to_string();
                park_unclear(channel, store, alerts, row, why).await?;
                return Ok(Next::Handled);
            }
            Seen::There => {
                tracing::info!(platform = %channel.platform, row = row.id, "a change whose answer was lost is at the platform: not sent again");
                store
                    .settle_outbox(ids(std::slice::from_ref(row)), Settle::Done)
                    .await?;
                return Ok(Next::Handled);
            }
            Seen::NotThere => {
                tracing::info!(platform = %channel.platform, row = row.id, "a change whose answer was lost is not at the platform: sent again");
            }
            Seen::Unclear(why) => {
                park_unclear(channel, store, alerts, row, why).await?;
                return Ok(Next::Handled);
            }
        }
    }
    store.mark_sending(row.id, look::to_value(&now)).await?;
    Ok(Next::Send)
}

/// Whether a customer's partial refund of the row's order is known here (asked or granted).
async fn customer_refunded(
    store: &Store,
    channel: &Channel,
    row: &OutboxRow,
) -> Result<bool, StoreError> {
    let Some(order) = PlatformPayload::read(&row.payload)
        .ok()
        .and_then(|p| p.external_id().map(str::to_string))
    else {
        return Ok(false);
    };
    let platform = channel.platform;
    let requests = store
        .read_async(move |c| crate::store::requests::requests_of(c, platform, &order))
        .await?;
    Ok(requests.iter().any(|r| {
        r.asked.kind == crate::model::request::RequestKind::PartRefund
            && !matches!(
                r.state,
                crate::model::request::RequestState::Rejected
                    | crate::model::request::RequestState::Withdrawn
            )
    }))
}

/// Parked with the reason, and a manager told what to do: nobody can tell from here whether the
/// money moved, so nobody guesses.
async fn park_unclear(
    channel: &Channel,
    store: &Store,
    alerts: &Alerts,
    row: &OutboxRow,
    why: String,
) -> Result<(), StoreError> {
    let order = PlatformPayload::read(&row.payload)
        .ok()
        .and_then(|p| p.external_id().map(str::to_string))
        .unwrap_or_default();
    let reason = format!(
        "cannot tell whether the refund reached {}: {why}",
        channel.platform
    );
    tracing::warn!(platform = %channel.platform, row = row.id, "{reason}");
    store
        .settle_outbox(
            ids(std::slice::from_ref(row)),
            Settle::Park {
                reason: reason.clone(),
            },
        )
        .await?;
    let order_id = match PlatformPayload::read(&row.payload) {
        Ok(PlatformPayload::Report(r)) => Some(r.order_id),
        _ => None,
    };
    alerts(
        "error",
        format!(
            "order {order}: {reason}. Check the refund on the {} console, then `flashpick outbox resolve {} --done` if it is there or `--resend` if not (or O on the pick-and-pack screen)",
            channel.platform, row.id
        ),
        order_id,
    );
    Ok(())
}
