//! The report screen (`R`): the day's numbers, asked for on opening and again every 15 s while
//! shown (the figures move with every pick); `r` asks at once, Esc goes back.

use super::{App, Cmd, Key, Screen, Tag};
use crate::api::Request;
use std::time::{Duration, Instant};

/// How often the shown report is asked for again.
pub const REPORT_EVERY: Duration = Duration::from_secs(15);

impl App {
    /// Opens the report screen and asks for today's numbers.
    pub(super) fn open_report(&mut self, out: &mut Vec<Cmd>) {
        self.screen = Screen::report();
        self.ask_report(self.instant, out);
    }

    fn ask_report(&mut self, at: Instant, out: &mut Vec<Cmd>) {
        self.report_asked = Some(at);
        out.push(Cmd::Send(Tag::Report, Request::DayReport { day: None }));
    }

    /// While the report is shown, asks again every [`REPORT_EVERY`].
    pub(super) fn refresh_report(&mut self, at: Instant, out: &mut Vec<Cmd>) {
        if matches!(self.screen, Screen::Report(_))
            && self.report_asked.is_none_or(|t| at >= t + REPORT_EVERY)
        {
            self.ask_report(at, out);
        }
    }

    pub(super) fn report_key(&mut self, key: Key, out: &mut Vec<Cmd>) {
        match key {
            Key::Esc | Key::Char('q') => self.screen = Screen::Queue,
            Key::Char('r') => self.ask_report(self.instant, out),
            _ => {}
        }
    }
}
