//! Customers' requests the store decides (refunds, cancels): opened by the platform's push,
//! decided by a manager (the decision queued for the platform in the same transaction, so it goes
//! out exactly once), settled by the platform's answer or push.

use super::StoreOptions;
use super::payload::{DecisionPayload, PlatformPayload};
use super::{StoreError, StoreEvent};
use crate::model::request::{CustomerRequest, NewRequest, RequestItem, RequestKind, RequestState};
use crate::model::{
    EventId, OrderEvent, OrderId, Platform, RefundLine, Timestamp, TransitionError,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

const COLUMNS: &str = "id, platform, external_id, kind, refund_id, items, reason, state, \
    opened_at, decide_by, decided_by, decision_reason";

fn from_row(conn: &Connection, r: &Row<'_>) -> rusqlite::Result<CustomerRequest> {
    let text = |i: usize| r.get::<_, String>(i);
    let platform = text(1)?.parse().unwrap_or(Platform::Meituan);
    let external_id = text(2)?;
    let items: Vec<RequestItem> = serde_json::from_str(&text(5)?).unwrap_or_default();
    let order_id = super::read::order_id_by_external(conn, platform, &external_id)
        .ok()
        .flatten()
        .map(|i| i.0);
    Ok(CustomerRequest {
        id: r.get(0)?,
        order_id,
        asked: NewRequest {
            platform,
            external_id,
            kind: RequestKind::parse(&text(3)?).unwrap_or(RequestKind::FullRefund),
            refund_id: text(4)?,
            items,
            reason: text(6)?,
        },
        state: RequestState::parse(&text(7)?).unwrap_or(RequestState::Failed),
        opened_at: Timestamp(r.get(8)?),
        decide_by: Timestamp(r.get(9)?),
        decided_by: r.get(10)?,
        decision_reason: r.get(11)?,
    })
}

/// One request.
pub fn request(conn: &Connection, id: i64) -> Result<Option<CustomerRequest>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM customer_request WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![id], |r| from_row(conn, r))
        .optional()?)
}

/// Requests still waiting for the store or the platform, oldest first.
pub fn live_requests(conn: &Connection) -> Result<Vec<CustomerRequest>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM customer_request
         WHERE state IN ('open', 'agreeing', 'rejecting') ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| from_row(conn, r))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every request about one order, oldest first.
pub fn requests_of(
    conn: &Connection,
    platform: Platform,
    external_id: &str,
) -> Result<Vec<CustomerRequest>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM customer_request WHERE platform = ?1 AND external_id = ?2 ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![platform.as_str(), external_id], |r| {
        from_row(conn, r)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn live(
    tx: &Transaction<'_>,
    platform: Platform,
    external_id: &str,
    kind: RequestKind,
    refund_id: &str,
) -> Result<Option<CustomerRequest>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM customer_request WHERE platform = ?1 AND external_id = ?2
         AND kind = ?3 AND refund_id = ?4 AND state IN ('open', 'agreeing', 'rejecting')"
    );
    Ok(tx
        .prepare_cached(&sql)?
        .query_row(
            params![platform.as_str(), external_id, kind.as_str(), refund_id],
            |r| from_row(tx, r),
        )
        .optional()?)
}

fn changed(tx: &Transaction<'_>, id: i64) -> Result<(CustomerRequest, StoreEvent), StoreError> {
    let r = request(tx, id)?.ok_or(StoreError::NoSuchRequest(id))?;
    let event = StoreEvent::RequestChanged { request: r.clone() };
    Ok((r, event))
}

/// A request as the platform opened it. A repeat of one still live is no news (`None`).
pub(super) fn open(
    tx: &Transaction<'_>,
    asked: &NewRequest,
    decide_within_ms: i64,
    now: Timestamp,
) -> Result<(Option<CustomerRequest>, Vec<StoreEvent>), StoreError> {
    if live(
        tx,
        asked.platform,
        &asked.external_id,
        asked.kind,
        &asked.refund_id,
    )?
    .is_some()
    {
        return Ok((None, vec![]));
    }
    let items = serde_json::to_string(&asked.items).expect("items serialise");
    tx.prepare_cached(
        "INSERT INTO customer_request (platform, external_id, kind, refund_id, items, reason,
             state, opened_at, decide_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8)",
    )?
    .execute(params![
        asked.platform.as_str(),
        asked.external_id,
        asked.kind.as_str(),
        asked.refund_id,
        items,
        asked.reason,
        now.0,
        now.0.saturating_add(decide_within_ms),
    ])?;
    let (r, event) = changed(tx, tx.last_insert_rowid())?;
    Ok((Some(r), vec![event]))
}

