//! Drawn over the screens: a prompt, the put-back alert, help.

use super::centered;
use crate::api::Notice;
use crate::model::Timestamp;
use crate::model::request::CustomerRequest;
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
        Ask::RejectReason(_) => s.reject_reason.to_string(),
        Ask::CloseReason => s.close_reason.to_string(),
        Ask::PickupCode { .. } => s.pickup_prompt.to_string(),
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
    // A cancelled order gives back everything picked; a live one what a refund took off it.
    let cancelled = o.order.state == crate::model::OrderState::Cancelled;
    let count = |l: &crate::model::OrderLine| {
        if cancelled {
            l.picked + l.put_back
        } else {
            l.put_back
        }
    };
    let items: Vec<_> = o.order.lines.iter().filter(|l| count(l) > 0).collect();
    let r = centered(area, 64, items.len() as u16 + 6);
    f.render_widget(Clear, r);
    let style = Style::default()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD);
    let title = if cancelled {
        app.lang.cancelled(o.order.day_seq)
    } else {
        app.lang.refunded(o.order.day_seq)
    };
    let mut lines = vec![Line::from(title), Line::from(s.put_back)];
    for l in items {
        let loc = o
            .walk
            .iter()
            .find(|x| x.line_no == l.line_no)
            .map_or("", |x| x.location.as_str());
        let n = match l.weighed_g {
            Some(g) if cancelled => format!("{}{}", g + l.put_back, s.grams),
            _ if l.weighed_g.is_some() => format!("{}{}", count(l), s.grams),
            _ => count(l).to_string(),
        };
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

/// "美团 #23", or the platform's order id while the order is not here.
fn request_order(app: &App, r: &CustomerRequest) -> String {
    match r.order_id.and_then(|id| app.order(id)) {
        Some(o) => app.lang.order_title(o.order.platform, o.order.day_seq),
        None => format!(
            "{} {}",
            app.lang.platform(r.asked.platform),
            r.asked.external_id
        ),
    }
}

fn secs_left(app: &App, due: Option<i64>) -> i64 {
    due.map_or(0, |d| ((d - app.now.0) / 1000).max(0))
}

/// The standing notice, on the line toasts use: flashing until resolved or snoozed here.
pub(super) fn notice_line(app: &App, f: &mut Frame, area: Rect, n: &Notice) {
    let s = app.s();
    let text = match &n.request {
        // The order, the time left and the keys first: the items are cut on a narrow screen.
        Some(r) => format!(
            "⚠ {} {} · {} · {}",
            request_order(app, r),
            app.lang.decide_left(secs_left(app, n.due)),
            s.notice_keys,
            app.lang.request_kind(r),
        ),
        // An order waiting to be accepted counts down to its deadline.
        None if n.due.is_some() && n.escalate_at.is_some() => format!(
            "⚠ {} · {} · {}",
            n.message,
            app.lang.decide_left(secs_left(app, n.due)),
            s.notice_keys
        ),
        None => format!("⚠ {} · {}", n.message, s.notice_keys),
    };
    // Escalated (the acceptance deadline near): red whatever the flash.
    let (fg, bg) = if app.escalated(n) {
        (Color::White, Color::Red)
    } else if app.flash_on {
        (Color::Black, Color::Red)
    } else {
        (Color::Black, Color::Yellow)
    };
    let line = Line::from(Span::styled(
        fit(&text, area.width as usize),
        Style::default().fg(fg).bg(bg).add_modifier(Modifier::BOLD),
    ));
    f.render_widget(Paragraph::new(line), area);
}

/// The decision on a customer's request: what is asked, why, the time left, the keys.
pub(super) fn decision(app: &App, f: &mut Frame, area: Rect, r: &CustomerRequest) {
    let s = app.s();
    let inner = 60usize;
    let mut lines = vec![
        Line::from(Span::styled(
            format!("{} · {}", s.request_title, request_order(app, r)),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
    ];
    for l in wrap(&app.lang.request_kind(r), inner) {
        lines.push(Line::from(l));
    }
    if !r.asked.reason.is_empty() {
        for l in wrap(&format!("{}{}", s.customer_reason, r.asked.reason), inner) {
            lines.push(Line::from(l));
        }
    }
    let left = r.secs_left(Timestamp(app.now.0));
    lines.push(Line::from(Span::styled(
        app.lang.decide_left(left),
        Style::default().fg(if left > 60 { Color::Yellow } else { Color::Red }),
    )));
    lines.push(Line::from(""));
    lines.push(Line::from(s.decide_keys));
    let rect = centered(area, inner as u16 + 4, lines.len() as u16 + 2);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::default().fg(Color::Yellow)),
        ),
        rect,
    );
}

/// The rows parked for a person: each with its id, what it was, the order and the reason.
pub(super) fn parked(app: &App, f: &mut Frame, area: Rect, sel: usize) {
    let s = app.s();
    let inner = (area.width.saturating_sub(6) as usize).min(72);
    let rows = app.parked_rows();
    let mut lines = vec![
        Line::from(Span::styled(
            fit(s.parked[0], inner),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
    ];
    if rows.is_empty() {
        lines.push(Line::from(s.parked[2]));
    }
    for (i, r) in rows.iter().enumerate() {
        let what = r.action.as_deref().unwrap_or(&r.kind).replace('_', " ");
        let order = r.order.as_deref().unwrap_or("-");
        let style = if i == sel {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(
            fit(&format!("#{} {what} · {order}", r.id), inner),
            style.add_modifier(Modifier::BOLD),
        )));
        for l in wrap(&r.reason, inner.saturating_sub(2)).into_iter().take(3) {
            lines.push(Line::from(Span::styled(
                format!("  {l}"),
                Style::default().fg(Color::Red),
            )));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(fit(s.parked[1], inner)));
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, inner as u16 + 4, height);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::default().fg(Color::Red)),
        ),
        rect,
    );
}
