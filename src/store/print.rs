//! Print jobs: a row per document copy, written in the transaction of the order change that
//! causes it (accept: the slip; claim: the pick list; pack: a label per bag), like the outbox.
//! Each printer's worker prints its rows in id order and marks each done once; a crash between
//! the printer taking the bytes and the mark prints that one job again on restart: at least
//! once, at most one duplicate per printer per crash, never zero.

use super::{Store, StoreError, StoreEvent, StoreOptions};
use crate::model::{Order, OrderEvent, OrderId, OrderState, Timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

pub use crate::model::document::Document;

/// Which documents a printer prints, how many copies, for which station (from `[[printers]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintRoute {
    /// The printer's name.
    pub printer: String,
    /// The station it serves; none: the store's.
    pub station: Option<String>,
    /// Copies of the slip on accept.
    pub slip: u32,
    /// Copies of the pick list on claim.
    pub pick_list: u32,
    /// Labels per bag on pack.
    pub label: u32,
}

impl PrintRoute {
    fn copies(&self, doc: Document) -> u32 {
        match doc {
            Document::Slip => self.slip,
            Document::PickList => self.pick_list,
            Document::Label => self.label,
        }
    }
}

/// The printers a document made at `station` goes to, with copies: the station's own printers
/// that print it; else the store's (no station); else the first that prints it at all — a
/// store whose printers all belong to stations still gets its slips.
pub fn routes<'a>(
    all: &'a [PrintRoute],
    doc: Document,
    station: Option<&str>,
) -> Vec<(&'a str, u32)> {
    let printing: Vec<&PrintRoute> = all.iter().filter(|r| r.copies(doc) > 0).collect();
    let pick = |f: &dyn Fn(&PrintRoute) -> bool| -> Vec<(&'a str, u32)> {
        printing
            .iter()
            .filter(|r| f(r))
            .map(|r| (r.printer.as_str(), r.copies(doc)))
            .collect()
    };
    let own = station.map(|s| pick(&|r| r.station.as_deref() == Some(s)));
    match own {
        Some(v) if !v.is_empty() => v,
        _ => {
            let store = pick(&|r| r.station.is_none());
            if store.is_empty() {
                printing
                    .first()
                    .map(|r| vec![(r.printer.as_str(), r.copies(doc))])
                    .unwrap_or_default()
            } else {
                store
            }
        }
    }
}

/// The document an order change causes, if any.
fn caused(before: OrderState, after: &Order, event: &OrderEvent) -> Option<Document> {
    match (before, after.state, event) {
        (OrderState::New, OrderState::Accepted, _) => Some(Document::Slip),
        (_, OrderState::Picking, OrderEvent::Claim { .. }) => Some(Document::PickList),
        (OrderState::Picked, OrderState::Packed, _) => Some(Document::Label),
        _ => None,
    }
}

/// Queues the documents an order change causes, in its transaction; the event names the
/// printers that have new work.
pub(super) fn queue_caused(
    tx: &Transaction<'_>,
    options: &StoreOptions,
    before: OrderState,
    after: &Order,
    event: &OrderEvent,
    station: Option<&str>,
) -> Result<Option<StoreEvent>, StoreError> {
    let Some(doc) = caused(before, after, event) else {
        return Ok(None);
    };
    // Slips are the store's (made before anyone claims the order): never a station's.
    let station = if doc == Document::Slip { None } else { station };
    let targets: Vec<(String, u32)> = routes(&options.printers, doc, station)
        .into_iter()
        .map(|(p, n)| (p.to_string(), n))
        .collect();
    Ok(queue(tx, &targets, doc, after, None, options.clock.now())?.1)
}

