//! The manager's commands from a terminal (the store manager on SSH at night), through the same
//! socket requests and the same manager check as the screens: `flashpick requests` (customers'
//! refund and cancel requests, listed and decided) and `flashpick outbox resolve` (a parked row
//! settled by hand).

use super::client_cmds::{ask, ask_as, json_text};
use super::{Failure, fail};
use crate::api::{Request, Response};
use crate::model::Timestamp;
use crate::model::request::CustomerRequest;
use clap::Subcommand;
use std::path::Path;

/// `flashpick requests …`
#[derive(Debug, Subcommand)]
pub enum RequestsAction {
    /// Decide one request: `--agree`, or `--reject --reason …` (the customer sees the reason).
    /// Only a manager (`[staff] managers`) decides; the decision goes to the platform once.
    Decide {
        /// The request's id (the first column of `flashpick requests`).
        id: i64,
        /// Agree: the refund is paid or the order cancelled when the platform confirms.
        #[arg(long, conflicts_with = "reject")]
        agree: bool,
        /// Reject: the order goes on.
        #[arg(long, requires = "reason")]
        reject: bool,
        /// Why (required to reject).
        #[arg(long)]
        reason: Option<String>,
        /// The manager deciding, as named in `[staff] managers`.
        #[arg(long = "as", value_name = "MANAGER")]
        manager: String,
    },
}

/// `flashpick requests [decide …]`.
pub(super) fn run(
    socket: &Path,
    action: Option<RequestsAction>,
    json: bool,
) -> Result<(), Failure> {
    match action {
        None => {
            let Response::Requests(reply) = ask(socket, Request::ListRequests)? else {
                unreachable!("Client::call reads the kind the request gets")
            };
            if json {
                println!("{}", json_text(&reply.requests)?);
            } else {
                print!("{}", table(&reply.requests, Timestamp::now()));
            }
            Ok(())
        }
        Some(RequestsAction::Decide {
            id,
            agree,
            reject,
            reason,
            manager,
        }) => {
            if agree == reject {
                return Err(fail(
                    2,
                    anyhow::anyhow!("say --agree, or --reject with --reason"),
                ));
            }
            let req = Request::DecideRequest {
                request_id: id,
                agree,
                reason: reason.unwrap_or_default(),
            };
            let Response::Decided(reply) = ask_as(socket, Some(&manager), req)? else {
                unreachable!("Client::call reads the kind the request gets")
            };
            if json {
                println!("{}", json_text(&reply.request)?);
            } else {
                println!(
                    "request {id} {}: it goes to {} now; the order follows when the platform confirms",
                    reply.request.state.as_str(),
                    reply.request.asked.platform.label()
                );
            }
            Ok(())
        }
    }
}

/// The requests as a plain table: the time left to decide, what the customer asks.
pub fn table(requests: &[CustomerRequest], now: Timestamp) -> String {
    use std::fmt::Write;
    if requests.is_empty() {
        return "no requests waiting\n".into();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5}  {:<8} {:<20} {:<12} {:<10} {:>6}  ASKS",
        "ID", "PLATFORM", "ORDER", "KIND", "STATE", "LEFT"
    );
    for r in requests {
        let left = (r.decide_by.0 - now.0).div_euclid(1000);
        let left = if left < 0 {
            "over".to_string()
        } else {
            format!("{}:{:02}", left / 60, left % 60)
        };
        let mut asks: Vec<String> = r.asked.items.iter().map(|i| i.label()).collect();
        if !r.asked.reason.is_empty() {
            asks.push(format!("({})", r.asked.reason));
        }
        let _ = writeln!(
            out,
            "{:>5}  {:<8} {:<20} {:<12} {:<10} {:>6}  {}",
            r.id,
            r.asked.platform.as_str(),
            r.asked.external_id,
            r.asked.kind.as_str(),
            r.state.as_str(),
            left,
            asks.join(" ")
        );
    }
    out
}

/// `flashpick outbox …`
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Settle a parked row by hand (`flashpick status` lists them with their ids), recorded
    /// with who and when: `--done` when the change is at the platform (checked on its console),
    /// `--resend` to send it again from scratch.
    Resolve {
        /// The row's id.
        row: i64,
        /// The change is there: nothing more to send.
        #[arg(long, conflicts_with = "resend", required_unless_present = "resend")]
        done: bool,
        /// Send it again.
        #[arg(long)]
        resend: bool,
        /// The manager resolving it, as named in `[staff] managers`.
        #[arg(long = "as", value_name = "MANAGER")]
        manager: String,
    },
}

/// `flashpick outbox resolve …`.
pub(super) fn outbox(socket: &Path, action: OutboxAction) -> Result<(), Failure> {
    let OutboxAction::Resolve {
        row,
        done: _,
        resend,
        manager,
    } = action;
    let req = Request::ResolveParked { row, resend };
    let Response::Resolved(reply) = ask_as(socket, Some(&manager), req)? else {
        unreachable!("Client::call reads the kind the request gets")
    };
    println!(
        "outbox row {} {}",
        reply.row,
        if reply.state == "done" {
            "marked done"
        } else {
            "queued to be sent again"
        }
    );
    Ok(())
}

