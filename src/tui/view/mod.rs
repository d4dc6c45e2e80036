//! Rendering: a pure function of the state, one file per screen (queue, pick, pack, stock) and
//! one for what is drawn over them (prompt, put-back alert, help). Columns are laid out with our
//! own width-aware padding (`text::fit`) so Chinese names line up.

mod overlay;
mod pack;
mod pick;
mod queue;
mod report;
mod stock;

use super::app::{App, Packing, Picking, Screen};
use super::text::{fit, width};
use crate::api::OrderView;
use crate::model::{SlaState, Unit};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

fn sla_color(s: SlaState) -> Color {
    match s {
        SlaState::OnTime => Color::Green,
        SlaState::AtRisk => Color::Yellow,
        SlaState::Late => Color::Red,
    }
}

fn level_color(level: &str) -> Color {
    match level {
        "error" => Color::Red,
        "warning" => Color::Yellow,
        _ => Color::Cyan,
    }
}

/// Seconds left now (the view's `seconds_left` was computed when it was sent).
fn left(app: &App, o: &OrderView) -> i64 {
    (o.order.pick_deadline.0 - app.now.0).div_euclid(1000)
}

fn sla_now(app: &App, o: &OrderView) -> SlaState {
    let l = left(app, o);
    // Keep the daemon's thresholds: it computed `sla` for `seconds_left`.
    match o.sla {
        SlaState::Late => SlaState::Late,
        _ if l <= 0 => SlaState::Late,
        s => s,
    }
}

fn units(o: &OrderView) -> i64 {
    o.order
        .lines
        .iter()
        .map(|l| {
            let weighed = o
                .walk
                .iter()
                .any(|w| w.line_no == l.line_no && w.unit == Unit::Gram);
            if weighed { 1 } else { l.qty }
        })
        .sum()
}

/// Draws everything.
pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    let [head, body, toast, status, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header(app, f, head);
    let notice = app.visible_notices().next();
    // A standing hint (how to scan, in the demo) keeps a row of its own under the screen while
    // a notice holds the line it would use.
    let (body, hint_row) = match (&app.hint, notice) {
        (Some(_), Some(_)) if body.height > 4 => {
            let [b, h] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(body);
            (b, Some(h))
        }
        _ => (body, None),
    };
    match &app.screen {
        Screen::Queue => queue::queue(app, f, body),
        Screen::Pick(p) => pick::pick(app, f, body, p),
        Screen::Pack(p) => pack::pack(app, f, body, p),
        Screen::Stock(st) => stock::stock(app, f, body, st),
        Screen::Report(r) => report::report(app, f, body, r),
    }
    if let (Some(h), Some(row)) = (&app.hint, hint_row) {
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(
                fit(h, row.width as usize),
                Style::default().fg(Color::Cyan),
            ))),
            row,
        );
    }
    if let Some(t) = &app.toast {
        let line = Line::from(Span::styled(
            fit(&t.text, toast.width as usize),
            Style::default().fg(Color::Black).bg(level_color(&t.level)),
        ));
        f.render_widget(Paragraph::new(line), toast);
    } else if let Some(n) = notice {
        overlay::notice_line(app, f, toast, n);
    } else if let Some(h) = &app.hint {
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(
                fit(h, toast.width as usize),
                Style::default().fg(Color::Cyan),
            ))),
            toast,
        );
    }
    status_bar(app, f, status);
    let hint = match (&app.prompt, &app.screen) {
        (Some(_), _) => "Enter ✓  Esc ✗",
        (None, Screen::Queue) => app.s().queue_keys,
        (None, Screen::Pick(_)) => app.s().pick_keys,
        (None, Screen::Pack(_)) => app.s().pack_keys,
        (None, Screen::Stock(_)) => app.s().stock_keys,
        (None, Screen::Report(_)) => app.s().report_keys,
    };
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            fit(hint, keys.width as usize),
            Style::default().fg(Color::DarkGray),
        ))),
        keys,
    );
    if let Some(p) = &app.prompt {
        overlay::prompt(app, f, area, p.ask.clone(), &p.text);
    }
    if let Some(&id) = app.put_back.front() {
        overlay::put_back(app, f, area, id);
    }
    if let Some(r) = app.deciding.and_then(|id| {
        app.notices
            .iter()
            .find_map(|n| n.request.as_ref().filter(|r| r.id == id))
    }) && app.prompt.is_none()
    {
        overlay::decision(app, f, area, r);
    }
    if let Some(sel) = app.parked
        && app.prompt.is_none()
    {
        overlay::parked(app, f, area, sel);
    }
    if app.help {
        overlay::help(app, f, area);
    }
}