/// A manager's decision: checked, recorded, and queued for the platform in one transaction.
pub(super) fn decide(
    tx: &Transaction<'_>,
    id: i64,
    agree: bool,
    reason: &str,
    by: &str,
    now: Timestamp,
) -> Result<(CustomerRequest, Vec<StoreEvent>), StoreError> {
    let r = request(tx, id)?.ok_or(StoreError::NoSuchRequest(id))?;
    let next = r.decide(agree, reason)?;
    tx.prepare_cached(
        "UPDATE customer_request SET state = ?2, decided_by = ?3, decision_reason = ?4
         WHERE id = ?1",
    )?
    .execute(params![id, next.as_str(), by, reason])?;
    let payload = PlatformPayload::Decision(DecisionPayload {
        v: 1,
        request_id: id,
        platform: r.asked.platform,
        external_id: r.asked.external_id.clone(),
        kind: r.asked.kind,
        refund_id: r.asked.refund_id.clone(),
        agree,
        reason: reason.to_string(),
        decided_by: by.to_string(),
        at: now.0,
        event_id: EventId::new().0,
    });
    super::write::platform_row(tx, r.asked.platform, None, &payload, now)?;
    let (r, event) = changed(tx, id)?;
    Ok((r, vec![event, StoreEvent::OutboxChanged]))
}

/// The platform settled the live request of this kind (and refund id) on an order: by a push, or
/// by answering the store's decision. `None` when no request was live (a push repeated, or a
/// platform's decision nobody here asked for).
pub(super) fn settle(
    tx: &Transaction<'_>,
    o: &StoreOptions,
    platform: Platform,
    external_id: &str,
    kind: RequestKind,
    refund_id: &str,
    state: RequestState,
) -> Result<(Option<CustomerRequest>, Vec<StoreEvent>), StoreError> {
    let Some(r) = live(tx, platform, external_id, kind, refund_id)? else {
        return Ok((None, vec![]));
    };
    close(tx, o, r.id, state, None, o.clock.now())
}

/// Closes a request by id (the platform answered the decision, or refused it).
pub(super) fn close(
    tx: &Transaction<'_>,
    o: &StoreOptions,
    id: i64,
    state: RequestState,
    note: Option<&str>,
    now: Timestamp,
) -> Result<(Option<CustomerRequest>, Vec<StoreEvent>), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE customer_request SET state = ?2, closed_at = ?3,
                 decision_reason = COALESCE(?4, decision_reason)
             WHERE id = ?1 AND state IN ('open', 'agreeing', 'rejecting')",
        )?
        .execute(params![id, state.as_str(), now.0, note])?;
    if n == 0 {
        return Ok((None, vec![]));
    }
    let (r, event) = changed(tx, id)?;
    let mut events = vec![event];
    if state == RequestState::Agreed && r.asked.kind == RequestKind::PartRefund {
        events.extend(take_off(tx, o, &r, now)?);
    }
    Ok((Some(r), events))
}

/// A granted partial refund takes its units off the order, once (`applied_at`), in the
/// transaction that records it granted. Items are matched to lines by code (the sku or the
/// platform's merchant code), then name; weighed lines count in portions of `unit_g`. What does
/// not match is left for a person (the alert names it); more than a line holds is cut to it.
fn take_off(
    tx: &Transaction<'_>,
    o: &StoreOptions,
    r: &CustomerRequest,
    now: Timestamp,
) -> Result<Vec<StoreEvent>, StoreError> {
    let done = tx
        .prepare_cached(
            "UPDATE customer_request SET applied_at = ?2 WHERE id = ?1 AND applied_at IS NULL",
        )?
        .execute(params![r.id, now.0])?;
    let Some(order) = r.order_id.filter(|_| done == 1) else {
        return Ok(vec![]);
    };
    let mut stmt = tx.prepare_cached(
        "SELECT line_no, sku, merchant_code, name, unit_g, qty - refunded FROM order_line
         WHERE order_id = ?1",
    )?;
    type Line = (u32, String, Option<String>, String, Option<i64>, i64);
    let lines: Vec<Line> = stmt
        .query_map([order], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut refund = Vec::new();
    for item in r.asked.items.iter().filter(|i| i.count > 0) {
        let by_code = |l: &&Line| {
            item.code
                .as_deref()
                .is_some_and(|c| c == l.1 || l.2.as_deref() == Some(c))
        };
        let by_name = |l: &&Line| !item.name.is_empty() && item.name == l.3;
        let Some(l) = lines
            .iter()
            .find(by_code)
            .or_else(|| lines.iter().find(by_name))
        else {
            continue;
        };
        let qty = item
            .count
            .saturating_mul(l.4.filter(|g| *g > 0).unwrap_or(1));
        let already: i64 = refund
            .iter()
            .filter(|x: &&RefundLine| x.line == l.0)
            .map(|x| x.qty)
            .sum();
        let qty = qty.min(l.5 - already);
        if qty > 0 {
            refund.push(RefundLine { line: l.0, qty });
        }
    }
    if refund.is_empty() {
        return Ok(vec![]);
    }
    let event = OrderEvent::Refund {
        refund_id: r.asked.refund_id.clone(),
        lines: refund,
    };
    match super::write::apply(tx, o, OrderId(order), &event, "platform", None, None) {
        Ok((_, events)) => Ok(events),
        // Cancelled meanwhile: nothing left to take off.
        Err(StoreError::Transition(TransitionError::NotAllowed { .. })) => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// A partial refund the platform granted without the store having seen it asked (decided on
/// the platform's console, or the store's own refund after a short pick coming back): recorded
/// once by its refund id and taken off the order — unless every item is a line the store itself
/// reported short (then it is the store's own, already accounted for). `None`: known already.
pub(super) fn granted_unseen(
    tx: &Transaction<'_>,
    o: &StoreOptions,
    asked: &NewRequest,
    now: Timestamp,
) -> Result<(Option<CustomerRequest>, Vec<StoreEvent>), StoreError> {
    let seen: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM customer_request WHERE platform = ?1 AND external_id = ?2
                 AND kind = ?3 AND refund_id = ?4 AND (state = 'agreed' OR applied_at IS NOT NULL))",
        )?
        .query_row(
            params![
                asked.platform.as_str(),
                asked.external_id,
                asked.kind.as_str(),
                asked.refund_id
            ],
            |r| r.get(0),
        )?;
    if seen {
        return Ok((None, vec![]));
    }
    let own = store_refunded(tx, asked)?;
    let items = serde_json::to_string(&asked.items).expect("items serialise");
    tx.prepare_cached(
        "INSERT INTO customer_request (platform, external_id, kind, refund_id, items, reason,
             state, opened_at, decide_by, closed_at, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'agreed', ?7, ?7, ?7, ?8)",
    )?
    .execute(params![
        asked.platform.as_str(),
        asked.external_id,
        asked.kind.as_str(),
        asked.refund_id,
        items,
        asked.reason,
        now.0,
        own.then_some(now.0),
    ])?;
    let (r, event) = changed(tx, tx.last_insert_rowid())?;
    let mut events = vec![event];
    if !own {
        events.extend(take_off(tx, o, &r, now)?);
    }
    Ok((Some(r), events))
}

