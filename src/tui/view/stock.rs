//! The stock screen: a search and the items it found, with their figures.

use crate::tui::app::{App, StockScreen};
use crate::tui::text::fit;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn stock(app: &App, f: &mut Frame, area: Rect, st: &StockScreen) {
    let s = app.s();
    let w = area.width as usize;
    let widths = [8usize, 24, 8, 7, 7, 14];
    let head: String = s
        .stock_cols
        .iter()
        .zip(widths)
        .map(|(c, w)| fit(c, w) + " ")
        .collect();
    let title = if st.query.is_empty() {
        format!(" {}", s.sold_out_list)
    } else {
        format!(" {}{}", s.search, st.query)
    };
    let mut lines = vec![
        Line::from(title),
        Line::from(Span::styled(
            fit(&head, w),
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )),
    ];
    for (i, item) in st.items.iter().enumerate() {
        // Marked sold out: said before the name, so it shows on any width.
        let name = match item.sold_out_at {
            Some(_) => format!("{} {}", s.sold_out, item.name),
            None => item.name.clone(),
        };
        let cells = [
            fit(&item.sku.0, widths[0]),
            fit(&name, widths[1]),
            fit(&item.location, widths[2]),
            fit(&item.on_hand.to_string(), widths[3]),
            fit(&item.reserved.to_string(), widths[4]),
            fit(item.barcodes.first().map_or("", String::as_str), widths[5]),
        ];
        let style = if i == st.item_sel {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(fit(&cells.join(" "), w), style)));
    }
    f.render_widget(Paragraph::new(lines), area);
}
