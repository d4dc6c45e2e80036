//! An ESC/POS decoder for the tests only, written from the command reference and apart from the
//! printing code: raw printer bytes back into lines of text with their style, barcodes and
//! cuts. A command it does not know is an error, so bytes nobody meant to send are caught.
//!
//! Known: ESC @ (init), ESC E n (bold), ESC a n (justify), ESC d n (feed n lines), ESC J n
//! (feed dots), GS ! n (size: high nibble width-1, low nibble height-1), GS V m [n] (cut), GS h
//! n / GS w n / GS H n (barcode height, width, text position), GS k 73 n d… (CODE128: `{B` then
//! data), FS & / FS . (Chinese mode on/off), LF; text in GB18030 (two-byte characters only
//! inside the Chinese mode).

/// One printed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    /// Its text, decoded.
    pub text: String,
    /// Bold when printed.
    pub bold: bool,
    /// Width and height multipliers when printed.
    pub size: (u8, u8),
}

/// What a stream of bytes printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paper {
    /// Text lines, in order (blank feeds included as empty lines).
    pub lines: Vec<Printed>,
    /// CODE128 contents, in order.
    pub barcodes: Vec<String>,
    /// Cuts.
    pub cuts: usize,
    /// The printer was initialised (ESC @) this many times.
    pub inits: usize,
    /// Status requests (DLE EOT) among the bytes.
    pub status_queries: usize,
}

/// Decodes `bytes`; the error says where and what.
pub fn decode(bytes: &[u8]) -> Result<Paper, String> {
    let mut paper = Paper::default();
    let (mut bold, mut size, mut chinese) = (false, (1u8, 1u8), false);
    let mut text: Vec<u8> = Vec::new();
    let mut i = 0;
    let arg = |i: usize, n: usize| -> Result<&[u8], String> {
        bytes
            .get(i..i + n)
            .ok_or_else(|| format!("command at {i} cut short"))
    };
    let flush = |text: &mut Vec<u8>, paper: &mut Paper, bold: bool, size: (u8, u8)| {
        let (s, _, bad) = encoding_rs::GB18030.decode(text);
        assert!(!bad, "bytes that are not GB18030: {text:02X?}");
        paper.lines.push(Printed {
            text: s.into_owned(),
            bold,
            size,
        });
        text.clear();
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            0x0A => {
                flush(&mut text, &mut paper, bold, size);
                i += 1;
            }
            // DLE EOT n: a real-time status request, not printed.
            0x10 => {
                let n = arg(i + 1, 2)?;
                if n[0] != 0x04 || !(1..=4).contains(&n[1]) {
                    return Err(format!(
                        "DLE {:02X} {:02X} at {i}: not DLE EOT 1-4",
                        n[0], n[1]
                    ));
                }
                paper.status_queries += 1;
                i += 3;
            }
            0x1B => {
                let cmd = arg(i + 1, 1)?[0];
                match cmd {
                    b'@' => {
                        paper.inits += 1;
                        (bold, size, chinese) = (false, (1, 1), false);
                        i += 2;
                    }
                    b'E' => {
                        bold = arg(i + 2, 1)?[0] & 1 == 1;
                        i += 3;
                    }
                    b'a' | b'J' => i += 3,
                    b'd' => {
                        for _ in 0..arg(i + 2, 1)?[0] {
                            flush(&mut text, &mut paper, bold, size);
                        }
                        i += 3;
                    }
                    other => return Err(format!("ESC {other:#04x} at {i} is not known")),
                }
            }
            0x1D => {
                let cmd = arg(i + 1, 1)?[0];
                match cmd {
                    b'!' => {
                        let n = arg(i + 2, 1)?[0];
                        size = ((n >> 4) + 1, (n & 0x0F) + 1);
                        i += 3;
                    }
                    b'h' | b'w' | b'H' => i += 3,
                    b'V' => {
                        let m = arg(i + 2, 1)?[0];
                        paper.cuts += 1;
                        i += if matches!(m, 0 | 1 | 48 | 49) { 3 } else { 4 };
                    }
                    b'k' => {
                        let m = arg(i + 2, 1)?[0];
                        if m != 73 {
                            return Err(format!("barcode type {m} at {i}: only CODE128 (73)"));
                        }
                        let n = arg(i + 3, 1)?[0] as usize;
                        let data = arg(i + 4, n)?;
                        let Some(rest) = data.strip_prefix(b"{B") else {
                            return Err(format!("CODE128 at {i} does not start with {{B"));
                        };
                        paper
                            .barcodes
                            .push(String::from_utf8(rest.to_vec()).map_err(|e| e.to_string())?);
                        i += 4 + n;
                    }
                    other => return Err(format!("GS {other:#04x} at {i} is not known")),
                }
            }
            0x1C => {
                match arg(i + 1, 1)?[0] {
                    b'&' => chinese = true,
                    b'.' => chinese = false,
                    other => return Err(format!("FS {other:#04x} at {i} is not known")),
                }
                i += 2;
            }
            0x00..=0x1F | 0x7F => return Err(format!("control byte {b:#04x} at {i}")),
            0x20..=0x7E => {
                text.push(b);
                i += 1;
            }
            _ => {
                if !chinese {
                    return Err(format!(
                        "a two-byte character at {i} outside the Chinese mode"
                    ));
                }
                let pair = arg(i, 2)?;
                // GB18030's two-byte trail bytes are 0x40-0x7E and 0x80-0xFE; 0x30-0x39 would
                // start a four-byte character, which thermal printers' fonts do not have.
                if !matches!(pair[1], 0x40..=0x7E | 0x80..=0xFE) {
                    return Err(format!("not a two-byte character at {i}: {pair:02X?}"));
                }
                text.extend_from_slice(pair);
                i += 2;
            }
        }
    }
    if !text.is_empty() {
        flush(&mut text, &mut paper, bold, size);
    }
    Ok(paper)
}
