//! The printers, each checked: reached, its answer to DLE EOT, its paper; from the running
//! daemon's own view when it has one (it holds the jobs), else by reaching the printer.

use super::{Finding, Level, bad, ok};
use crate::api::{PrinterStatus, Status};
use crate::config::PrinterConfig;
use crate::print::device;
use crate::print::status::PrinterState;

/// Jobs waiting longer than this are a warning.
const STUCK_SECS: i64 = 120;

/// One finding per printer.
pub fn check(printers: &[PrinterConfig], status: Option<&Status>) -> Vec<Finding> {
    printers
        .iter()
        .map(|p| {
            let seen = status.and_then(|s| s.printers.iter().find(|x| x.name == p.name));
            match seen {
                Some(s) if s.online.is_some() => from_daemon(p, s),
                _ => reach(p),
            }
        })
        .collect()
}

fn from_daemon(p: &PrinterConfig, s: &PrinterStatus) -> Finding {
    let check = format!("printer {}", p.name);
    let waiting = format!("{} jobs waiting", s.waiting);
    if let Some(word) = s
        .state
        .as_deref()
        .filter(|w| !matches!(*w, "ready" | "paper_low"))
    {
        return bad(
            Level::Fail,
            check,
            format!("{}: says {word}; {waiting}", p.address),
            fix_for(word),
        );
    }
    if s.online == Some(false) {
        return bad(
            Level::Fail,
            check,
            format!(
                "{}: not taking jobs ({}); {waiting}",
                p.address,
                s.last_error.as_deref().unwrap_or("no answer")
            ),
            "switch it on and check its cable or network; the jobs wait and print once, in order, when it is back (or reprint elsewhere: flashpick print slip|label ORDER --printer NAME)",
        );
    }
    if let Some(secs) = s.oldest_secs.filter(|x| *x >= STUCK_SECS && s.waiting > 0) {
        return bad(
            Level::Warn,
            check,
            format!("{}: the oldest job has waited {} min", p.address, secs / 60),
            "see `journalctl -u flashpick` for the printer's errors; reprint elsewhere if the order cannot wait",
        );
    }
    let paper = if s.state.as_deref() == Some("paper_low") {
        ", paper low: have a roll ready"
    } else {
        ""
    };
    ok(
        check,
        format!("{}: printing ({} printed){paper}", p.address, s.printed),
    )
}

fn reach(p: &PrinterConfig) -> Finding {
    let check = format!("printer {}", p.name);
    // A printer that says it is not ready answers with an error carrying its state.
    let probed = match device::probe(p) {
        Err(e) if e.state.is_some() => Ok(e.state),
        other => other,
    };
    match probed {
        Ok(Some(state)) if !state.ready() => bad(
            Level::Fail,
            check,
            format!("{}: says {}", p.address, state.as_str()),
            fix_for(state.as_str()),
        ),
        Ok(Some(PrinterState::Ready { paper_low: true })) => bad(
            Level::Warn,
            check,
            format!("{}: reached, paper low", p.address),
            "put a new roll in soon",
        ),
        Ok(Some(_)) => ok(check, format!("{}: reached, ready", p.address)),
        Ok(None) => ok(
            check,
            format!(
                "{}: reached (it does not report its paper; `flashpick print test` shows it prints)",
                p.address
            ),
        ),
        Err(e) => bad(
            Level::Fail,
            check,
            e.what.clone(),
            match p.kind {
                crate::config::PrinterKind::Usb => {
                    "plug it in, and put the service user in group lp (the package does)"
                }
                crate::config::PrinterKind::File => {
                    "make the directory writable by flashpick (under /var/spool/flashpick, or add it with `systemctl edit flashpick`: ReadWritePaths=DIR)"
                }
                _ => "switch it on, check its cable or network and its address in [[printers]]",
            },
        ),
    }
}

fn fix_for(word: &str) -> &'static str {
    match word {
        "paper_out" => "put a new paper roll in; the waiting jobs then print by themselves",
        "cover_open" => "close the printer's cover",
        _ => "switch the printer off and on; clear a paper jam at the cutter",
    }
}
