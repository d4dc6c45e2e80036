//! Rendering: a pure function of the state. Columns are laid out with our own width-aware
//! padding (`text::fit`) so Chinese names line up.

use super::app::{App, Ask, Screen};
use super::text::{fit, mmss, width, wrap};
use crate::api::{OrderView, ScanOutcome};
use crate::model::{OrderState, SlaState, Unit};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

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
    match &app.screen {
        Screen::Queue => queue(app, f, body),
        Screen::Pick(id) => pick(app, f, body, *id),
        Screen::Pack(id) => pack(app, f, body, *id),
        Screen::Stock => stock(app, f, body),
    }
    if let Some(t) = &app.toast {
        let line = Line::from(Span::styled(
            fit(&t.text, toast.width as usize),
            Style::default().fg(Color::Black).bg(level_color(&t.level)),
        ));
        f.render_widget(Paragraph::new(line), toast);
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
        (None, Screen::Stock) => app.s().stock_keys,
    };
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            fit(hint, keys.width as usize),
            Style::default().fg(Color::DarkGray),
        ))),
        keys,
    );
    if let Some(p) = &app.prompt {
        prompt(app, f, area, p.ask.clone(), &p.text);
    }
    if let Some(&id) = app.put_back.front() {
        put_back(app, f, area, id);
    }
    if app.help {
        help(app, f, area);
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
        Screen::Pick(id) | Screen::Pack(id) => app.order(*id).map_or(String::new(), |o| {
            app.lang.order_title(o.order.platform, o.order.day_seq)
        }),
        Screen::Stock => app.s().stock.to_string(),
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

fn queue(app: &App, f: &mut Frame, area: Rect) {
    let s = app.s();
    let w = area.width as usize;
    let picking = app
        .orders
        .iter()
        .filter(|o| o.order.state == OrderState::Picking)
        .count();
    let open = app
        .orders
        .iter()
        .filter(|o| o.order.state.is_open())
        .count();
    let cap = s
        .capacity
        .replace("{open}", &open.to_string())
        .replace("{picking}", &picking.to_string());
    // Due, platform, #, lines, units, picker, state.
    let widths = [7usize, 9, 5, 3, 6, 10, 10];
    let head: String = s
        .queue_cols
        .iter()
        .zip(widths)
        .map(|(c, w)| fit(c, w) + " ")
        .collect();
    let mut lines = vec![
        Line::from(Span::styled(fit(&cap, w), Style::default().fg(Color::Cyan))),
        Line::from(Span::styled(
            fit(&head, w),
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )),
    ];
    if app.orders.is_empty() {
        lines.push(Line::from(s.no_orders));
    }
    let rows = area.height.saturating_sub(2) as usize;
    let first = app.queue_sel.saturating_sub(rows.saturating_sub(1));
    for (i, o) in app.orders.iter().enumerate().skip(first).take(rows) {
        let sla = sla_now(app, o);
        let due = if o.order.state.is_open() {
            mmss(left(app, o))
        } else {
            "--".into()
        };
        let cells = [
            fit(&due, widths[0]),
            fit(app.lang.platform(o.order.platform), widths[1]),
            fit(&format!("#{}", o.order.day_seq), widths[2]),
            fit(&o.order.lines.len().to_string(), widths[3]),
            fit(&units(o).to_string(), widths[4]),
            fit(o.order.picker.as_deref().unwrap_or("-"), widths[5]),
            fit(app.lang.state(o.order.state), widths[6]),
        ];
        let selected = i == app.queue_sel;
        let base = if selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        let mut spans = vec![Span::styled(
            cells[0].clone() + " ",
            base.fg(sla_color(sla)).add_modifier(Modifier::BOLD),
        )];
        for c in &cells[1..] {
            spans.push(Span::styled(c.clone() + " ", base));
        }
        if o.order.return_pending {
            spans.push(Span::styled("⚠", Style::default().fg(Color::Red)));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn qty_text(app: &App, qty: i64, unit: Unit) -> String {
    match unit {
        Unit::Gram => format!("{qty}{}", app.s().grams),
        Unit::Piece => format!("{qty}{}", app.s().pieces),
    }
}

fn pick(app: &App, f: &mut Frame, area: Rect, id: i64) {
    let Some(o) = app.order(id) else { return };
    let s = app.s();
    let w = area.width as usize;
    let sla = sla_now(app, o);
    let mut head = vec![
        Span::styled(
            format!(
                " {} ",
                app.lang.order_title(o.order.platform, o.order.day_seq)
            ),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!("{} {} ", app.lang.sla(sla), mmss(left(app, o))),
            Style::default()
                .fg(sla_color(sla))
                .add_modifier(Modifier::BOLD),
        ),
    ];
    if let Some(p) = &o.order.picker {
        head.push(Span::raw(format!("· {p}")));
    }
    let mut info_lines = vec![Line::from(head)];
    if let Some(remark) = o.order.remark.as_deref() {
        info_lines.push(Line::from(Span::styled(
            fit(&format!(" {}：{remark}", s.remark), w),
            Style::default().fg(Color::Yellow),
        )));
    }
    // Items the catalog does not know are on no line: say so, or the picker never looks.
    if !o.order.unknown_items.is_empty() {
        let items: Vec<String> = o
            .order
            .unknown_items
            .iter()
            .map(|u| format!("{} ×{}", u.name, u.qty))
            .collect();
        info_lines.push(Line::from(Span::styled(
            fit(&format!(" {}：{}", s.not_in_catalog, items.join("、")), w),
            Style::default().fg(Color::White).bg(Color::Red),
        )));
    }
    let [info, scan, table] = Layout::vertical([
        Constraint::Length(info_lines.len().max(2) as u16),
        Constraint::Length(3),
        Constraint::Min(1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(info_lines), info);
    // The last scan, large and coloured.
    if let Some(r) = &app.last_scan {
        let ok = matches!(r.result, ScanOutcome::Ok | ScanOutcome::Badge);
        let style = if ok {
            Style::default()
                .fg(Color::Black)
                .bg(Color::Green)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        };
        let text = app.lang.scan_result(r);
        let lines: Vec<Line> = wrap(&text, w.saturating_sub(2))
            .into_iter()
            .take(3)
            .map(|l| Line::from(Span::styled(fit(&format!(" {l}"), w), style)))
            .collect();
        f.render_widget(Paragraph::new(lines).style(style), scan);
    } else if o.order.lines.iter().all(|l| l.remaining() == 0) {
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(
                fit(&format!(" {}", s.ready_to_complete), w),
                Style::default().fg(Color::Black).bg(Color::Cyan),
            ))),
            scan,
        );
    }
    let widths = [8usize, 22, 8, 7, 7, 5];
    // Two columns for the ✔ mark, as on every row.
    let head: String = std::iter::once("  ".to_string())
        .chain(s.pick_cols.iter().zip(widths).map(|(c, w)| fit(c, w) + " "))
        .collect();
    let mut lines = vec![Line::from(Span::styled(
        fit(&head, w),
        Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
    ))];
    for (i, walk) in o.walk.iter().enumerate() {
        let Some(l) = o.order.lines.iter().find(|x| x.line_no == walk.line_no) else {
            continue;
        };
        let done = l.remaining() == 0;
        let name_w = widths[1];
        let name = if walk.unit == Unit::Gram {
            format!("{} [{}]", l.name, s.weighed)
        } else {
            l.name.clone()
        };
        let picked = match l.weighed_g {
            Some(g) => qty_text(app, g, Unit::Gram),
            None => qty_text(app, l.picked, walk.unit),
        };
        let cells = [
            fit(&walk.location, widths[0]),
            fit(&name, name_w),
            fit(walk.spec.as_deref().unwrap_or(""), widths[2]),
            fit(&qty_text(app, l.qty, walk.unit), widths[3]),
            fit(&picked, widths[4]),
            fit(
                &if l.short > 0 {
                    l.short.to_string()
                } else {
                    String::new()
                },
                widths[5],
            ),
        ];
        let mut style = if done {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        };
        if l.short > 0 {
            style = style.fg(Color::Yellow);
        }
        if i == app.line_sel {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let mark = if done { "✔ " } else { "  " };
        lines.push(Line::from(Span::styled(
            fit(&format!("{mark}{}", cells.join(" ")), w),
            style,
        )));
    }
    f.render_widget(Paragraph::new(lines), table);
}

fn pack(app: &App, f: &mut Frame, area: Rect, id: i64) {
    let Some(o) = app.order(id) else { return };
    let s = app.s();
    let w = area.width as usize;
    let mut lines = vec![
        Line::from(Span::styled(
            format!(
                " {}  {}",
                app.lang.order_title(o.order.platform, o.order.day_seq),
                app.lang.state(o.order.state)
            ),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
    ];
    for l in &o.order.lines {
        let unit = o
            .walk
            .iter()
            .find(|x| x.line_no == l.line_no)
            .map_or(Unit::Piece, |x| x.unit);
        let got = l.weighed_g.map_or_else(
            || qty_text(app, l.picked, unit),
            |g| qty_text(app, g, Unit::Gram),
        );
        let mark = if l.short > 0 { "⚠" } else { "☑" };
        let short = if l.short > 0 {
            format!("  (-{})", qty_text(app, l.short, unit))
        } else {
            String::new()
        };
        lines.push(Line::from(fit(
            &format!(" {mark} {} × {got}{short}", l.name),
            w,
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        format!(" {}: {}", s.bags, o.order.bags.unwrap_or(app.bags)),
        Style::default().add_modifier(Modifier::BOLD),
    )));
    let code = o
        .order
        .pickup_code
        .clone()
        .unwrap_or_else(|| format!("#{}", o.order.day_seq));
    lines.push(Line::from(Span::styled(
        format!(" {}: {code}", s.pickup),
        Style::default()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
    )));
    f.render_widget(Paragraph::new(lines), area);
}

fn stock(app: &App, f: &mut Frame, area: Rect) {
    let s = app.s();
    let w = area.width as usize;
    let widths = [8usize, 24, 8, 7, 7, 14];
    let head: String = s
        .stock_cols
        .iter()
        .zip(widths)
        .map(|(c, w)| fit(c, w) + " ")
        .collect();
    let mut lines = vec![
        Line::from(format!(" {}{}", s.search, app.query)),
        Line::from(Span::styled(
            fit(&head, w),
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )),
    ];
    for (i, item) in app.items.iter().enumerate() {
        let cells = [
            fit(&item.sku.0, widths[0]),
            fit(&item.name, widths[1]),
            fit(&item.location, widths[2]),
            fit(&item.on_hand.to_string(), widths[3]),
            fit(&item.reserved.to_string(), widths[4]),
            fit(item.barcodes.first().map_or("", String::as_str), widths[5]),
        ];
        let style = if i == app.item_sel {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(fit(&cells.join(" "), w), style)));
    }
    f.render_widget(Paragraph::new(lines), area);
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

fn prompt(app: &App, f: &mut Frame, area: Rect, ask: Ask, text: &str) {
    let s = app.s();
    let label = match &ask {
        Ask::ShortQty { .. } => s.short_qty.to_string(),
        Ask::ShortReason { .. } => s.short_reason.to_string(),
        Ask::Search => s.search.to_string(),
        Ask::Receive(sku) => format!("{sku} {}", s.receive_qty),
        Ask::Count(sku) => format!("{sku} {}", s.count_qty),
        Ask::AdjustQty(sku) => format!("{sku} {}", s.adjust_qty),
        Ask::AdjustReason(sku, d) => format!("{sku} {d:+} {}", s.reason),
    };
    let r = centered(area, 60, 4);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Cyan));
    let lines = vec![
        Line::from(fit(&label, r.width.saturating_sub(2) as usize)),
        Line::from(Span::styled(
            format!("> {text}▏"),
            Style::default().add_modifier(Modifier::BOLD),
        )),
    ];
    f.render_widget(Paragraph::new(lines).block(block), r);
}

fn put_back(app: &App, f: &mut Frame, area: Rect, id: i64) {
    let s = app.s();
    let Some(o) = app.order(id) else { return };
    let items: Vec<_> = o.order.lines.iter().filter(|l| l.picked > 0).collect();
    let r = centered(area, 64, items.len() as u16 + 6);
    f.render_widget(Clear, r);
    let style = Style::default()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::from(app.lang.cancelled(o.order.day_seq)),
        Line::from(s.put_back),
    ];
    for l in items {
        let loc = o
            .walk
            .iter()
            .find(|x| x.line_no == l.line_no)
            .map_or("", |x| x.location.as_str());
        let n = l
            .weighed_g
            .map_or_else(|| l.picked.to_string(), |g| format!("{g}{}", s.grams));
        lines.push(Line::from(format!("  {loc}  {} × {n}", l.name)));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(s.cancel_keys));
    f.render_widget(
        Paragraph::new(lines)
            .style(style)
            .block(Block::default().borders(Borders::ALL)),
        r,
    );
}

fn help(app: &App, f: &mut Frame, area: Rect) {
    let s = app.s();
    let r = centered(
        area,
        area.width.saturating_sub(4),
        s.help_lines.len() as u16 * 2 + 2,
    );
    f.render_widget(Clear, r);
    let mut lines = Vec::new();
    for l in s.help_lines {
        for part in wrap(l, r.width.saturating_sub(2) as usize) {
            lines.push(Line::from(part));
        }
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(s.help)),
        r,
    );
}
