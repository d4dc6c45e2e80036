//! The store open (营业) or closed (休息) at each platform: one wanted state per platform, queued
//! for the platform as a coalesced row (only the newest state goes: a close that waited out an
//! outage is never replayed after a later open), and the state the platform last confirmed
//! (by answering the store, or by its own push when a manager used the merchant app).

use super::payload::{HqPayload, PlatformPayload, StoreOpenPayload, StoreStatePayload};
use super::write::emit::{hq_row, platform_row};
use super::{StoreError, StoreEvent};
pub use crate::model::capacity::OpenState;
use crate::model::{Platform, Timestamp};
use rusqlite::{Connection, Transaction, params};

/// Every platform's state the store has set or heard of.
pub fn open_states(conn: &Connection) -> Result<Vec<OpenState>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT platform, want_open, reason, set_by, automatic, until, set_at, confirmed
         FROM platform_open ORDER BY platform",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(OpenState {
            platform: r.get::<_, String>(0)?.parse().unwrap_or(Platform::Meituan),
            want_open: r.get(1)?,
            reason: r.get(2)?,
            set_by: r.get(3)?,
            automatic: r.get(4)?,
            until: r.get::<_, Option<i64>>(5)?.map(Timestamp),
            set_at: Timestamp(r.get(6)?),
            confirmed: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Platforms closed with a time to reopen that has come.
pub fn due_reopens(conn: &Connection, now: Timestamp) -> Result<Vec<Platform>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT platform FROM platform_open WHERE want_open = 0 AND until IS NOT NULL AND until <= ?1",
    )?;
    let rows = stmt.query_map([now.0], |r| r.get::<_, String>(0))?;
    Ok(rows
        .filter_map(|p| p.ok().and_then(|p| p.parse().ok()))
        .collect())
}

/// What the store wants at a platform, and the row that tells it, in one transaction.
#[allow(clippy::too_many_arguments)]
pub(super) fn set_open(
    tx: &Transaction<'_>,
    platform: Platform,
    open: bool,
    reason: &str,
    by: &str,
    automatic: bool,
    until: Option<Timestamp>,
    hq: bool,
    now: Timestamp,
) -> Result<(OpenState, Vec<StoreEvent>), StoreError> {
    let want = Want {
        open,
        reason,
        by,
        automatic,
        until,
    };
    want.write(tx, platform, now)?;
    let payload = PlatformPayload::StoreOpen(StoreOpenPayload {
        v: 1,
        platform,
        open,
        reason: reason.to_string(),
        at: now.0,
        event_id: String::new(),
    });
    platform_row(tx, platform, Some(&open_key(platform)), &payload, now)?;
    // HQ hears of every change, automatic closes above all.
    if hq {
        want.tell_hq(tx, platform, now)?;
    }
    Ok((
        state(tx, platform)?.expect("just written"),
        vec![StoreEvent::OutboxChanged],
    ))
}

/// Who set a state in the platform's own app (a push the store did not cause).
pub const MERCHANT_APP: &str = "merchant app";

/// The platform confirmed a state: its answer to the store's call, or (`pushed`) its own push.
/// A push that differs from what the store wants while no change of the store's is on its way
/// was made in the merchant app: that is what the store wants now, a person's, and HQ hears
/// of it. Every change of the confirmed state is logged: the day's closed minutes are the time
/// a platform had the store closed.
pub(super) fn confirmed(
    tx: &Transaction<'_>,
    platform: Platform,
    open: bool,
    pushed: bool,
    hq: bool,
    now: Timestamp,
) -> Result<(Option<OpenState>, Vec<StoreEvent>), StoreError> {
    let before = state(tx, platform)?;
    let on_its_way = tx
        .prepare_cached("SELECT 1 FROM outbox WHERE coalesce_key = ?1 AND state = 'pending'")?
        .exists([open_key(platform)])?;
    let adopt = pushed && !on_its_way && before.as_ref().is_none_or(|b| b.want_open != open);
    let mut events = Vec::new();
    if adopt {
        let reason = if open {
            "opened in the merchant app"
        } else {
            "closed in the merchant app"
        };
        let want = Want {
            open,
            reason,
            by: MERCHANT_APP,
            automatic: false,
            until: None,
        };
        want.write(tx, platform, now)?;
        if hq {
            want.tell_hq(tx, platform, now)?;
            events.push(StoreEvent::OutboxChanged);
        }
    }
    tx.prepare_cached(
        "UPDATE platform_open SET confirmed = ?2, confirmed_at = ?3 WHERE platform = ?1",
    )?
    .execute(params![platform.as_str(), open, now.0])?;
    let after = state(tx, platform)?;
    if before.as_ref().and_then(|b| b.confirmed) != Some(open)
        && let Some(a) = &after
    {
        // Automatic when the store itself wanted this state (the load, a timer).
        let automatic = a.want_open == open && a.automatic;
        tx.prepare_cached(
            "INSERT INTO platform_open_log (platform, open, automatic, set_by, reason, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            platform.as_str(),
            open,
            automatic,
            a.set_by,
            a.reason,
            now.0
        ])?;
    }
    Ok((after, events))
}

/// The outbox's coalescing key of a platform's wanted state: one row, the newest.
fn open_key(platform: Platform) -> String {
    format!("open:{}", platform.as_str())
}

/// What the store wants at a platform, who set it and why.
struct Want<'a> {
    open: bool,
    reason: &'a str,
    by: &'a str,
    automatic: bool,
    until: Option<Timestamp>,
}

impl Want<'_> {
    /// Records it as the platform's wanted state.
    fn write(
        &self,
        tx: &Transaction<'_>,
        platform: Platform,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        tx.prepare_cached(
            "INSERT INTO platform_open (platform, want_open, reason, set_by, automatic, until, set_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (platform) DO UPDATE SET want_open = excluded.want_open,
                 reason = excluded.reason, set_by = excluded.set_by,
                 automatic = excluded.automatic, until = excluded.until,
                 set_at = excluded.set_at",
        )?
        .execute(params![
            platform.as_str(),
            self.open,
            self.reason,
            self.by,
            self.automatic,
            self.until.map(|t| t.0),
            now.0
        ])?;
        Ok(())
    }

    /// Queues the contract's `store_state` event for HQ.
    fn tell_hq(
        &self,
        tx: &Transaction<'_>,
        platform: Platform,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let event_id = crate::model::EventId::new();
        let event = HqPayload::StoreState(StoreStatePayload {
            v: 1,
            platform,
            open: self.open,
            automatic: self.automatic,
            reason: self.reason.to_string(),
            by: self.by.to_string(),
            until: self.until.map(|t| t.0),
            at: now.0,
            event_id: event_id.0.clone(),
        });
        hq_row(tx, &event_id, &event, now)
    }
}

fn state(conn: &Connection, platform: Platform) -> Result<Option<OpenState>, StoreError> {
    Ok(open_states(conn)?
        .into_iter()
        .find(|s| s.platform == platform))
}
