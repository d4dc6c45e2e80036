//! The day's numbers over the socket: a business day's report computed from the history, and
//! for today the load now against the auto-pause thresholds.

use super::dispatch::{Ctx, bad_request};
use crate::api::{ApiError, LoadNow, PlatformLoad, ReportReply};
use crate::model::china_time;

/// The report of `day` (`YYYY-MM-DD`, China time), today when absent.
pub(super) async fn day(cx: &Ctx<'_>, day: Option<String>) -> Result<ReportReply, ApiError> {
    let today = china_time::day_number(cx.now);
    let day = match day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => today,
        Some(text) => china_time::parse_day(text).ok_or_else(|| {
            bad_request(format!(
                "`{text}` is not a day: give it as YYYY-MM-DD, e.g. {}",
                china_time::date(cx.now)
            ))
        })?,
    };
    if day > today {
        return Err(bad_request(
            "that day has not begun yet: give today or a day before",
        ));
    }
    let now = cx.now;
    let sla = cx.shared.config.sla;
    let (report, orders) = cx
        .shared
        .store
        .read_async(move |c| {
            let report = crate::store::report::day_report(c, day, now)?;
            let orders = if day == today {
                Some(crate::store::list_orders(c, false, 5_000)?)
            } else {
                None
            };
            Ok((report, orders))
        })
        .await
        .map_err(|e| cx.err(e))?;
    let cap = &cx.shared.config.capacity;
    let load = orders.map(|orders| {
        let l = crate::daemon::capacity::load(&orders, sla, now, None);
        LoadNow {
            open: l.open,
            at_risk: l.at_risk,
            auto_pause: cap.enabled,
            max_open_orders: cap.max_open_orders,
            max_at_risk: cap.max_at_risk,
            resume_below: cap.resume_below,
            platforms: cap
                .platforms
                .iter()
                .map(|(p, t)| {
                    let l = crate::daemon::capacity::load(&orders, sla, now, Some(*p));
                    PlatformLoad {
                        platform: *p,
                        open: l.open,
                        at_risk: l.at_risk,
                        max_open_orders: t.max_open_orders,
                        max_at_risk: t.max_at_risk,
                        resume_below: t.resume_below,
                    }
                })
                .collect(),
        }
    });
    Ok(ReportReply { report, load })
}