/// Whether every item is a line of the order the store reported short by at least its count.
fn store_refunded(tx: &Transaction<'_>, asked: &NewRequest) -> Result<bool, StoreError> {
    let Some(order) = super::read::order_id_by_external(tx, asked.platform, &asked.external_id)?
    else {
        return Ok(false);
    };
    let mut stmt = tx.prepare_cached(
        "SELECT sku, merchant_code, name, short, unit_g FROM order_line WHERE order_id = ?1",
    )?;
    type Line = (String, Option<String>, String, i64, Option<i64>);
    let lines: Vec<Line> = stmt
        .query_map([order.0], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(!asked.items.is_empty()
        && asked.items.iter().all(|i| {
            lines.iter().any(|l| {
                let named = i
                    .code
                    .as_deref()
                    .is_some_and(|c| c == l.0 || l.1.as_deref() == Some(c))
                    || (!i.name.is_empty() && i.name == l.2);
                named && l.3 >= i.count.saturating_mul(l.4.filter(|g| *g > 0).unwrap_or(1))
            })
        }))
}

/// The note on a request left undecided past its time.
pub const EXPIRED_NOTE: &str = "not decided in time: the platform decides it by itself after its own limit; see the order on the platform's app";

/// Open requests past their time to decide: the store stops offering the decision (the platform
/// decides by itself after its own limit, and may not say how) and closes each as the
/// platform's. A push that later tells the outcome still acts on the order (a granted refund is
/// taken off once by its refund id).
pub(super) fn expire(
    tx: &Transaction<'_>,
    o: &StoreOptions,
    now: Timestamp,
) -> Result<(Vec<CustomerRequest>, Vec<StoreEvent>), StoreError> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM customer_request WHERE state = 'open' AND decide_by <= ?1 ORDER BY id",
        )?
        .query_map([now.0], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let (mut closed, mut events) = (Vec::new(), Vec::new());
    for id in ids {
        let (r, ev) = close(tx, o, id, RequestState::Withdrawn, Some(EXPIRED_NOTE), now)?;
        closed.extend(r);
        events.extend(ev);
    }
    Ok((closed, events))
}

/// An order cancelled (by anyone): the requests still live on it are moot, and close as
/// withdrawn; a decision already on its way finds nothing left to settle when answered.
pub(super) fn order_cancelled(
    tx: &Transaction<'_>,
    o: &StoreOptions,
    platform: Platform,
    external_id: &str,
    now: Timestamp,
) -> Result<Vec<StoreEvent>, StoreError> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM customer_request WHERE platform = ?1 AND external_id = ?2
             AND state IN ('open', 'agreeing', 'rejecting')",
        )?
        .query_map(params![platform.as_str(), external_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut events = Vec::new();
    for id in ids {
        let note = "the order was cancelled";
        events.extend(close(tx, o, id, RequestState::Withdrawn, Some(note), now)?.1);
    }
    Ok(events)
}
