//! The pick screen: the order's lines in shelf walk order and the last scan, large.

use super::{left, qty_text, sla_color, sla_now};
use crate::api::ScanOutcome;
use crate::model::Unit;
use crate::tui::app::{App, Picking};
use crate::tui::text::{fit, mmss, wrap};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn pick(app: &App, f: &mut Frame, area: Rect, p: &Picking) {
    let Some(o) = app.order(p.id) else { return };
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
    if let Some(r) = &p.last_scan {
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
        let text = match r.slot.as_deref().filter(|_| r.result == ScanOutcome::Ok) {
            // In a batch: where the unit goes first, loud.
            Some(slot) => format!("{} · {}", app.lang.put_in(slot), app.lang.scan_result(r)),
            None => app.lang.scan_result(r),
        };
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
        if i == p.line_sel {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let mark = if done { "✔ " } else { "  " };
        lines.push(Line::from(Span::styled(
            fit(&format!("{mark}{}", cells.join(" ")), w),
            style,
        )));
        // A customer asks for some of this line back (a partial refund waiting for a manager):
        // the picker sees it live, under the line.
        let asked = asked_back(app, o.order.id.0, l);
        if asked > 0 {
            lines.push(Line::from(Span::styled(
                fit(
                    &format!(
                        "   ↳ {} ×{}",
                        s.refund_asked,
                        qty_text(app, asked, walk.unit)
                    ),
                    w,
                ),
                Style::default()
                    .fg(Color::Magenta)
                    .add_modifier(Modifier::BOLD),
            )));
        }
    }
    f.render_widget(Paragraph::new(lines), table);
}

/// Units of this line a customer asks to have refunded, in partial refunds still waiting for a
/// manager (matched as the store matches a granted one: by the item's code, then its name).
fn asked_back(app: &App, order_id: i64, l: &crate::model::OrderLine) -> i64 {
    use crate::model::request::{RequestKind, RequestState};
    app.notices
        .iter()
        .filter_map(|n| n.request.as_ref())
        .filter(|r| {
            r.order_id == Some(order_id)
                && r.asked.kind == RequestKind::PartRefund
                && r.state == RequestState::Open
        })
        .flat_map(|r| r.asked.items.iter())
        .filter(|i| {
            i.code.as_deref() == Some(l.sku.as_str()) || (!i.name.is_empty() && i.name == l.name)
        })
        .map(|i| i.count)
        .sum()
}
