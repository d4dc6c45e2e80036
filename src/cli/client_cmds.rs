//! Commands that ask the running daemon over its socket.

use super::{EXIT_UNAVAILABLE, Failure, fail};
use crate::api::client::{Client, ClientError};
use crate::api::{OrderView, Request, Response};
use crate::model::Platform;
use crate::model::SlaState;
use std::path::Path;

/// How long a CLI command waits for the daemon before it gives up.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// How long the commit of a catalog import may take (a million rows take about 15 s).
const COMMIT_WITHIN: std::time::Duration = std::time::Duration::from_secs(120);

/// Connects, asks, and gives up with "not answering" (exit 69) when a wedged daemon stays silent.
pub(super) fn ask(socket: &Path, req: Request) -> Result<Response, Failure> {
    ask_as(socket, None, req)
}

/// [`ask`] acting as `actor` (who the daemon records, and whose rights it checks).
pub(super) fn ask_as(
    socket: &Path,
    actor: Option<&str>,
    req: Request,
) -> Result<Response, Failure> {
    runtime()?.block_on(in_time(socket, ANSWER_WITHIN, async {
        let mut c = connect(socket, actor).await?;
        c.call(req).await.map_err(Failure::from)
    }))
}

/// What the CLI prints for `--json`: the reply as the daemon sent it (keys sorted, as ever).
pub(super) fn json_text(value: &impl serde::Serialize) -> Result<String, Failure> {
    Ok(serde_json::to_string_pretty(&serde_json::to_value(value)?)?)
}

