//! The report screen: today's figures in a few lines, the load against the auto-pause
//! thresholds, a bar chart of orders per hour and a sparkline of the on-time rate per hour (the
//! same columns per hour, so they line up), and the items most short and the pickers side by
//! side. Fits 80×24; a taller screen gives the charts and the lists more rows.

use crate::api::LoadNow;
use crate::model::report::DayReport;
use crate::tui::app::{App, ReportScreen};
use crate::tui::i18n::Lang;
use crate::tui::text::{fit, mmss, percent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Paragraph, Sparkline, SparklineBar};

/// The words of this screen.
struct Words {
    waiting: &'static str,
    as_of: &'static str,
    received: &'static str,
    handed_over: &'static str,
    cancelled: &'static str,
    picked: &'static str,
    on_time: &'static str,
    pick_time: &'static str,
    short: &'static str,
    lines: &'static str,
    units: &'static str,
    late: &'static str,
    closed: &'static str,
    manual: &'static str,
    auto: &'static str,
    min: &'static str,
    load: &'static str,
    open_orders: &'static str,
    at_risk: &'static str,
    pause: &'static str,
    or: &'static str,
    resume: &'static str,
    auto_off: &'static str,
    per_hour: &'static str,
    on_time_hour: &'static str,
    top_short: &'static str,
    pickers: &'static str,
    per_h: &'static str,
    none: &'static str,
    orders: &'static str,
    hours: &'static str,
    each: &'static str,
}

const ZH: Words = Words {
    waiting: "正在读取今日数据…",
    as_of: "截至",
    received: "接单",
    handed_over: "交付",
    cancelled: "取消",
    picked: "已拣",
    on_time: "准时率",
    pick_time: "拣货用时",
    short: "缺货",
    lines: "行",
    units: "件",
    late: "超时",
    closed: "休息",
    manual: "手动",
    auto: "自动",
    min: "分",
    load: "当前负载",
    open_orders: "待处理",
    at_risk: "黄/红",
    pause: "自动暂停",
    or: " 或 ",
    resume: "恢复",
    auto_off: "自动暂停未开启",
    per_hour: "每小时接单",
    on_time_hour: "每小时准时率",
    top_short: "缺货最多",
    pickers: "拣货员",
    per_h: " 件/时",
    none: "无",
    orders: "单",
    hours: "小时有拣货",
    each: "件",
};

const EN: Words = Words {
    waiting: "Reading today's numbers…",
    as_of: "as of",
    received: "received",
    handed_over: "handed over",
    cancelled: "cancelled",
    picked: "picked",
    on_time: "on time",
    pick_time: "pick time",
    short: "short",
    lines: "lines",
    units: "units",
    late: "late",
    closed: "closed",
    manual: "manual",
    auto: "auto",
    min: "min",
    load: "Load",
    open_orders: "open",
    at_risk: "at risk",
    pause: "auto-pause",
    or: " or ",
    resume: "resume",
    auto_off: "auto-pause off",
    per_hour: "Orders per hour",
    on_time_hour: "On time per hour",
    top_short: "Most short",
    pickers: "Pickers",
    per_h: "/h",
    none: "none",
    orders: " ord",
    hours: "h with picks",
    each: " units",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

pub(super) fn report(app: &App, f: &mut Frame, area: Rect, st: &ReportScreen) {
    let w = words(app.lang);
    let Some(reply) = &st.reply else {
        f.render_widget(Paragraph::new(format!(" {}", w.waiting)), area);
        return;
    };
    let r = &reply.report;
    let platforms = r.platforms.len() as u16;
    let tall = area.height >= 30;
    let list_rows = if tall { 6 } else { 4 };
    let spark_rows = if tall { 4 } else { 2 };
    // The load: one line, or two when the platforms' own thresholds do not fit beside it.
    let load_lines = reply.load.as_ref().map_or(Vec::new(), |l| {
        let (store, own, color) = load_text(app, l, w);
        let style = Style::default().fg(color).add_modifier(Modifier::BOLD);
        let width = area.width as usize;
        let both = format!("{store}{own}");
        let texts = if own.is_empty() || crate::tui::text::width(&both) <= width {
            vec![both]
        } else {
            vec![store, format!(" {}", own.trim_start_matches(" · "))]
        };
        texts
            .into_iter()
            .map(|t| Line::from(Span::styled(fit(&t, width), style)))
            .collect()
    });
    let [head, plats, load, bars, spark, lists] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(platforms),
        Constraint::Length(load_lines.len() as u16),
        Constraint::Min(4),
        Constraint::Length(spark_rows),
        Constraint::Length(list_rows),
    ])
    .areas(area);
    figures(app, f, head, r, w);
    platform_lines(app, f, plats, r, w);
    f.render_widget(Paragraph::new(load_lines), load);
    per_hour(f, bars, r, w);
    on_time_hours(f, spark, r, w);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(lists);
    short_list(f, left, r, w);
    picker_list(f, right, r, w);
}

