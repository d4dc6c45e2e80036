//! The pack screen: what was picked, the bags, the pickup code.

use super::qty_text;
use crate::model::Unit;
use crate::tui::app::{App, Packing};
use crate::tui::text::fit;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn pack(app: &App, f: &mut Frame, area: Rect, p: &Packing) {
    let Some(o) = app.order(p.id) else { return };
    let s = app.s();
    let w = area.width as usize;
    let mut lines = vec![
        Line::from(Span::styled(
            format!(
                " {}  {}{}",
                app.lang.order_title(o.order.platform, o.order.day_seq),
                app.lang.state(o.order.state),
                // Picked in a batch: the cart's slot its goods are in.
                o.order.batch.as_ref().map_or(String::new(), |b| format!(
                    "  【{}】",
                    app.lang.slot(&b.slot)
                ))
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
        // A weighed line under its ordered weight: the difference the customer paid for, in
        // grams and money (no platform call refunds it: assets/platforms.md).
        let under = l
            .weighed_g
            .map(|g| l.picked.min(l.qty) - g)
            .filter(|d| *d > 0)
            .map(|d| {
                let fen = l.unit_price.0.saturating_mul(d);
                format!(
                    "  {} {d}{} ≈ ¥{}.{:02}",
                    s.under_weight,
                    s.grams,
                    fen / 100,
                    fen % 100
                )
            })
            .unwrap_or_default();
        lines.push(Line::from(fit(
            &format!(" {mark} {} × {got}{short}{under}", l.name),
            w,
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        format!(" {}: {}", s.bags, o.order.bags.unwrap_or(p.bags)),
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
    // Only the store's own riders and the customer at the counter are handled differently.
    let leaves = match o.order.delivery {
        Some(crate::model::Delivery::Store) => Some(s.leaves_by[0]),
        Some(crate::model::Delivery::Pickup) => Some(s.leaves_by[1]),
        _ => None,
    };
    if let Some(how) = leaves {
        lines.push(Line::from(Span::styled(
            fit(&format!(" {how}"), w),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        )));
    }
    if let Some(r) = &o.order.rider {
        let waiting = r.status == crate::model::rider::RiderStatus::AtStore;
        let style = if waiting {
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(Color::Cyan)
        };
        lines.push(Line::from(Span::styled(
            fit(&format!(" {}", app.lang.rider_line(r)), w),
            style,
        )));
    }
    f.render_widget(Paragraph::new(lines), area);
}
