//! A printer's answer to DLE EOT (real-time status: the printer answers it on receipt, even
//! while its buffer is full). Pure: the bytes in, what is wrong out. From the ESC/POS command
//! reference: every status byte has bits 0 and 7 clear and bits 1 and 4 set; `DLE EOT 2`
//! (offline cause) sets bit 2 for a cover open, bit 5 for printing stopped at a paper end,
//! bit 6 for an error; `DLE EOT 4` (roll paper sensor) sets bits 2–3 near the end of the
//! roll and bits 5–6 at its end.

/// Ask for the offline cause, then the paper sensor: a byte comes back for each. Asked one at a
/// time: a printer answering two queries at once sends its second byte only after the first is
/// acknowledged, which the asking side delays (40 ms each time on Linux).
pub const QUERIES: [[u8; 3]; 2] = [[0x10, 0x04, 0x02], [0x10, 0x04, 0x04]];

/// What the printer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterState {
    /// Ready (perhaps with the roll near its end).
    Ready {
        /// The paper is nearly out: change the roll soon.
        paper_low: bool,
    },
    /// Out of paper.
    PaperOut,
    /// Its cover is open.
    CoverOpen,
    /// It reports an error (a cutter jam, overheating).
    Error,
}

impl PrinterState {
    /// Whether it can print.
    pub fn ready(self) -> bool {
        matches!(self, PrinterState::Ready { .. })
    }

    /// As the status names it.
    pub fn as_str(self) -> &'static str {
        match self {
            PrinterState::Ready { paper_low: false } => "ready",
            PrinterState::Ready { paper_low: true } => "paper_low",
            PrinterState::PaperOut => "paper_out",
            PrinterState::CoverOpen => "cover_open",
            PrinterState::Error => "error",
        }
    }

    /// What staff are told, in their language.
    pub fn say(self, lang: crate::model::Lang) -> &'static str {
        use crate::model::Lang::{En, Zh};
        match (self, lang) {
            (PrinterState::Ready { paper_low: false }, Zh) => "正常",
            (PrinterState::Ready { paper_low: false }, En) => "ready",
            (PrinterState::Ready { paper_low: true }, Zh) => "纸将用完",
            (PrinterState::Ready { paper_low: true }, En) => "paper low",
            (PrinterState::PaperOut, Zh) => "缺纸",
            (PrinterState::PaperOut, En) => "out of paper",
            (PrinterState::CoverOpen, Zh) => "纸仓盖未关",
            (PrinterState::CoverOpen, En) => "cover open",
            (PrinterState::Error, Zh) => "故障",
            (PrinterState::Error, En) => "printer error",
        }
    }
}

/// Whether a byte has the shape of a status byte (a printer that does not speak DLE EOT may
/// send anything back, or nothing).
fn is_status(b: u8) -> bool {
    b & 0x93 == 0x12
}

/// The state from the answers to [`QUERIES`]; `None` when they are not status bytes.
pub fn parse(answer: &[u8]) -> Option<PrinterState> {
    let [offline, paper] = answer else {
        return None;
    };
    if !is_status(*offline) || !is_status(*paper) {
        return None;
    }
    Some(if paper & 0x60 == 0x60 || offline & 0x20 != 0 {
        PrinterState::PaperOut
    } else if offline & 0x04 != 0 {
        PrinterState::CoverOpen
    } else if offline & 0x40 != 0 {
        PrinterState::Error
    } else {
        PrinterState::Ready {
            paper_low: paper & 0x0C == 0x0C,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bytes_read_as_the_reference_says() {
        assert_eq!(
            parse(&[0x12, 0x12]),
            Some(PrinterState::Ready { paper_low: false })
        );
        assert_eq!(
            parse(&[0x12, 0x1E]),
            Some(PrinterState::Ready { paper_low: true })
        );
        assert_eq!(parse(&[0x12, 0x72]), Some(PrinterState::PaperOut));
        assert_eq!(parse(&[0x32, 0x12]), Some(PrinterState::PaperOut));
        assert_eq!(parse(&[0x16, 0x12]), Some(PrinterState::CoverOpen));
        assert_eq!(parse(&[0x52, 0x12]), Some(PrinterState::Error));
        // Not status bytes: a printer that echoes, or answers one byte.
        assert_eq!(parse(&[0x10, 0x04]), None);
        assert_eq!(parse(&[0x12]), None);
        assert_eq!(parse(&[0x93, 0x12]), None);
    }
}
