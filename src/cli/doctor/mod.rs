//! `flashpick doctor`: what a technician runs on a store PC that misbehaves. Each check says
//! what it found and, when something is wrong, the fix in one line. Exit 0 when nothing failed
//! (warnings allowed), 1 otherwise, 78 when the config itself is bad.

use super::{Failure, fail};
use crate::api::Status;
use crate::config::{self, Config};
use serde::Serialize;

mod files;
mod printers;
mod reach;

use files::{database, snapshots, state_dir, state_lock};
pub use reach::parse_http_date;
use reach::{broker, clock, platform};
use std::path::Path;
use std::time::Duration;

/// How bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but look.
    Warn,
    /// Broken.
    Fail,
}

/// One check's finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was checked.
    pub check: String,
    /// How it went.
    pub level: Level,
    /// What was found.
    pub detail: String,
    /// What to do, when something is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn ok(check: impl Into<String>, detail: impl Into<String>) -> Finding {
    Finding {
        check: check.into(),
        level: Level::Ok,
        detail: detail.into(),
        fix: None,
    }
}

fn bad(
    level: Level,
    check: impl Into<String>,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        check: check.into(),
        level,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// Runs every check and prints them.
pub fn run(path: &Path, json: bool) -> Result<(), Failure> {
    let findings = match Config::load(path) {
        Err(e) => {
            let f = bad(
                Level::Fail,
                "config",
                e.to_string(),
                format!(
                    "edit {} and run `flashpick config check {}` until it says ok",
                    path.display(),
                    path.display()
                ),
            );
            print(&[f], json);
            return Err(fail(
                config::EXIT_CONFIG as u8,
                anyhow::anyhow!("bad config"),
            ));
        }
        Ok(c) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| fail(1, e))?;
            let mut all = vec![
                ok(
                    "config",
                    format!("{} (store {})", path.display(), c.store.id),
                ),
                config_access(path, &c),
            ];
            all.extend(rt.block_on(checks(&c)));
            all
        }
    };
    print(&findings, json);
    let failed = findings.iter().filter(|f| f.level == Level::Fail).count();
    if failed > 0 {
        return Err(fail(1, anyhow::anyhow!("{failed} check(s) failed")));
    }
    Ok(())
}

fn print(findings: &[Finding], json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(findings).expect("serialises")
        );
        return;
    }
    for f in findings {
        let mark = match f.level {
            Level::Ok => "✔",
            Level::Warn => "!",
            Level::Fail => "✘",
        };
        println!("{mark} {:<22} {}", f.check, f.detail);
        if let Some(fix) = &f.fix {
            println!("    fix: {fix}");
        }
    }
}

/// Who may read the config file and its secrets: not every user, and not the staff (they join
/// `flashpick-staff` for the socket; installs from before that put them in the service's group).
pub fn config_access(path: &Path, c: &Config) -> Finding {
    use std::os::unix::fs::PermissionsExt;
    let check = "config file access";
    let secrets = (c.platforms.meituan.enabled && !c.platforms.meituan.secret.is_empty())
        || (c.platforms.jddj.enabled && !c.platforms.jddj.secret.is_empty())
        || c.hq.password.as_ref().is_some_and(|p| !p.is_empty());
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777);
    if secrets && mode.as_ref().is_ok_and(|m| m & 0o004 != 0) {
        return bad(
            Level::Warn,
            check,
            format!(
                "{} holds secrets and every user may read it (mode {:o})",
                path.display(),
                mode.unwrap_or(0)
            ),
            format!(
                "chmod 0640 {} (owner root, group flashpick)",
                path.display()
            ),
        );
    }
    let members: Vec<String> = std::fs::read_to_string("/etc/group")
        .ok()
        .and_then(|g| {
            g.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.first() == Some(&"flashpick")).then(|| {
                    f.get(3)
                        .unwrap_or(&"")
                        .split(',')
                        .filter(|m| !m.is_empty() && *m != "flashpick")
                        .map(str::to_string)
                        .collect()
                })
            })
        })
        .unwrap_or_default();
    if secrets && !members.is_empty() {
        return bad(
            Level::Warn,
            check,
            format!(
                "users {} are in group flashpick and may read the config's secrets",
                members.join(", ")
            ),
            format!(
                "staff need only the socket: for each, `gpasswd -d USER flashpick && usermod -aG flashpick-staff USER` ({})",
                members.join(", ")
            ),
        );
    }
    ok(
        check,
        format!("{}: not readable by other users", path.display()),
    )
}