/// Queues `doc` on each target; returns the jobs written and the event naming the printers.
fn queue(
    tx: &Transaction<'_>,
    targets: &[(String, u32)],
    doc: Document,
    order: &Order,
    reprint_by: Option<&str>,
    now: Timestamp,
) -> Result<(usize, Option<StoreEvent>), StoreError> {
    if targets.is_empty() {
        return Ok((0, None));
    }
    let mut written = 0;
    let bags = if doc == Document::Label {
        order.bags.unwrap_or(1).max(1)
    } else {
        0
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO print_job (printer, document, order_id, bag, bags, reprint_by, queued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (printer, copies) in targets {
        // Labels: each bag's copies together, bag 1 first, as they go on the bags.
        for bag in 0..bags.max(1) {
            for _ in 0..*copies {
                let k = if bags == 0 { 0 } else { bag + 1 };
                written += stmt.execute(params![
                    printer,
                    doc.as_str(),
                    order.id.0,
                    k,
                    bags,
                    reprint_by,
                    now.0
                ])?;
            }
        }
    }
    Ok((
        written,
        Some(StoreEvent::PrintQueued {
            printers: targets.iter().map(|(p, _)| p.clone()).collect(),
        }),
    ))
}

/// A job waiting at its printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    /// Row id (the order jobs print in).
    pub id: i64,
    /// The printer.
    pub printer: String,
    /// Which document.
    pub document: Document,
    /// Of which order.
    pub order_id: OrderId,
    /// Labels: bag k of `bags`.
    pub bag: u32,
    /// Labels: how many bags.
    pub bags: u32,
    /// Asked for again by someone (printed whatever the order's state).
    pub reprint_by: Option<String>,
    /// Queued at.
    pub queued_at: Timestamp,
    /// Tries so far.
    pub attempts: u32,
}

/// The printer's oldest job not yet done.
pub fn next_job(conn: &Connection, printer: &str) -> Result<Option<PrintJob>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, printer, document, order_id, bag, bags, reprint_by, queued_at, attempts
             FROM print_job WHERE printer = ?1 AND done_at IS NULL ORDER BY id LIMIT 1",
        )?
        .query_row(params![printer], |r| {
            Ok(PrintJob {
                id: r.get(0)?,
                printer: r.get(1)?,
                document: Document::parse(&r.get::<_, String>(2)?),
                order_id: OrderId(r.get(3)?),
                bag: r.get(4)?,
                bags: r.get(5)?,
                reprint_by: r.get(6)?,
                queued_at: Timestamp(r.get(7)?),
                attempts: r.get(8)?,
            })
        })
        .optional()?)
}

/// A printer's queue: jobs not yet done and the oldest's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrintQueue {
    /// Jobs waiting.
    pub waiting: u64,
    /// When the oldest was queued.
    pub oldest: Option<Timestamp>,
}

/// The printer's queue.
pub fn print_queue(conn: &Connection, printer: &str) -> Result<PrintQueue, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*), min(queued_at) FROM print_job WHERE printer = ?1 AND done_at IS NULL",
        )?
        .query_row(params![printer], |r| {
            Ok(PrintQueue {
                waiting: r.get::<_, i64>(0)? as u64,
                oldest: r.get::<_, Option<i64>>(1)?.map(Timestamp),
            })
        })?)
}

/// Where an order's documents are: printed (slip or labels, at least one), and jobs waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrintMark {
    /// Documents of this order printed.
    pub printed: u32,
    /// Documents of this order waiting at a printer.
    pub waiting: u32,
}

