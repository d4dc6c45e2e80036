//! `flashpick report [--day YYYY-MM-DD] [--json|--csv]`: the day's numbers from the running
//! daemon, as a table for the manager on SSH, JSON for HQ's systems, or long-form CSV
//! (`date,scope,figure,value`) that any spreadsheet pivots.

use super::client_cmds::{ask, json_text};
use super::{Failure, fail};
use crate::api::{Request, Response};
use crate::model::report::DayReport;
use crate::model::text::{mmss, percent};
use std::fmt::Write;
use std::path::Path;

/// Prints the report.
pub(super) fn run(
    socket: &Path,
    day: Option<String>,
    json: bool,
    csv: bool,
) -> Result<(), Failure> {
    if json && csv {
        return Err(fail(2, anyhow::anyhow!("give --json or --csv, not both")));
    }
    let Response::Report(reply) = ask(socket, Request::DayReport { day })? else {
        unreachable!("Client::call reads the kind the request gets")
    };
    if json {
        println!("{}", json_text(&*reply)?);
    } else if csv {
        print!("{}", csv_text(&reply.report));
    } else {
        print!("{}", table(&reply.report));
        if let Some(l) = &reply.load {
            let limit = |n: u32| {
                if l.auto_pause && n > 0 {
                    format!(" (pause at {n})")
                } else {
                    String::new()
                }
            };
            println!(
                "Now: {} open{}, {} amber or red{}",
                l.open,
                limit(l.max_open_orders),
                l.at_risk,
                limit(l.max_at_risk)
            );
        }
    }
    Ok(())
}

/// The report as a terminal table.
pub fn table(r: &DayReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Day {} (China time), as of {}",
        r.date,
        crate::model::china_time::format(r.as_of)
    );
    let _ = writeln!(
        o,
        "\n{:<10} {:>9} {:>12} {:>10} {:>14} {:>12}",
        "", "received", "handed over", "cancelled", "closed manual", "closed auto"
    );
    for p in &r.platforms {
        let _ = writeln!(
            o,
            "{:<10} {:>9} {:>12} {:>10} {:>12}min {:>10}min",
            p.platform.as_str(),
            p.counts.received,
            p.counts.handed_over,
            p.counts.cancelled,
            p.closed_manual_min,
            p.closed_auto_min
        );
    }
    let _ = writeln!(
        o,
        "{:<10} {:>9} {:>12} {:>10}",
        "total", r.total.received, r.total.handed_over, r.total.cancelled
    );
    let _ = writeln!(
        o,
        "\nPicked {}: on time {} ({}), late {}. Pick time p50 {}, p90 {} (min:s).",
        r.picked,
        r.on_time,
        percent(r.on_time_pct()),
        r.late.len(),
        r.pick_secs_p50.map_or("-".into(), mmss),
        r.pick_secs_p90.map_or("-".into(), mmss)
    );
    let _ = writeln!(
        o,
        "Short: {} of {} lines ({}), {} of {} units ({}).",
        r.short_lines,
        r.lines,
        percent(r.short_lines_pct()),
        r.short_units,
        r.units,
        percent(r.short_units_pct())
    );
    if !r.top_short.is_empty() {
        let _ = writeln!(o, "\nMost short:");
        for s in &r.top_short {
            let _ = writeln!(
                o,
                "  {:<14} {:>5} units {:>4} lines  {}",
                s.sku, s.units, s.lines, s.name
            );
        }
    }
    if !r.late.is_empty() {
        let _ = writeln!(o, "\nLate (picked after the deadline):");
        for l in r.late.iter().take(10) {
            let _ = writeln!(
                o,
                "  {:<8} #{:<5} order {:<8} {} late",
                l.platform.as_str(),
                l.day_seq,
                l.order_id,
                mmss(l.late_secs)
            );
        }
        if r.late.len() > 10 {
            let _ = writeln!(
                o,
                "  … and {} more (--json lists them all)",
                r.late.len() - 10
            );
        }
    }
    if !r.pickers.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<14} {:>7} {:>7} {:>9} {:>10}",
            "picker", "orders", "units", "claimed", "units/h"
        );
        for p in &r.pickers {
            let _ = writeln!(
                o,
                "{:<14} {:>7} {:>7} {:>9} {:>10}",
                p.picker,
                p.orders,
                p.units,
                mmss(p.claimed_secs),
                p.units_per_hour.map_or("-".into(), |u| format!("{u:.1}"))
            );
        }
    }
    let _ = writeln!(
        o,
        "\nhour  received  picked  on time  handed over  cancelled"
    );
    for h in r
        .hours
        .iter()
        .filter(|h| h.received + h.picked + h.handed_over + h.cancelled > 0)
    {
        let _ = writeln!(
            o,
            "{:02}    {:>8}  {:>6}  {:>7}  {:>11}  {:>9}",
            h.hour, h.received, h.picked, h.on_time, h.handed_over, h.cancelled
        );
    }
    o
}

