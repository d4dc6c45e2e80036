//! Drawn over the screens: a prompt, the put-back alert, help.

use super::centered;
use crate::tui::app::{App, Ask};
use crate::tui::text::{fit, wrap};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub(super) fn prompt(app: &App, f: &mut Frame, area: Rect, ask: Ask, text: &str) {
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

pub(super) fn put_back(app: &App, f: &mut Frame, area: Rect, id: i64) {
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

pub(super) fn help(app: &App, f: &mut Frame, area: Rect) {
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
