//! The one check of an incoming order, whatever door it came through (a platform's push, a
//! poll, a fetch, HQ's relay): times within days of now, quantities and prices within bounds, ids
//! and texts of sane length and shape. The writer runs it before anything is written; a refusal
//! is `BadOrder`, a permanent one (the same order would be refused again).

use super::NewOrder;
use crate::model::item::{MAX_NAME_BYTES, MAX_PRICE_FEN, MAX_SALE_UNIT_G};
use crate::model::{MAX_QTY, Timestamp};

/// How far back an order may have been placed: older is a replay or a broken clock.
pub const MAX_AGE_SECS: i64 = 3 * 24 * 3600;
/// How far ahead of this store's clock an order may say it was placed.
pub const MAX_AHEAD_SECS: i64 = 10 * 60;
/// Most lines (and items the catalog lacks) one order may carry.
pub const MAX_LINES: usize = 500;
/// Longest id (a platform's order id, an item code), in bytes.
pub const MAX_ID_BYTES: usize = 64;
/// Longest customer remark, in bytes.
pub const MAX_REMARK_BYTES: usize = 4096;

/// What is wrong with `order`, judged at `now` with deliveries bookable `max_schedule_days`
/// ahead (`[sla]`); the message names the order and the field.
pub fn check(order: &NewOrder, now: Timestamp, max_schedule_days: i64) -> Result<(), String> {
    check_id("order id", &order.external_id)?;
    let ext = &order.external_id;
    let err = |m: String| format!("order {ext}: {m}");
    if order.day_seq.is_some_and(|n| n > 99_999) {
        return Err(err(format!(
            "day sequence {} is beyond any day's orders",
            order.day_seq.unwrap_or(0)
        )));
    }
    let placed = order.placed_at.0;
    if placed < now.0 - MAX_AGE_SECS * 1000 || placed > now.0 + MAX_AHEAD_SECS * 1000 {
        return Err(err(format!(
            "placed at {} (unix ms), not within 3 days before now and 10 minutes after",
            placed
        )));
    }
    for (what, t) in [
        ("promised delivery", order.promised_at),
        ("pick deadline", order.platform_deadline),
    ] {
        if let Some(t) = t
            && (t.0 < placed - 24 * 3600 * 1000
                || t.0 > now.0 + max_schedule_days.saturating_mul(24 * 3600 * 1000))
        {
            return Err(err(format!(
                "{what} at {} (unix ms) is before the order was placed or more than {max_schedule_days} days ahead ([sla] max_schedule_days)",
                t.0
            )));
        }
    }
    if let Some(code) = &order.pickup_code {
        text("pickup code", code, 32).map_err(err)?;
    }
    if let Some(remark) = &order.remark
        && remark.len() > MAX_REMARK_BYTES
    {
        return Err(err(format!(
            "the remark is {} bytes long, at most {MAX_REMARK_BYTES}",
            remark.len()
        )));
    }
    if order.lines.len() + order.unknown_items.len() > MAX_LINES {
        return Err(err(format!(
            "{} lines, at most {MAX_LINES}",
            order.lines.len() + order.unknown_items.len()
        )));
    }
    for (i, l) in order.lines.iter().enumerate() {
        let n = i + 1;
        quantity(l.qty).map_err(|m| err(format!("line {n}: {m}")))?;
        if !(0..=MAX_PRICE_FEN).contains(&l.unit_price.0) {
            return Err(err(format!(
                "line {n}: price {} fen is negative or beyond {MAX_PRICE_FEN}",
                l.unit_price.0
            )));
        }
        if let Some(name) = &l.name {
            text("item name", name, MAX_NAME_BYTES).map_err(|m| err(format!("line {n}: {m}")))?;
        }
        for (what, id) in [
            ("platform item", &l.platform_item),
            ("merchant code", &l.merchant_code),
        ] {
            if let Some(id) = id {
                check_id(what, id).map_err(|m| err(format!("line {n}: {m}")))?;
            }
        }
        if l.unit_g
            .is_some_and(|g| !(1..=MAX_SALE_UNIT_G).contains(&g))
        {
            return Err(err(format!(
                "line {n}: a portion of {} g",
                l.unit_g.unwrap_or(0)
            )));
        }
    }
    for u in &order.unknown_items {
        quantity(u.qty).map_err(|m| err(format!("item {}: {m}", u.name)))?;
        text("item name", &u.name, MAX_NAME_BYTES).map_err(err)?;
        if u.codes.len() > 4 || u.codes.iter().any(|c| c.len() > MAX_ID_BYTES) {
            return Err(err(format!("item {}: absurd codes", u.name)));
        }
    }
    Ok(())
}

/// An id: 1 to 64 bytes of letters, digits and `-_.:`.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    let shape = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if id.is_empty() || id.len() > MAX_ID_BYTES || !id.chars().all(shape) {
        let shown: String = id.chars().take(24).collect();
        return Err(format!(
            "{what} `{}{}` is not an id (1 to {MAX_ID_BYTES} letters, digits, - _ . :)",
            shown.escape_debug(),
            if id.chars().count() > 24 { "…" } else { "" }
        ));
    }
    Ok(())
}

fn quantity(q: i64) -> Result<(), String> {
    if !(1..=MAX_QTY).contains(&q) {
        return Err(format!("quantity {q} is not between 1 and {MAX_QTY}"));
    }
    Ok(())
}

fn text(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!("{what} is {} bytes long, at most {max}", s.len()));
    }
    if s.chars().any(char::is_control) {
        return Err(format!("{what} has control characters"));
    }
    Ok(())
}