/// The report as long-form CSV: `date,scope,figure,value`, one figure a line.
pub fn csv_text(r: &DayReport) -> String {
    let mut o = String::from("date,scope,figure,value\n");
    let mut put = |scope: &str, figure: &str, value: String| {
        let _ = writeln!(o, "{},{},{figure},{value}", r.date, csv_field(scope));
    };
    let t = &r.total;
    put("store", "received", t.received.to_string());
    put("store", "handed_over", t.handed_over.to_string());
    put("store", "cancelled", t.cancelled.to_string());
    put("store", "picked", r.picked.to_string());
    put("store", "on_time", r.on_time.to_string());
    put("store", "late", r.late.len().to_string());
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    put("store", "pick_secs_p50", opt(r.pick_secs_p50));
    put("store", "pick_secs_p90", opt(r.pick_secs_p90));
    put("store", "lines", r.lines.to_string());
    put("store", "short_lines", r.short_lines.to_string());
    put("store", "units", r.units.to_string());
    put("store", "short_units", r.short_units.to_string());
    for p in &r.platforms {
        let s = p.platform.as_str();
        put(s, "received", p.counts.received.to_string());
        put(s, "handed_over", p.counts.handed_over.to_string());
        put(s, "cancelled", p.counts.cancelled.to_string());
        put(s, "closed_manual_min", p.closed_manual_min.to_string());
        put(s, "closed_auto_min", p.closed_auto_min.to_string());
        for (h, c) in p.hours.iter().enumerate() {
            if c.received + c.handed_over + c.cancelled == 0 {
                continue;
            }
            let scope = format!("{s} hour {h:02}");
            put(&scope, "received", c.received.to_string());
            put(&scope, "handed_over", c.handed_over.to_string());
            put(&scope, "cancelled", c.cancelled.to_string());
        }
    }
    for s in &r.top_short {
        let scope = format!("short {}", s.sku);
        put(&scope, "units", s.units.to_string());
        put(&scope, "lines", s.lines.to_string());
    }
    for p in &r.pickers {
        let scope = format!("picker {}", p.picker);
        put(&scope, "orders", p.orders.to_string());
        put(&scope, "units", p.units.to_string());
        put(&scope, "claimed_secs", p.claimed_secs.to_string());
        let uph = p
            .units_per_hour
            .map_or(String::new(), |u| format!("{u:.2}"));
        put(&scope, "units_per_hour", uph);
    }
    for h in &r.hours {
        let scope = format!("hour {:02}", h.hour);
        put(&scope, "received", h.received.to_string());
        put(&scope, "picked", h.picked.to_string());
        put(&scope, "on_time", h.on_time.to_string());
        put(&scope, "handed_over", h.handed_over.to_string());
        put(&scope, "cancelled", h.cancelled.to_string());
    }
    o
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
