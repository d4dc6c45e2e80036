//! The link's accounting of what it handed to the MQTT client: messages queued until the client
//! gives them a packet id, then in flight until their PUBACK. Pure: the event loop feeds it, and
//! an acknowledged batch of events comes back out to be marked done, once.

use std::collections::{HashMap, VecDeque};

/// What a queued message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Carried {
    /// Outbox rows (id, event id), marked done when HQ acknowledges.
    Events(Vec<(i64, String)>),
    /// Status or config status: nothing to settle.
    Other,
}

/// Messages handed to the client and not yet acknowledged.
#[derive(Debug, Default)]
pub(super) struct Window {
    /// Queued on the client, waiting for their packet id (the client numbers them in order).
    queued: VecDeque<Carried>,
    /// Sent, waiting for their PUBACK.
    in_flight: HashMap<u16, Carried>,
    /// The last outbox row handed to the client in this session.
    pub(super) cursor: i64,
}

impl Window {
    /// Messages not yet acknowledged.
    pub(super) fn busy(&self) -> usize {
        self.queued.len() + self.in_flight.len()
    }

    /// A message was handed to the client.
    pub(super) fn queued(&mut self, c: Carried) {
        self.queued.push_back(c);
    }

    /// The client could not take a message: its rows go again in a later one.
    pub(super) fn refused(&mut self, c: Carried) {
        if let Carried::Events(rows) = c
            && let Some(first) = rows.first()
        {
            self.cursor = self.cursor.min(first.0 - 1);
        }
    }

    /// The client sent the oldest queued message under `pkid`.
    pub(super) fn sent(&mut self, pkid: u16) {
        if let Some(c) = self.queued.pop_front() {
            self.in_flight.insert(pkid, c);
        }
    }

    /// The broker acknowledged `pkid`: the events it carried, if any, to be marked done.
    pub(super) fn acked(&mut self, pkid: u16) -> Option<Vec<(i64, String)>> {
        match self.in_flight.remove(&pkid) {
            Some(Carried::Events(rows)) => Some(rows),
            _ => None,
        }
    }

    /// Marking `rows` done failed: they go again from the first of them.
    pub(super) fn unsettled(&mut self, rows: &[(i64, String)]) {
        if let Some(first) = rows.first() {
            self.cursor = self.cursor.min(first.0 - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ids: &[i64]) -> Carried {
        Carried::Events(ids.iter().map(|i| (*i, format!("e{i}"))).collect())
    }

    #[test]
    fn events_come_back_once_on_their_puback_and_statuses_never() {
        let mut w = Window::default();
        w.queued(rows(&[1, 2]));
        w.queued(Carried::Other);
        w.queued(rows(&[3]));
        assert_eq!(w.busy(), 3);
        w.sent(7);
        w.sent(8);
        w.sent(9);
        assert_eq!(w.acked(8), None, "a status carries no rows");
        assert_eq!(w.acked(9).unwrap(), [(3, "e3".to_string())]);
        assert_eq!(w.acked(9), None, "a second PUBACK settles nothing");
        assert_eq!(w.acked(7).unwrap().len(), 2);
        assert_eq!(w.busy(), 0);
    }

    #[test]
    fn rows_not_taken_or_not_settled_go_again() {
        let mut w = Window {
            cursor: 10,
            ..Window::default()
        };
        w.refused(rows(&[9, 10]));
        assert_eq!(w.cursor, 8);
        w.unsettled(&[(5, "e5".into())]);
        assert_eq!(w.cursor, 4);
        w.refused(Carried::Other);
        assert_eq!(w.cursor, 4);
    }
}
