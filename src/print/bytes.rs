//! A document as ESC/POS bytes for a Chinese thermal printer: the `escpos` crate's command set,
//! text in GB18030 inside the printer's Chinese character mode (`FS &` … `FS .`), sizes by
//! `GS !`, a CODE128 barcode by `GS k 73` (the crate has neither: written from the ESC/POS
//! command reference, each with a byte test), a partial cut. Characters the printers' two-byte
//! fonts lack (emoji, rare four-byte GB18030 characters) are replaced by `?`.

use super::doc::{Block, Doc};
use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::{Encoder, Protocol};
use std::sync::{Arc, Mutex};

/// `FS &`: Chinese character mode on (two-byte characters from here).
pub const CHINESE_ON: [u8; 2] = [0x1C, 0x26];
/// `FS .`: Chinese character mode off.
pub const CHINESE_OFF: [u8; 2] = [0x1C, 0x2E];

/// The bytes could not be made (a bug: every input is replaced or refused before).
#[derive(Debug, thiserror::Error)]
#[error("cannot make the printer's bytes: {0}")]
pub struct EncodeError(String);

/// `GS k 73 n {B data`: CODE128 in code set B (printable ASCII), with the height, module width
/// and the human-readable text below set first (`GS h`, `GS w`, `GS H 2`). `None` when the
/// content is not printable ASCII or longer than the 253 bytes `n` allows with `{B`.
pub fn code128(content: &str) -> Option<Vec<u8>> {
    if content.is_empty()
        || content.len() > 253
        || !content.bytes().all(|b| (0x20..=0x7E).contains(&b))
    {
        return None;
    }
    let mut out = vec![0x1D, 0x68, 80, 0x1D, 0x77, 2, 0x1D, 0x48, 2];
    out.extend([0x1D, 0x6B, 73, (content.len() + 2) as u8, b'{', b'B']);
    out.extend(content.bytes());
    Some(out)
}

/// `text` with every character a thermal printer's GB18030 font lacks replaced by `?`: those
/// GB18030 writes in four bytes (emoji among them), and control characters.
pub fn printable(text: &str) -> String {
    let mut buf = [0u8; 4];
    text.chars()
        .map(|c| {
            if c.is_control() {
                return '?';
            }
            let s: &str = c.encode_utf8(&mut buf);
            let (bytes, _, _) = encoding_rs::GB18030.encode(s);
            if bytes.len() <= 2 { c } else { '?' }
        })
        .collect()
}

/// Collects what the printer would be sent.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Driver for Sink {
    fn name(&self) -> String {
        "bytes".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.lock().expect("sink").extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// The document's bytes, GB18030 text in the Chinese mode.
pub fn encode(doc: &Doc) -> Result<Vec<u8>, EncodeError> {
    let sink = Sink::default();
    let protocol = Protocol::new(Encoder::new(encoding_rs::GB18030));
    let mut p = Printer::new(sink.clone(), protocol, None);
    let e = |e: escpos::errors::PrinterError| EncodeError(e.to_string());
    p.init().map_err(e)?.custom(&CHINESE_ON).map_err(e)?;
    for (line, block) in doc.laid_out() {
        match block {
            Block::Text(s) => {
                let f = s.size.factor() as u8;
                p.bold(s.bold)
                    .map_err(e)?
                    .size(f, f)
                    .map_err(e)?
                    .writeln(&printable(&line))
                    .map_err(e)?
                    .size(1, 1)
                    .map_err(e)?
                    .bold(false)
                    .map_err(e)?;
            }
            Block::Rule(_) => {
                p.writeln(&line).map_err(e)?;
            }
            Block::Barcode(code) => match code128(code) {
                Some(bytes) => {
                    p.custom(&bytes).map_err(e)?.feed().map_err(e)?;
                }
                None => {
                    p.writeln(&printable(code)).map_err(e)?;
                }
            },
            Block::Feed(_) => {
                p.feed().map_err(e)?;
            }
            Block::Cut => {
                p.feeds(3).map_err(e)?.partial_cut().map_err(e)?;
            }
        }
    }
    p.custom(&CHINESE_OFF).map_err(e)?.print().map_err(e)?;
    let bytes = sink.0.lock().expect("sink").clone();
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written from the ESC/POS command reference: GS h n (height in dots), GS w n (module
    /// width), GS H n (2: text below), GS k m=73 n d1…dn with `{B` selecting code set B.
    #[test]
    fn code128_is_gs_k_73_with_code_set_b() {
        assert_eq!(
            code128("ORD1042").unwrap(),
            [
                0x1D, 0x68, 0x50, 0x1D, 0x77, 0x02, 0x1D, 0x48, 0x02, 0x1D, 0x6B, 0x49, 0x09, 0x7B,
                0x42, b'O', b'R', b'D', b'1', b'0', b'4', b'2'
            ]
        );
        assert_eq!(code128(""), None);
        assert_eq!(code128("订单"), None);
        assert_eq!(code128(&"9".repeat(254)), None);
    }

    /// FS & is 0x1C 0x26 and FS . is 0x1C 0x2E.
    #[test]
    fn the_chinese_mode_brackets_the_job_and_text_is_gb18030() {
        let mut d = Doc::new(32);
        d.line("农夫山泉 😀");
        let bytes = encode(&d).unwrap();
        // ESC @ first, then FS &.
        assert_eq!(&bytes[..4], &[0x1B, 0x40, 0x1C, 0x26]);
        assert_eq!(&bytes[bytes.len() - 2..], &CHINESE_OFF);
        // 农 is 0xC5 0xA9 in GB18030 (GB2312 row 37); the emoji became '?'.
        let nong = [0xC5, 0xA9];
        assert!(bytes.windows(2).any(|w| w == nong), "{bytes:02X?}");
        assert!(bytes.contains(&b'?'));
        assert_eq!(printable("🍅番茄\u{7}"), "?番茄?");
    }
}
