//! The day's rows → the day's numbers. Pure.

use super::{
    Counts, DayReport, DayRows, HourDay, LateOrder, OrderRow, PickerDay, PlatformDay, ShortItem,
};
use crate::model::china_time;
use crate::model::{OrderState, Platform, Timestamp};
use std::collections::{BTreeMap, HashMap};

/// The day's numbers as of `now` (a day not over yet counts up to now).
pub fn compute(rows: &DayRows, now: Timestamp) -> DayReport {
    let start = china_time::day_start(rows.day);
    let end = china_time::day_start(rows.day + 1);
    let in_day = |t: Timestamp| t >= start && t < end;
    let hour_of = |t: Timestamp| ((t.0 - start.0) / 3_600_000) as usize;
    let mut total = Counts::default();
    let mut per_platform: BTreeMap<Platform, (Counts, Vec<Counts>)> = BTreeMap::new();
    let mut hours: Vec<HourDay> = (0..24)
        .map(|hour| HourDay {
            hour,
            ..HourDay::default()
        })
        .collect();
    let (mut picked, mut on_time) = (0u32, 0u32);
    let mut pick_secs = Vec::new();
    let mut late = Vec::new();
    // Orders picked that day → the picker who had it claimed.
    let mut picked_by: HashMap<i64, Option<String>> = HashMap::new();
    let mut claims: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let until = now.min(end);

    for o in &rows.orders {
        let (counts, by_hour) = per_platform
            .entry(o.platform)
            .or_insert_with(|| (Counts::default(), vec![Counts::default(); 24]));
        let mut accepted_at = None;
        let mut claimed: Option<(Timestamp, Option<String>)> = None;
        let mut picked_once = false;
        for c in &o.changes {
            if c.from.is_none() && in_day(c.at) {
                counts.received += 1;
                total.received += 1;
                hours[hour_of(c.at)].received += 1;
                by_hour[hour_of(c.at)].received += 1;
            }
            match c.to {
                OrderState::HandedOver if in_day(c.at) => {
                    counts.handed_over += 1;
                    total.handed_over += 1;
                    hours[hour_of(c.at)].handed_over += 1;
                    by_hour[hour_of(c.at)].handed_over += 1;
                }
                OrderState::Cancelled if in_day(c.at) => {
                    counts.cancelled += 1;
                    total.cancelled += 1;
                    hours[hour_of(c.at)].cancelled += 1;
                    by_hour[hour_of(c.at)].cancelled += 1;
                }
                OrderState::Accepted
                    if accepted_at.is_none() && c.from != Some(OrderState::Picking) =>
                {
                    accepted_at = Some(c.at);
                }
                _ => {}
            }
            // A claim runs from the change into picking to the change out of it.
            if c.to == OrderState::Picking && c.from != Some(OrderState::Picking) {
                claimed = Some((c.at, c.picker.clone()));
            }
            if c.from == Some(OrderState::Picking)
                && c.to != OrderState::Picking
                && let Some((from, Some(who))) = claimed.take()
            {
                claim(&mut claims, who, from, c.at, start, until);
            }
            if c.to == OrderState::Picked && c.from == Some(OrderState::Picking) && !picked_once {
                picked_once = true;
                if in_day(c.at) {
                    let h = &mut hours[hour_of(c.at)];
                    picked += 1;
                    h.picked += 1;
                    let late_secs = (c.at.0 - o.pick_deadline.0) / 1000;
                    if c.at <= o.pick_deadline {
                        on_time += 1;
                        h.on_time += 1;
                    } else {
                        late.push(late_order(o, late_secs));
                    }
                    if let Some(a) = accepted_at {
                        pick_secs.push((c.at.0 - a.0) / 1000);
                    }
                    let who = o
                        .changes
                        .iter()
                        .rev()
                        .filter(|x| x.at <= c.at)
                        .find_map(|x| x.picker.clone());
                    picked_by.insert(o.id, who);
                }
            }
        }
        // Still claimed: counts up to now (or the day's end).
        if let Some((from, Some(who))) = claimed {
            claim(&mut claims, who, from, until, start, until);
        }
    }

    let (mut lines, mut short_lines, mut units, mut short_units) = (0u32, 0u32, 0i64, 0i64);
    let mut shorts: BTreeMap<String, ShortItem> = BTreeMap::new();
    let mut picker_units: BTreeMap<String, (u32, i64)> = BTreeMap::new();
    let mut counted_orders = std::collections::HashSet::new();
    for l in &rows.lines {
        let Some(who) = picked_by.get(&l.order_id) else {
            continue;
        };
        let (line_units, line_short, line_picked) = if l.weighed {
            (1, i64::from(l.short > 0), i64::from(l.picked > 0))
        } else {
            (l.qty, l.short, l.picked)
        };
        lines += 1;
        units += line_units;
        if l.short > 0 {
            short_lines += 1;
            short_units += line_short;
            let s = shorts.entry(l.sku.clone()).or_insert_with(|| ShortItem {
                sku: l.sku.clone(),
                name: l.name.clone(),
                units: 0,
                lines: 0,
            });
            s.units += line_short;
            s.lines += 1;
        }
        if let Some(who) = who {
            let e = picker_units.entry(who.clone()).or_default();
            if counted_orders.insert(l.order_id) {
                e.0 += 1;
            }
            e.1 += line_picked;
        }
    }
    let mut top_short: Vec<ShortItem> = shorts.into_values().collect();
    top_short.sort_by(|a, b| b.units.cmp(&a.units).then(a.sku.cmp(&b.sku)));
    top_short.truncate(5);
    late.sort_by(|a, b| {
        b.late_secs
            .cmp(&a.late_secs)
            .then(a.order_id.cmp(&b.order_id))
    });

    let mut pickers: Vec<PickerDay> = claims
        .keys()
        .chain(picker_units.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|who| {
            let (orders, units) = picker_units.get(who).copied().unwrap_or_default();
            let claimed_secs = union_ms(claims.get(who).map(Vec::as_slice).unwrap_or(&[])) / 1000;
            PickerDay {
                picker: who.clone(),
                orders,
                units,
                claimed_secs,
                units_per_hour: (claimed_secs >= 60)
                    .then(|| units as f64 * 3600.0 / claimed_secs as f64),
            }
        })
        .collect();
    pickers.sort_by(|a, b| b.units.cmp(&a.units).then(a.picker.cmp(&b.picker)));

    let closed = closed_ms(rows, start, until);
    for p in closed.keys() {
        per_platform
            .entry(*p)
            .or_insert_with(|| (Counts::default(), vec![Counts::default(); 24]));
    }
    let platforms = per_platform
        .into_iter()
        .map(|(platform, (counts, hours))| {
            let (manual, auto) = closed.get(&platform).copied().unwrap_or_default();
            PlatformDay {
                platform,
                counts,
                closed_manual_min: manual / 60_000,
                closed_auto_min: auto / 60_000,
                hours,
            }
        })
        .collect();

    pick_secs.sort_unstable();
    DayReport {
        date: china_time::date(start),
        as_of: now,
        total,
        platforms,
        picked,
        on_time,
        pick_secs_p50: nearest_rank(&pick_secs, 50),
        pick_secs_p90: nearest_rank(&pick_secs, 90),
        lines,
        short_lines,
        units,
        short_units,
        top_short,
        late,
        pickers,
        hours,
    }
}