/// The orders' print marks, by order id (orders with no job are left out).
pub fn print_marks(
    conn: &Connection,
    orders: &[OrderId],
) -> Result<std::collections::HashMap<i64, PrintMark>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(sum(outcome = 'printed'), 0), coalesce(sum(done_at IS NULL), 0)
         FROM print_job WHERE order_id = ?1",
    )?;
    let mut marks = std::collections::HashMap::new();
    for id in orders {
        let (printed, waiting): (u32, u32) =
            stmt.query_row(params![id.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if printed + waiting > 0 {
            marks.insert(id.0, PrintMark { printed, waiting });
        }
    }
    Ok(marks)
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd {
    /// The printer took it and reported no paper end or error.
    Printed,
    /// Not printed, on purpose (the order was handed over or cancelled while the printer was
    /// away); the note says why.
    Skipped(String),
}

impl Store {
    /// Marks a job done, once (a second mark of the same job changes nothing).
    pub fn print_done_blocking(&self, job: i64, end: JobEnd) -> Result<bool, StoreError> {
        self.write_blocking(move |tx, o| {
            let (outcome, note) = match &end {
                JobEnd::Printed => ("printed", None),
                JobEnd::Skipped(why) => ("skipped", Some(why.as_str())),
            };
            let n = tx
                .prepare_cached(
                    "UPDATE print_job SET done_at = ?2, outcome = ?3, note = ?4,
                         attempts = attempts + 1
                     WHERE id = ?1 AND done_at IS NULL",
                )?
                .execute(params![job, o.clock.now().0, outcome, note])?;
            let order: Option<i64> = tx
                .query_row("SELECT order_id FROM print_job WHERE id = ?1", [job], |r| {
                    r.get(0)
                })
                .optional()?;
            let events = order
                .filter(|_| n == 1)
                .map(|o| StoreEvent::Printed {
                    order: OrderId(o),
                    job,
                })
                .into_iter()
                .collect();
            Ok((n == 1, events))
        })
    }

    /// Records a failed try at a job (it stays first in its printer's queue).
    pub fn print_failed_blocking(&self, job: i64, error: String) -> Result<(), StoreError> {
        self.write_blocking(move |tx, _| {
            tx.prepare_cached(
                "UPDATE print_job SET attempts = attempts + 1, last_error = ?2
                 WHERE id = ?1 AND done_at IS NULL",
            )?
            .execute(params![job, error])?;
            Ok(((), vec![]))
        })
    }

    /// Queues a document of an order again, asked for by `actor`: on `printer`, or where the
    /// document goes from `station`. Printed whatever the order's state. Returns the number of
    /// jobs queued, the printers, and the order's day number.
    pub async fn reprint(
        &self,
        order: OrderId,
        doc: Document,
        printer: Option<String>,
        station: Option<String>,
        actor: String,
    ) -> Result<(usize, Vec<String>, u32), StoreError> {
        self.write(move |tx, o| {
            let found =
                super::read::load_order(tx, order)?.ok_or(StoreError::NoSuchOrder(order))?;
            if doc == Document::Label && found.bags.is_none() {
                return Err(StoreError::Refused(format!(
                    "order #{} is not packed yet: its labels print when it is packed with its bags",
                    found.day_seq
                )));
            }
            let targets: Vec<(String, u32)> = match printer {
                Some(p) if o.printers.iter().any(|r| r.printer == p) => vec![(p, 1)],
                Some(p) => {
                    let names: Vec<&str> = o.printers.iter().map(|r| r.printer.as_str()).collect();
                    return Err(StoreError::Refused(format!(
                        "no printer `{p}`: the config has {}",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    )));
                }
                None => {
                    let mut t: Vec<(String, u32)> = routes(&o.printers, doc, station.as_deref())
                        .into_iter()
                        .map(|(p, _)| (p.to_string(), 1))
                        .collect();
                    if t.is_empty() {
                        t.extend(o.printers.first().map(|r| (r.printer.clone(), 1)));
                    }
                    t
                }
            };
            if targets.is_empty() {
                return Err(StoreError::Refused(
                    "this store has no [[printers]] in its config: add one".into(),
                ));
            }
            let (jobs, event) = queue(tx, &targets, doc, &found, Some(&actor), o.clock.now())?;
            let names = targets.into_iter().map(|(p, _)| p).collect();
            Ok(((jobs, names, found.day_seq), event.into_iter().collect()))
        })
        .await
    }

    /// Moves the jobs waiting at printers `routes` does not name to the printers that print
    /// their documents now (a printer renamed or removed from the config); returns how many.
    /// Jobs with nowhere to go stay, and print when such a printer is configured again.
    pub async fn reroute_print_jobs(&self, routes: Vec<PrintRoute>) -> Result<usize, StoreError> {
        self.write(move |tx, _| {
            let waiting: Vec<(String, String)> = tx
                .prepare("SELECT DISTINCT printer, document FROM print_job WHERE done_at IS NULL")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut moved = 0;
            for (printer, document) in waiting {
                if routes.iter().any(|r| r.printer == printer) {
                    continue;
                }
                let doc = Document::parse(&document);
                let Some((to, _)) = self::routes(&routes, doc, None).into_iter().next() else {
                    continue;
                };
                moved += tx.execute(
                    "UPDATE print_job SET printer = ?3
                     WHERE printer = ?1 AND document = ?2 AND done_at IS NULL",
                    params![printer, document, to],
                )?;
            }
            Ok((moved, vec![]))
        })
        .await
    }
}