fn figures(app: &App, f: &mut Frame, area: Rect, r: &DayReport, w: &Words) {
    let width = area.width as usize;
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let title = format!(
        " {} {} · {} {}",
        app.s().report,
        r.date,
        w.as_of,
        crate::model::china_time::time_of_day(r.as_of)
    );
    let t = &r.total;
    let counts = format!(
        " {} {} · {} {} · {} {} · {} {}",
        w.received,
        t.received,
        w.handed_over,
        t.handed_over,
        w.cancelled,
        t.cancelled,
        w.late,
        r.late.len()
    );
    let picks = format!(
        " {} {} · {} {} · {} p50 {} p90 {}",
        w.picked,
        r.picked,
        w.on_time,
        percent(r.on_time_pct()),
        w.pick_time,
        r.pick_secs_p50.map_or("-".into(), mmss),
        r.pick_secs_p90.map_or("-".into(), mmss)
    );
    let shorts = format!(
        " {}: {} {} ({}/{}) · {} {} ({}/{})",
        w.short,
        w.lines,
        percent(r.short_lines_pct()),
        r.short_lines,
        r.lines,
        w.units,
        percent(r.short_units_pct()),
        r.short_units,
        r.units,
    );
    let late_style = if r.late.is_empty() {
        Style::default()
    } else {
        Style::default().fg(Color::Yellow)
    };
    f.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(fit(&title, width), bold)),
            Line::from(Span::styled(fit(&counts, width), late_style)),
            Line::from(fit(&picks, width)),
            Line::from(fit(&shorts, width)),
        ]),
        area,
    );
}

fn platform_lines(app: &App, f: &mut Frame, area: Rect, r: &DayReport, w: &Words) {
    let name_width = r
        .platforms
        .iter()
        .map(|p| crate::tui::text::width(app.lang.platform(p.platform)))
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = r
        .platforms
        .iter()
        .map(|p| {
            let c = &p.counts;
            let mut text = format!(
                " {} {} {} · {} {} · {} {}",
                fit(app.lang.platform(p.platform), name_width),
                w.received,
                c.received,
                w.handed_over,
                c.handed_over,
                w.cancelled,
                c.cancelled
            );
            let closed: Vec<String> =
                [(w.manual, p.closed_manual_min), (w.auto, p.closed_auto_min)]
                    .iter()
                    .filter(|(_, m)| *m > 0)
                    .map(|(how, m)| format!("{how} {m}{}", w.min))
                    .collect();
            if !closed.is_empty() {
                text += &format!(" · {} {}", w.closed, closed.join(" "));
            }
            Line::from(fit(&text, area.width as usize))
        })
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}

/// The load in words, red at a pause threshold, yellow over the resume level: the store's, and
/// each platform's with thresholds of its own.
fn load_text(app: &App, l: &LoadNow, w: &Words) -> (String, String, Color) {
    let mut text = format!(
        " {}: {} {} · {} {}",
        w.load, w.open_orders, l.open, w.at_risk, l.at_risk
    );
    if !l.auto_pause {
        text += &format!(" ({})", w.auto_off);
        return (text, String::new(), Color::Reset);
    }
    let (store_rule, mut level) = rule(
        (l.open, l.at_risk),
        (l.max_open_orders, l.max_at_risk, l.resume_below),
        w,
    );
    if let Some(r) = store_rule {
        text += &format!(" · {}: {r}", w.pause);
    }
    let mut platforms = String::new();
    for p in &l.platforms {
        let (own, lv) = rule(
            (p.open, p.at_risk),
            (p.max_open_orders, p.max_at_risk, p.resume_below),
            w,
        );
        level = level.max(lv);
        platforms += &format!(
            " · {} {} {}{}",
            app.lang.platform(p.platform),
            w.open_orders,
            p.open,
            own.map_or(String::new(), |r| format!(" ({r})"))
        );
    }
    let color = match level {
        2 => Color::Red,
        1 => Color::Yellow,
        _ => Color::Green,
    };
    (text, platforms, color)
}