/// `flashpick store …`
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Close the store at the platforms (休息): no new orders from them until it opens again.
    Close {
        /// Only this platform (meituan, jddj); default: every one enabled.
        #[arg(long)]
        platform: Option<String>,
        /// Open again by itself at this time of day (HH:MM, China time), within 24 hours.
        #[arg(long, value_name = "HH:MM")]
        until: Option<String>,
        /// Why (the screens and HQ show it).
        #[arg(long)]
        reason: String,
        /// The manager, as named in `[staff] managers`.
        #[arg(long = "as", value_name = "MANAGER")]
        manager: String,
    },
    /// Open the store at the platforms again (营业).
    Open {
        /// Only this platform (meituan, jddj); default: every one enabled.
        #[arg(long)]
        platform: Option<String>,
        /// The manager, as named in `[staff] managers`.
        #[arg(long = "as", value_name = "MANAGER")]
        manager: String,
    },
}

/// The next moment the China clock (UTC+8) shows `hh:mm`, after `now`.
pub fn next_china_time(hhmm: &str, now: Timestamp) -> Result<Timestamp, String> {
    let bad = || format!("`{hhmm}` is not a time of day: write HH:MM, e.g. 21:30");
    let (h, m) = hhmm.split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    const DAY: i64 = 24 * 3600 * 1000;
    let offset = 8 * 3600 * 1000;
    let local = now.0 + offset;
    let midnight = local - local.rem_euclid(DAY);
    let mut at = midnight + (h * 60 + m) * 60 * 1000;
    if at <= local {
        at += DAY;
    }
    Ok(Timestamp(at - offset))
}

/// `flashpick store [open|close …]`.
pub(super) fn store(socket: &Path, action: Option<StoreAction>, json: bool) -> Result<(), Failure> {
    let platform = |p: Option<String>| -> Result<Option<crate::model::Platform>, Failure> {
        p.map(|p| {
            p.parse().map_err(|_| {
                fail(
                    2,
                    anyhow::anyhow!("--platform is meituan or jddj, not `{p}`"),
                )
            })
        })
        .transpose()
    };
    let (req, manager) = match action {
        None => (Request::StoreOpenState, None),
        Some(StoreAction::Open {
            platform: p,
            manager,
        }) => (
            Request::SetStoreOpen {
                platform: platform(p)?,
                open: true,
                until: None,
                reason: String::new(),
            },
            Some(manager),
        ),
        Some(StoreAction::Close {
            platform: p,
            until,
            reason,
            manager,
        }) => {
            let until = until
                .map(|t| next_china_time(&t, Timestamp::now()).map(|t| t.0))
                .transpose()
                .map_err(|e| fail(2, anyhow::anyhow!(e)))?;
            (
                Request::SetStoreOpen {
                    platform: platform(p)?,
                    open: false,
                    until,
                    reason,
                },
                Some(manager),
            )
        }
    };
    let Response::OpenStates(reply) = ask_as(socket, manager.as_deref(), req)? else {
        unreachable!("Client::call reads the kind the request gets")
    };
    if json {
        println!("{}", json_text(&reply.platforms)?);
        return Ok(());
    }
    if reply.platforms.is_empty() {
        println!("open at every platform (never closed from flashpick)");
    }
    for s in &reply.platforms {
        let state = match (s.want_open, s.pending()) {
            (true, false) => "open".to_string(),
            (false, false) => "closed".to_string(),
            (true, true) => "opening (not confirmed yet)".to_string(),
            (false, true) => "closing (not confirmed yet)".to_string(),
        };
        let until = s.until.map_or(String::new(), |t| {
            let local = (t.0 + 8 * 3600 * 1000).rem_euclid(24 * 3600 * 1000) / 60_000;
            format!(", until {:02}:{:02}", local / 60, local % 60)
        });
        let why = if s.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", s.reason)
        };
        println!(
            "{:<8} {state}{until} (by {}{}){why}",
            s.platform.as_str(),
            s.set_by,
            if s.automatic { ", automatic" } else { "" }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_of_day_is_the_next_one_on_the_china_clock() {
        // 2026-11-29 12:00 UTC = 20:00 in China.
        let now = Timestamp(1_795_953_600_000);
        let at = next_china_time("21:30", now).unwrap();
        assert_eq!(at.0 - now.0, 90 * 60 * 1000);
        // Earlier than now: tomorrow.
        let at = next_china_time("07:00", now).unwrap();
        assert_eq!(at.0 - now.0, 11 * 3600 * 1000);
        assert!(next_china_time("25:00", now).is_err());
        assert!(next_china_time("9pm", now).is_err());
    }
}
