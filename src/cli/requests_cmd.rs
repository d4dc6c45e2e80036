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
