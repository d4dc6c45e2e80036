//! A printed document before it becomes printer bytes: lines of styled text, rules, a barcode,
//! a cut. Pure; laid out for a paper width in characters (58 mm: 32, 80 mm: 42 or 48), with
//! Chinese two columns wide as on the screens (`model::text`), so that columns line up on
//! paper. [`render_text`] shows a document as the paper would, for snapshots and the file
//! printer's preview.

use crate::model::text::{fit, width, wrap};

/// How large a line prints: normal, or twice as wide and tall (ESC/POS `GS !` 0x11), or three
/// times (0x22: the label's day number, read from across the counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// One column per half-width character.
    Normal,
    /// Twice as wide and tall.
    Double,
    /// Three times as wide and tall.
    Triple,
}

impl Size {
    /// How many times wider than normal.
    pub fn factor(self) -> usize {
        match self {
            Size::Normal => 1,
            Size::Double => 2,
            Size::Triple => 3,
        }
    }
}

/// Where a line sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// From the left edge.
    Left,
    /// In the middle.
    Center,
}

/// One line of text with its style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Styled {
    /// The text; laid out to fit (longer text wraps).
    pub text: String,
    /// Bold (a remark, a total).
    pub bold: bool,
    /// Size.
    pub size: Size,
    /// Alignment.
    pub align: Align,
}

/// A piece of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Text.
    Text(Styled),
    /// A line across the paper of this character.
    Rule(char),
    /// A CODE128 barcode of this content, its text printed under it.
    Barcode(String),
    /// Blank lines.
    Feed(u8),
    /// Cut the paper (partial cut: the slip stays hanging for the packer).
    Cut,
}

/// A document for one paper width.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Doc {
    /// Characters per line at normal size.
    pub columns: usize,
    /// Its pieces, top to bottom.
    pub blocks: Vec<Block>,
}

impl Doc {
    /// An empty document for `columns` characters per line.
    pub fn new(columns: usize) -> Doc {
        Doc {
            columns,
            blocks: Vec::new(),
        }
    }

    /// A plain line on the left.
    pub fn line(&mut self, text: impl Into<String>) -> &mut Self {
        self.styled(text, false, Size::Normal, Align::Left)
    }

    /// A bold line on the left.
    pub fn bold(&mut self, text: impl Into<String>) -> &mut Self {
        self.styled(text, true, Size::Normal, Align::Left)
    }

    /// A line with any style.
    pub fn styled(
        &mut self,
        text: impl Into<String>,
        bold: bool,
        size: Size,
        align: Align,
    ) -> &mut Self {
        self.blocks.push(Block::Text(Styled {
            text: text.into(),
            bold,
            size,
            align,
        }));
        self
    }

    /// Any other block.
    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }

    /// The lines as they fall on paper: each text wrapped to the columns its size leaves, and
    /// aligned; a rule across; the barcode's content. `(line, block)` pairs, so the printer's
    /// encoder styles each line as its block says.
    pub fn laid_out(&self) -> Vec<(String, &Block)> {
        let mut out = Vec::new();
        for b in &self.blocks {
            match b {
                Block::Text(s) => {
                    let cols = (self.columns / s.size.factor()).max(1);
                    for piece in wrap(&s.text, cols) {
                        let line = match s.align {
                            Align::Left => piece.trim_end().to_string(),
                            Align::Center => {
                                let pad = cols.saturating_sub(width(piece.trim_end())) / 2;
                                format!("{}{}", " ".repeat(pad), piece.trim_end())
                            }
                        };
                        out.push((line, b));
                    }
                }
                Block::Rule(c) => out.push((c.to_string().repeat(self.columns), b)),
                Block::Barcode(code) => out.push((code.clone(), b)),
                Block::Feed(n) => {
                    for _ in 0..*n {
                        out.push((String::new(), b));
                    }
                }
                Block::Cut => out.push((String::new(), b)),
            }
        }
        out
    }
}

/// Two columns: `left` cut or padded to leave room for `right` on the right edge.
pub fn columns2(left: &str, right: &str, columns: usize) -> String {
    let room = columns.saturating_sub(width(right) + 1);
    format!("{} {right}", fit(left, room))
}

/// The document as text, one paper line per line: a larger size is marked at the line's end
/// (`«×2»`), bold with `«b»`, a barcode as `[CODE128 …]`, the cut as a scissors line.
pub fn render_text(doc: &Doc) -> String {
    let mut out = String::new();
    for (line, block) in doc.laid_out() {
        match block {
            Block::Text(s) => {
                out.push_str(line.trim_end());
                let mut marks = Vec::new();
                if s.size != Size::Normal {
                    marks.push(format!("×{}", s.size.factor()));
                }
                if s.bold {
                    marks.push("b".to_string());
                }
                if !marks.is_empty() {
                    out.push_str(&format!("  «{}»", marks.join(" ")));
                }
            }
            Block::Rule(_) => out.push_str(&line),
            Block::Barcode(code) => out.push_str(&format!("[CODE128 {code}]")),
            Block::Feed(_) => {}
            Block::Cut => out.push_str(&"✂ ".repeat(doc.columns / 4)),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_the_paper_by_display_width_and_larger_sizes_leave_fewer_columns() {
        let mut d = Doc::new(32);
        d.line("农夫山泉 饮用天然水 550ml 农夫山泉 饮用天然水 550ml");
        d.styled("美团 #23", false, Size::Double, Align::Center);
        d.push(Block::Rule('-'));
        let lines = d.laid_out();
        // 32 columns: the Chinese line wraps at 32 display columns, never mid-character.
        assert!(lines.iter().all(|(l, _)| width(l) <= 32), "{lines:?}");
        assert_eq!(width(&lines[0].0), 32, "{:?}", lines[0]);
        // Double: 16 columns, "美团 #23" is 8 wide, so 4 columns of padding.
        let big = lines.iter().find(|(l, _)| l.contains("美团")).unwrap();
        assert_eq!(big.0, "    美团 #23");
        assert_eq!(columns2("山东 西红柿", "500克", 20), "山东 西红柿    500克");
        assert_eq!(
            width(&columns2("山东 西红柿 非常长的名字", "500克", 20)),
            20
        );
    }
}