/// Every check after the config parsed.
pub async fn checks(c: &Config) -> Vec<Finding> {
    let status = daemon_status(c).await;
    let mut out = vec![
        state_dir(&c.store.state_dir),
        state_lock(c, status.is_some()),
        database(c),
        snapshots(c),
    ];
    out.extend(alarms(status.as_ref()));
    let daemon = daemon_scanners(status.as_ref());
    for s in &c.scanners {
        out.push(scanner(&s.name, Path::new(&s.path), daemon.as_ref()));
    }
    let printers = c.printers.clone();
    let seen = status.clone();
    out.extend(
        tokio::task::spawn_blocking(move || printers::check(&printers, seen.as_ref()))
            .await
            .unwrap_or_default(),
    );
    if c.hq.enabled {
        out.push(broker(c).await);
    }
    let mut skew = None;
    for p in c.selling_platforms() {
        let (f, date) = platform(c, p).await;
        out.push(f);
        skew = skew.or(date);
    }
    out.push(clock(skew));
    out
}

/// What the running daemon says is wrong with itself (its database deleted or damaged).
fn alarms(status: Option<&Status>) -> Option<Finding> {
    let list = &status?.alarms;
    if list.is_empty() {
        return None;
    }
    let text: Vec<&str> = list.iter().map(String::as_str).collect();
    Some(bad(
        Level::Fail,
        "daemon alarms",
        text.join("; "),
        "restart the daemon (systemctl restart flashpick); if it then refuses to start, follow its message (restore a snapshot)",
    ))
}

/// The running daemon's status, if it answers (with a deadline: a wedged daemon must not hang
/// the doctor).
async fn daemon_status(c: &Config) -> Option<Status> {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut client =
            crate::api::client::Client::connect(&c.api.socket, "flashpick-doctor", None)
                .await
                .ok()?;
        match client.call(crate::api::Request::Status).await.ok()? {
            crate::api::Response::Status(s) => Some(*s),
            _ => None,
        }
    })
    .await
    .ok()
    .flatten()
}

/// The scanners as the running daemon sees them (it holds their ports), if it runs.
fn daemon_scanners(status: Option<&Status>) -> Option<Vec<(String, bool)>> {
    Some(
        status?
            .scanners
            .iter()
            .map(|s| (s.name.clone(), s.connected))
            .collect(),
    )
}

fn scanner(name: &str, path: &Path, daemon: Option<&Vec<(String, bool)>>) -> Finding {
    let check = format!("scanner {name}");
    if !path.exists() {
        return bad(
            Level::Fail,
            check,
            format!("{} does not exist", path.display()),
            "plug the scanner in (and check its cable), or correct the [[scanners]] path; `ls -l /dev/serial/by-id/` lists what is connected",
        );
    }
    if let Some(list) = daemon
        && let Some((_, connected)) = list.iter().find(|(n, _)| n == name)
    {
        return if *connected {
            ok(
                check,
                format!("{}: open in the running daemon", path.display()),
            )
        } else {
            bad(
                Level::Fail,
                check,
                format!("{}: the daemon cannot open it", path.display()),
                "see `journalctl -u flashpick` for why; another program may hold it (fuser -v PATH)",
            )
        };
    }
    match serialport::new(path.to_string_lossy(), 9600)
        .timeout(Duration::from_millis(50))
        .open_native()
    {
        Ok(_) => ok(check, format!("{}: opens", path.display())),
        Err(e)
            if matches!(
                e.kind(),
                serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied)
            ) =>
        {
            bad(
                Level::Fail,
                check,
                format!("{}: permission denied", path.display()),
                "install packaging/99-flashpick-scanners.rules (group dialout) and make sure the service user is in dialout",
            )
        }
        Err(e) => bad(
            Level::Fail,
            check,
            format!("{}: {e}", path.display()),
            format!(
                "another program may hold the port: fuser -v {}; stop it (ModemManager: the udev rules tell it to keep away)",
                path.display()
            ),
        ),
    }
}