/// `exchange`, or exit 69 naming the daemon when it does not answer within `limit` (stopped with
/// SIGSTOP, wedged, or swamped): every CLI request has a deadline and this one message.
async fn in_time<T>(
    socket: &Path,
    limit: std::time::Duration,
    exchange: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(limit, exchange).await {
        Ok(result) => result,
        Err(_) => Err(fail(
            EXIT_UNAVAILABLE,
            anyhow::anyhow!(
                "the daemon at {} did not answer within {}s; check `systemctl status flashpick` and its log",
                socket.display(),
                limit.as_secs()
            ),
        )),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

async fn connect(socket: &Path, actor: Option<&str>) -> Result<Client, Failure> {
    let name = format!("flashpick-cli {}", env!("CARGO_PKG_VERSION"));
    Client::connect(socket, &name, actor)
        .await
        .map_err(|e| match e {
            ClientError::NotRunning { .. } | ClientError::PermissionDenied { .. } => {
                fail(EXIT_UNAVAILABLE, e)
            }
            e => fail(1, e),
        })
}

/// `flashpick orders`.
pub(super) fn orders(socket: &Path, json: bool, all: bool) -> Result<(), Failure> {
    let Response::Orders(reply) = ask(socket, Request::ListOrders { all })? else {
        unreachable!("Client::call reads the kind the request gets")
    };
    if json {
        println!("{}", json_text(&reply.orders)?);
        return Ok(());
    }
    print!("{}", orders_table(&reply.orders));
    Ok(())
}

/// The orders as a plain table for a terminal over SSH.
pub fn orders_table(orders: &[OrderView]) -> String {
    use std::fmt::Write;
    if orders.is_empty() {
        return "no open orders\n".into();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6}  {:>4}  {:<8} {:<12} {:<8} {:>7}  {:>5}  {:>5}  PICKER",
        "ID", "SEQ", "PLATFORM", "STATE", "SLA", "LEFT", "LINES", "UNITS"
    );
    for v in orders {
        let o = &v.order;
        let platform = match o.platform {
            Platform::Meituan => "meituan",
            Platform::Jddj => "jddj",
            Platform::Hq => "hq",
        };
        let sla = match v.sla {
            SlaState::OnTime => "on-time",
            SlaState::AtRisk => "AT-RISK",
            SlaState::Late => "LATE",
        };
        let left = v.seconds_left;
        let left = format!(
            "{}{}:{:02}",
            if left < 0 { "-" } else { "" },
            left.abs() / 60,
            left.abs() % 60
        );
        let _ = writeln!(
            out,
            "{:>6}  {:>4}  {:<8} {:<12} {:<8} {:>7}  {:>5}  {:>5}  {}",
            o.id.0,
            format!("#{}", o.day_seq),
            platform,
            o.state.as_str(),
            sla,
            left,
            o.lines.len(),
            o.total_qty(),
            o.picker.as_deref().unwrap_or("-")
        );
    }
    out
}

/// `flashpick stock resync`.
pub(super) fn stock_resync(socket: &Path) -> Result<(), Failure> {
    ask(socket, Request::StockResync)?;
    println!("every stock level is queued for every platform; `flashpick status` shows them leave");
    Ok(())
}

/// `flashpick status`.
pub(super) fn status(socket: &Path, json: bool) -> Result<(), Failure> {
    let Response::Status(s) = ask(socket, Request::Status)? else {
        unreachable!("Client::call reads the kind the request gets")
    };
    if json {
        println!("{}", json_text(&s)?);
        return Ok(());
    }
    println!(
        "flashpick {} — store {} {}",
        s.version, s.store_id, s.store_name
    );
    println!("up {}s, {} client(s) attached", s.uptime_secs, s.clients);
    println!("open orders: {}", s.open_orders);
    for (state, n) in &s.orders_by_state {
        println!("  {state:<12} {n}");
    }
    if s.outbox.is_empty() {
        println!("outbox: empty");
    }
    for d in &s.outbox {
        println!(
            "outbox {:<8} pending {:>5}  parked {:>3}",
            d.destination, d.pending, d.parked
        );
        // Refused for good: a person settles these on the platform's console.
        for p in &d.parked_rows {
            let what = p.action.as_deref().unwrap_or(&p.kind);
            let order = p
                .order
                .as_deref()
                .map_or(String::new(), |o| format!(" of order {o}"));
            println!(
                "  parked row {} {what}{order}: {}\n    settle it: flashpick outbox resolve {} --done|--resend --as MANAGER",
                p.id, p.reason, p.id
            );
        }
    }
    println!(
        "config version: {}",
        s.config_version
            .map_or_else(|| "local file only".into(), |v| v.to_string())
    );
    for ch in &s.channels {
        println!(
            "channel {:<8} {} calls {} failures {}{}",
            ch.name,
            if ch.online { "online " } else { "OFFLINE" },
            ch.calls,
            ch.failures,
            ch.last_error
                .as_deref()
                .map_or_else(String::new, |e| format!("  last error: {e}"))
        );
    }
    if s.scanners.is_empty() {
        println!("scanners: none configured");
    }
    for sc in &s.scanners {
        println!(
            "scanner {:<10} {:<24} {} frames {} errors {}",
            sc.name,
            sc.path,
            if sc.connected {
                "connected"
            } else {
                "DISCONNECTED"
            },
            sc.frames,
            sc.errors
        );
    }
    for p in &s.printers {
        let state = match (p.online, p.state.as_deref()) {
            (_, Some(s)) if s != "ready" => s.to_uppercase(),
            (Some(false), _) => "OFFLINE".into(),
            (None, _) => "not tried yet".into(),
            _ => "online".into(),
        };
        let oldest = p
            .oldest_secs
            .map_or_else(String::new, |s| format!(" (oldest {s} s)"));
        println!(
            "printer {:<10} {:<24} {state}, {} waiting{oldest}, {} printed, {} failures{}",
            p.name,
            p.address,
            p.waiting,
            p.printed,
            p.failures,
            p.last_error
                .as_deref()
                .map_or_else(String::new, |e| format!("  last error: {e}"))
        );
    }
    Ok(())
}

/// Rough size of one staged chunk, well inside the protocol's line limit.
const CHUNK_BYTES: usize = 48 * 1024;

/// Sends a parsed catalog to the running daemon, so its one writer does the import and its
/// screens hear about it. `Ok(None)` when no daemon runs (the caller then writes the file itself).
pub(super) fn import_via_daemon(
    socket: &Path,
    rows: &[crate::store::CatalogRow],
    bar: &indicatif::ProgressBar,
) -> Result<Option<usize>, Failure> {
    runtime()?.block_on(async {
        let name = format!("flashpick-cli {}", env!("CARGO_PKG_VERSION"));
        let connected = in_time(socket, ANSWER_WITHIN, async {
            Ok(Client::connect(socket, &name, Some("catalog-import")).await)
        })
        .await?;
        let mut c = match connected {
            Ok(c) => c,
            Err(ClientError::NotRunning { .. }) => return Ok(None),
            Err(e) => return Err(fail(EXIT_UNAVAILABLE, e)),
        };
        bar.set_message("sending");
        bar.set_length(rows.len() as u64);
        bar.set_position(0);
        let (mut chunk, mut bytes, mut sent) = (Vec::new(), 0, 0);
        for (i, row) in rows.iter().enumerate() {
            let row = crate::api::CatalogRow::from(row.clone());
            bytes += serde_json::to_string(&row)?.len() + 1;
            chunk.push(row);
            if bytes >= CHUNK_BYTES || i + 1 == rows.len() {
                sent += chunk.len();
                let rows = std::mem::take(&mut chunk);
                in_time(socket, ANSWER_WITHIN, async {
                    c.request(Request::CatalogStage { rows })
                        .await
                        .map_err(Failure::from)
                })
                .await?;
                bar.set_position(sent as u64);
                bytes = 0;
            }
        }
        bar.set_message("writing");
        let reply = in_time(socket, COMMIT_WITHIN, async {
            c.call(Request::CatalogCommit).await.map_err(|e| match e {
                ClientError::Refused { ref code, .. } if code == "refused" => {
                    fail(super::EXIT_DATAERR, e)
                }
                e => fail(1, e),
            })
        })
        .await?;
        match reply {
            Response::Imported(r) => Ok(Some(r.imported)),
            _ => unreachable!("Client::call reads the kind the request gets"),
        }
    })
}
