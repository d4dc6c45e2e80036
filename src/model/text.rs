//! Text that fits: display width of CJK (two columns) and Latin (one), truncation, padding and
//! wrapping, for the screens and for paper (ratatui's wrapping has open bugs with wide
//! characters, and a thermal printer lays out by the same widths).

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns `s` takes on a terminal.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `w` columns (with `…` when cut), then padded with spaces to exactly `w`.
pub fn fit(s: &str, w: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    if width(s) <= w {
        out.push_str(s);
        used = width(s);
    } else if w > 0 {
        for c in s.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > w.saturating_sub(1) {
                break;
            }
            out.push(c);
            used += cw;
        }
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(used)));
    out
}

/// `s` in lines of at most `w` columns, never splitting a wide character.
pub fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(2);
    let mut lines = vec![String::new()];
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            lines.push(String::new());
            used = 0;
        }
        lines.last_mut().expect("one line").push(c);
        used += cw;
    }
    lines
}

/// A countdown: `9:53`, or `-1:05` when late.
pub fn mmss(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    format!("{sign}{}:{:02}", s / 60, s % 60)
}

/// `92.6%`, or `-` when there is nothing to count.
pub fn percent(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_takes_two_columns_and_is_cut_on_character_boundaries() {
        assert_eq!(width("农夫山泉"), 8);
        assert_eq!(fit("农夫山泉 550ml", 8), "农夫山… ");
        assert_eq!(width(&fit("农夫山泉 550ml", 8)), 8);
        assert_eq!(fit("奶", 4), "奶  ");
        assert_eq!(fit("abc", 2), "a…");
        assert_eq!(wrap("光明鲜牛奶 1L", 6), ["光明鲜", "牛奶 1", "L"]);
        assert_eq!(mmss(593), "9:53");
        assert_eq!(mmss(-65), "-1:05");
    }
}
