//! The queue: open orders by pick deadline, with their countdowns.

use super::{left, sla_color, sla_now, units};
use crate::model::OrderState;
use crate::tui::app::App;
use crate::tui::text::{fit, mmss};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn queue(app: &App, f: &mut Frame, area: Rect) {
    let s = app.s();
    let w = area.width as usize;
    let picking = app
        .orders
        .iter()
        .filter(|o| o.order.state == OrderState::Picking)
        .count();
    // Booked orders are not yet work: they are counted when they join the queue.
    let open = app
        .orders
        .iter()
        .filter(|o| o.order.state.is_open() && o.scheduled_until.is_none_or(|t| t <= app.now))
        .count();
    let cap = s
        .capacity
        .replace("{open}", &open.to_string())
        .replace("{picking}", &picking.to_string());
    // Due, platform, #, lines, units, picker, state.
    let widths = [7usize, 9, 5, 3, 6, 10, 18];
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
    let mut booked_shown = false;
    for (i, o) in app.orders.iter().enumerate().skip(first).take(rows) {
        let sla = sla_now(app, o);
        let booked = o.scheduled_until.filter(|t| *t > app.now);
        if booked.is_some() && !booked_shown {
            booked_shown = true;
            lines.push(Line::from(Span::styled(
                fit(s.booked, w),
                Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
            )));
        }
        let due = match booked {
            // When it joins the queue, China time.
            Some(t) => crate::model::china_time::format(t)
                .get(11..16)
                .unwrap_or("--")
                .to_string(),
            None if o.order.state.is_open() => mmss(left(app, o)),
            None => "--".into(),
        };
        let cells = [
            fit(&due, widths[0]),
            fit(app.lang.platform(o.order.platform), widths[1]),
            fit(&format!("#{}", o.order.day_seq), widths[2]),
            fit(&o.order.lines.len().to_string(), widths[3]),
            fit(&units(o).to_string(), widths[4]),
            fit(o.order.picker.as_deref().unwrap_or("-"), widths[5]),
            fit(&state_text(app, o), widths[6]),
        ];
        let selected = i == app.queue_sel;
        let base = if selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        let due_style = if booked.is_some() {
            base.fg(Color::DarkGray)
        } else {
            base.fg(sla_color(sla)).add_modifier(Modifier::BOLD)
        };
        let mut spans = vec![Span::styled(cells[0].clone() + " ", due_style)];
        for c in &cells[1..] {
            spans.push(Span::styled(c.clone() + " ", base));
        }
        if o.order.return_pending {
            spans.push(Span::styled("⚠", Style::default().fg(Color::Red)));
        }
        if o.order.reminded_at.is_some() && o.order.state.is_open() {
            spans.push(Span::styled(
                format!("{} ", app.lang.reminded()),
                Style::default()
                    .fg(Color::Black)
                    .bg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            ));
        }
        if let Some(r) = &o.order.rider {
            use crate::model::rider::RiderStatus as R;
            let color = match r.status {
                R::AtStore | R::Cancelled => Color::Red,
                R::Assigned => Color::Yellow,
                _ => Color::DarkGray,
            };
            spans.push(Span::styled(app.lang.rider(r), Style::default().fg(color)));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// The order's state, and whether its documents printed (the store's printers) or wait.
fn state_text(app: &App, o: &crate::api::OrderView) -> String {
    let state = app.lang.state(o.order.state);
    let [printed, waiting] = app.s().printed;
    if o.print_waiting > 0 {
        format!("{state} {waiting}")
    } else if o.printed > 0 {
        format!("{state} {printed}")
    } else {
        state.to_string()
    }
}