fn late_order(o: &OrderRow, late_secs: i64) -> LateOrder {
    LateOrder {
        order_id: o.id,
        platform: o.platform,
        day_seq: o.day_seq,
        late_secs,
    }
}

/// A claim from `from` to `to`, the part of it inside the day.
fn claim(
    claims: &mut BTreeMap<String, Vec<(i64, i64)>>,
    who: String,
    from: Timestamp,
    to: Timestamp,
    start: Timestamp,
    until: Timestamp,
) {
    let (a, b) = (from.max(start).0, to.min(until).0);
    if b > a {
        claims.entry(who).or_default().push((a, b));
    }
}

/// The length of a union of intervals (a picker with two orders claimed at once works one hour,
/// not two).
fn union_ms(intervals: &[(i64, i64)]) -> i64 {
    let mut v = intervals.to_vec();
    v.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(i64, i64)> = None;
    for (a, b) in v {
        cur = match cur {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    total + cur.map_or(0, |(a, b)| b - a)
}

/// The nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// Per platform, the milliseconds closed within [start, until): (manual, automatic).
fn closed_ms(rows: &DayRows, start: Timestamp, until: Timestamp) -> BTreeMap<Platform, (i64, i64)> {
    let mut by_platform: BTreeMap<Platform, Vec<&super::OpenRow>> = BTreeMap::new();
    for r in &rows.open_log {
        by_platform.entry(r.platform).or_default().push(r);
    }
    let mut out = BTreeMap::new();
    for (p, mut log) in by_platform {
        log.sort_by_key(|r| r.at);
        let (mut manual, mut auto) = (0, 0);
        // (closed since, automatic)
        let mut closed: Option<(Timestamp, bool)> = None;
        let mut close_until = |closed: Option<(Timestamp, bool)>, to: Timestamp| {
            if let Some((since, automatic)) = closed {
                let ms = (to.min(until).0 - since.max(start).0).max(0);
                if automatic {
                    auto += ms;
                } else {
                    manual += ms;
                }
            }
        };
        for r in log {
            close_until(closed, r.at);
            closed = (!r.open).then_some((r.at, r.automatic));
        }
        close_until(closed, until);
        if manual > 0 || auto > 0 {
            out.insert(p, (manual, auto));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::report::{Change, LineRow};

    fn change(from: Option<OrderState>, to: OrderState, min: i64, picker: Option<&str>) -> Change {
        Change {
            from,
            to,
            at: Timestamp(china_time::day_start(DAY).0 + min * 60_000),
            picker: picker.map(str::to_string),
        }
    }

    const DAY: i64 = 20_000;

    /// Claims overlapping for one picker count once; a release and a claim by another picker
    /// gives the order (and its units) to the one who picked it, and each their own time; a
    /// weighed line is one unit whatever its grams.
    #[test]
    fn claims_overlap_once_a_released_order_is_the_second_pickers_and_grams_are_one_unit() {
        use OrderState::*;
        let order = |id, changes| OrderRow {
            id,
            platform: Platform::Meituan,
            day_seq: id,
            pick_deadline: Timestamp(china_time::day_start(DAY).0 + 600 * 60_000),
            changes,
        };
        let rows = DayRows {
            day: DAY,
            orders: vec![
                // p1 holds 1 and 2 at once: 10:00-10:10 and 10:05-10:15 → 15 min.
                order(
                    1,
                    vec![
                        change(None, New, 590, None),
                        change(Some(New), Accepted, 590, None),
                        change(Some(Accepted), Picking, 600, Some("p1")),
                        change(Some(Picking), Picked, 610, None),
                    ],
                ),
                order(
                    2,
                    vec![
                        change(None, New, 590, None),
                        change(Some(New), Accepted, 590, None),
                        change(Some(Accepted), Picking, 605, Some("p1")),
                        change(Some(Picking), Picked, 615, None),
                    ],
                ),
                // p1 claims 3 at 11:00, releases it at 11:05; p2 claims at 11:07, picks 11:12.
                order(
                    3,
                    vec![
                        change(None, New, 650, None),
                        change(Some(New), Accepted, 650, None),
                        change(Some(Accepted), Picking, 660, Some("p1")),
                        change(Some(Picking), Accepted, 665, None),
                        change(Some(Accepted), Picking, 667, Some("p2")),
                        change(Some(Picking), Picked, 672, None),
                    ],
                ),
            ],
            lines: vec![
                LineRow {
                    order_id: 1,
                    sku: "A".into(),
                    name: "A".into(),
                    qty: 2,
                    picked: 2,
                    short: 0,
                    weighed: false,
                },
                LineRow {
                    order_id: 2,
                    sku: "V".into(),
                    name: "西红柿".into(),
                    qty: 500,
                    picked: 480,
                    short: 0,
                    weighed: true,
                },
                LineRow {
                    order_id: 3,
                    sku: "A".into(),
                    name: "A".into(),
                    qty: 3,
                    picked: 3,
                    short: 0,
                    weighed: false,
                },
            ],
            open_log: Vec::new(),
        };
        let r = compute(&rows, china_time::day_start(DAY + 1));
        let p = |who: &str| r.pickers.iter().find(|p| p.picker == who).unwrap().clone();
        let (p1, p2) = (p("p1"), p("p2"));
        // p1: orders 1 and 2 (2 units + one weighed line), 15 + 5 min claimed.
        assert_eq!((p1.orders, p1.units, p1.claimed_secs), (2, 3, 20 * 60));
        // p2: order 3, 3 units, 5 min.
        assert_eq!((p2.orders, p2.units, p2.claimed_secs), (1, 3, 5 * 60));
        assert_eq!((r.units, r.lines, r.short_units), (6, 3, 0));
        // Pick time from the first accept: 20, 25 and 22 min.
        assert_eq!(r.pick_secs_p50, Some(22 * 60));
    }

    #[test]
    fn percentiles_by_nearest_rank_and_unions_of_claims() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50), Some(5));
        assert_eq!(nearest_rank(&v, 90), Some(9));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(union_ms(&[(0, 10), (5, 20), (30, 40)]), 30);
        assert_eq!(union_ms(&[]), 0);
    }
}