fn header(app: &App, f: &mut Frame, area: Rect) {
    let w = area.width as usize;
    if !app.connected {
        let text = if app.was_connected {
            app.s().reconnecting
        } else {
            app.s().connecting
        };
        let style = Style::default()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD);
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(fit(text, w), style))),
            area,
        );
        return;
    }
    let title = match &app.screen {
        Screen::Queue => app.s().queue.to_string(),
        Screen::Pick(Picking { id, .. }) | Screen::Pack(Packing { id, .. }) => {
            app.order(*id).map_or(String::new(), |o| {
                app.lang.order_title(o.order.platform, o.order.day_seq)
            })
        }
        Screen::Stock(_) => app.s().stock.to_string(),
        Screen::Report(_) => app.s().report.to_string(),
    };
    let left = format!(
        " flashpick · {} · {title}",
        app.store.as_deref().unwrap_or("")
    );
    let mut spans = vec![Span::styled(
        left.clone(),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    let mut used = width(&left);
    if app.unclaimed_new {
        let text = format!("  {}  ", app.s().new_order);
        let style = if app.flash_on {
            Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        };
        used += width(&text);
        spans.push(Span::styled(text, style));
    }
    let clock = crate::model::china_time::time_of_day(app.now);
    spans.push(Span::raw(
        " ".repeat(w.saturating_sub(used + width(&clock) + 1)),
    ));
    spans.push(Span::raw(clock));
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Blue).fg(Color::White)),
        area,
    );
}

fn status_bar(app: &App, f: &mut Frame, area: Rect) {
    let s = app.s();
    let mut spans = Vec::new();
    if let Some(st) = &app.status {
        // Closed (休息) at a platform, or a change it has not confirmed: loud, it costs orders,
        // so first (what does not fit 80 columns is cut from the right).
        for o in &st.open {
            if let Some(text) = app.lang.store_state(o) {
                spans.push(Span::styled(
                    format!("{text} "),
                    Style::default()
                        .fg(Color::White)
                        .bg(Color::Red)
                        .add_modifier(Modifier::BOLD),
                ));
                spans.push(Span::raw("| "));
            }
        }
        // A printer that cannot print, or a job stuck at one: staff reprint elsewhere.
        for p in &st.printers {
            if let Some(text) = printer_problem(app, p) {
                spans.push(Span::styled(
                    format!("{text} "),
                    Style::default()
                        .fg(Color::White)
                        .bg(Color::Red)
                        .add_modifier(Modifier::BOLD),
                ));
                spans.push(Span::raw("| "));
            }
        }
        for ch in &st.channels {
            let (word, color) = if ch.online {
                (s.online, Color::Green)
            } else {
                (s.offline, Color::Red)
            };
            spans.push(Span::raw(format!("{} ", app.lang.channel(&ch.name))));
            spans.push(Span::styled(format!("{word} "), Style::default().fg(color)));
        }
        let pending: i64 = st.outbox.iter().map(|o| o.pending).sum();
        let parked: i64 = st.outbox.iter().map(|o| o.parked).sum();
        spans.push(Span::raw(format!("| {} {pending} ", s.outbox)));
        if parked > 0 {
            spans.push(Span::styled(
                format!("⚠{parked} "),
                Style::default().fg(Color::Red),
            ));
        }
        let up = st.scanners.iter().filter(|x| x.connected).count();
        let color = if up < st.scanners.len() {
            Color::Red
        } else {
            Color::Reset
        };
        spans.push(Span::styled(
            format!("| {} {up}/{} ", s.scanners, st.scanners.len()),
            Style::default().fg(color),
        ));
        let config = st
            .config_version
            .map_or(s.local_config.to_string(), |v| format!("v{v}"));
        spans.push(Span::raw(format!("| {config}")));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Black).fg(Color::Gray)),
        area,
    );
}

/// Jobs wait this long before the screen says so.
const STUCK_SECS: i64 = 120;

/// What is wrong with a printer, in the screen's language; `None` when nothing is.
fn printer_problem(app: &App, p: &crate::api::PrinterStatus) -> Option<String> {
    let s = app.s();
    let zh = app.lang == crate::model::Lang::Zh;
    let word = match p.state.as_deref() {
        Some("paper_out") => Some(if zh { "缺纸" } else { "out of paper" }),
        Some("cover_open") => Some(if zh { "纸仓盖未关" } else { "cover open" }),
        Some("error") => Some(if zh { "故障" } else { "error" }),
        _ if p.online == Some(false) => Some(s.offline),
        _ => None,
    };
    let stuck = p.oldest_secs.filter(|s| *s >= STUCK_SECS && p.waiting > 0);
    if word.is_none() && stuck.is_none() {
        return None;
    }
    let mut text = format!("{} {}", s.printer[0], p.name);
    if let Some(w) = word {
        text.push_str(&format!(": {w}"));
    }
    if p.waiting > 0 {
        text.push_str(&format!(
            " · {}",
            s.printer[1].replace("{n}", &p.waiting.to_string())
        ));
    }
    if let Some(secs) = stuck {
        text.push_str(&format!(
            " · {}",
            s.printer[2].replace("{m}", &(secs / 60).to_string())
        ));
    }
    Some(text)
}

fn qty_text(app: &App, qty: i64, unit: Unit) -> String {
    match unit {
        Unit::Gram => format!("{qty}{}", app.s().grams),
        Unit::Piece => format!("{qty}{}", app.s().pieces),
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