/// One set of thresholds in words, and where the load stands: 0 calm, 1 over the resume
/// level, 2 at a pause threshold.
fn rule(
    (open, at_risk): (u32, u32),
    (max_open, max_risk, resume): (u32, u32, u32),
    w: &Words,
) -> (Option<String>, u8) {
    let mut limits = Vec::new();
    if max_open > 0 {
        limits.push(format!("{}≥{max_open}", w.open_orders));
    }
    if max_risk > 0 {
        limits.push(format!("{}≥{max_risk}", w.at_risk));
    }
    if limits.is_empty() {
        return (None, 0);
    }
    let mut text = limits.join(w.or);
    if max_open > 0 {
        text += &format!("; {} <{resume}", w.resume);
    }
    let over = (max_open > 0 && open >= max_open) || (max_risk > 0 && at_risk >= max_risk);
    let busy = max_open > 0 && open >= resume;
    (Some(text), if over { 2 } else { u8::from(busy) })
}

/// Columns per hour: 24 hours across the width, at least 2.
fn per_hour_cols(width: u16) -> u16 {
    (width / 24).max(2)
}

fn per_hour(f: &mut Frame, area: Rect, r: &DayReport, w: &Words) {
    let [title, chart] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    f.render_widget(
        Paragraph::new(Span::styled(
            format!(" {}", w.per_hour),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        title,
    );
    let cols = per_hour_cols(area.width);
    let bars: Vec<Bar> = r
        .hours
        .iter()
        .map(|h| {
            Bar::default()
                .value(u64::from(h.received))
                .label(Line::from(format!("{:02}", h.hour)))
                .text_value(if h.received > 0 {
                    h.received.to_string()
                } else {
                    String::new()
                })
        })
        .collect();
    f.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(cols - 1)
            .bar_gap(1)
            .bar_style(Style::default().fg(Color::Cyan))
            .value_style(Style::default().fg(Color::Black).bg(Color::Cyan)),
        chart,
    );
}

fn on_time_hours(f: &mut Frame, area: Rect, r: &DayReport, w: &Words) {
    let [title, line] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let hours_with_picks = r.hours.iter().filter(|h| h.picked > 0).count();
    f.render_widget(
        Paragraph::new(Span::styled(
            format!(
                " {} (0-100%, {} {})",
                w.on_time_hour, hours_with_picks, w.hours
            ),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        title,
    );
    // Each hour as wide as its bar above; an hour with nothing picked is left blank.
    let cols = per_hour_cols(area.width) as usize;
    let data: Vec<SparklineBar> = r
        .hours
        .iter()
        .flat_map(|h| {
            let v = (h.picked > 0).then(|| u64::from(h.on_time) * 100 / u64::from(h.picked));
            std::iter::repeat_n(v, cols - 1)
                .chain(std::iter::once(None))
                .map(SparklineBar::from)
        })
        .collect();
    f.render_widget(
        Sparkline::default()
            .data(data)
            .max(100)
            .style(Style::default().fg(Color::Green))
            .absent_value_symbol(" "),
        line,
    );
}

fn short_list(f: &mut Frame, area: Rect, r: &DayReport, w: &Words) {
    let width = area.width as usize;
    let mut lines = vec![Line::from(Span::styled(
        fit(&format!(" {}", w.top_short), width),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    if r.top_short.is_empty() {
        lines.push(Line::from(format!(" {}", w.none)));
    }
    for s in r
        .top_short
        .iter()
        .take(area.height.saturating_sub(1) as usize)
    {
        let text = format!(
            " {} {}{}",
            fit(&s.name, width.saturating_sub(12)),
            s.units,
            w.each
        );
        lines.push(Line::from(fit(&text, width)));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn picker_list(f: &mut Frame, area: Rect, r: &DayReport, w: &Words) {
    let width = area.width as usize;
    let mut lines = vec![Line::from(Span::styled(
        fit(&format!(" {}", w.pickers), width),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    if r.pickers.is_empty() {
        lines.push(Line::from(format!(" {}", w.none)));
    }
    for p in r
        .pickers
        .iter()
        .take(area.height.saturating_sub(1) as usize)
    {
        let uph = p.units_per_hour.map_or("-".into(), |u| format!("{u:.0}"));
        let text = format!(
            " {} {:>3}{} {:>4}{} {}{}",
            fit(&p.picker, 10),
            p.orders,
            w.orders,
            p.units,
            w.each,
            uph,
            w.per_h
        );
        lines.push(Line::from(fit(&text, width)));
    }
    f.render_widget(Paragraph::new(lines), area);
}
