//! `flashpick doctor`: what a technician runs on a store PC that misbehaves. Each check says
//! what it found and, when something is wrong, the fix in one line. Exit 0 when nothing failed
//! (warnings allowed), 1 otherwise, 78 when the config itself is bad.

use super::{Failure, fail};
use crate::api::Status;
use crate::config::{self, Config};
use crate::model::{Platform, Timestamp};
use crate::sync::Verdict;
use crate::sync::channel::{Adapter, Channel};
use serde::Serialize;
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

fn state_dir(dir: &Path) -> Finding {
    let check = "state dir";
    let probe = dir.join(".doctor-probe");
    if !dir.is_dir() {
        return bad(
            Level::Fail,
            check,
            format!("{} does not exist or is not a directory", dir.display()),
            format!(
                "create it for the service user: install -d -o flashpick -g flashpick {} (the .deb's unit does this with StateDirectory=)",
                dir.display()
            ),
        );
    }
    if let Err(e) = std::fs::write(&probe, b"probe") {
        return bad(
            Level::Fail,
            check,
            format!("{}: cannot write ({e})", dir.display()),
            format!(
                "give it to the service user: chown -R flashpick:flashpick {}",
                dir.display()
            ),
        );
    }
    let _ = std::fs::remove_file(&probe);
    match free_mb(dir) {
        Some(mb) if mb < 200 => bad(
            Level::Fail,
            check,
            format!("{}: only {mb} MB free", dir.display()),
            "free disk space (old logs: journalctl --vacuum-size=200M); the database stops taking writes when the disk is full",
        ),
        Some(mb) if mb < 1024 => bad(
            Level::Warn,
            check,
            format!("{}: {mb} MB free", dir.display()),
            "free some disk space soon",
        ),
        Some(mb) => ok(check, format!("{}: writable, {mb} MB free", dir.display())),
        None => ok(check, format!("{}: writable", dir.display())),
    }
}

/// Free space in MB, from `df` (no unsafe statvfs here).
fn free_mb(dir: &Path) -> Option<u64> {
    let out = std::process::Command::new("df")
        .args(["-Pk"])
        .arg(dir)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kb: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kb / 1024)
}

/// The newest snapshot, as the fix for a lost or damaged database names it.
fn restore_fix(c: &Config) -> String {
    match crate::store::backup::list(&c.store.state_dir).first() {
        Some(s) => format!(
            "stop the daemon (systemctl stop flashpick), then `flashpick restore {}` (the newest snapshot; `ls {}` for the others); with nothing to restore, `flashpick serve --new-database` starts an empty store",
            s.path.display(),
            crate::store::backup::dir(&c.store.state_dir).display()
        ),
        None => "no snapshot is in the state dir's backups folder: restore a copy of the database from elsewhere with `flashpick restore FILE`, or start an empty store with `flashpick serve --new-database`".into(),
    }
}

fn database(c: &Config) -> Finding {
    use crate::store::{StoreError, file};
    let check = "database";
    let path = c.db_path();
    match file::preflight(&path, false) {
        Ok(file::Found::Existing) => {}
        Ok(file::Found::New) => {
            return bad(
                Level::Warn,
                check,
                format!("{} does not exist yet", path.display()),
                "it is created when the daemon first starts (systemctl start flashpick)",
            );
        }
        Err(e @ (StoreError::Missing { .. } | StoreError::Corrupt { .. })) => {
            return bad(Level::Fail, check, e.to_string(), restore_fix(c));
        }
        Err(e) => {
            return bad(
                Level::Fail,
                check,
                e.to_string(),
                format!(
                    "give the state dir back to the service user: chown -R flashpick:flashpick {}",
                    c.store.state_dir.display()
                ),
            );
        }
    }
    // A database the service user cannot write (created by `sudo flashpick …`) stops the
    // daemon at start with exit 77.
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(f) = std::fs::metadata(&path)
            && f.mode() & 0o200 == 0
        {
            return bad(
                Level::Fail,
                check,
                format!(
                    "{} is read-only (mode {:o}): the daemon cannot write it",
                    path.display(),
                    f.mode() & 0o777
                ),
                format!("chmod 0640 {}", path.display()),
            );
        }
        if let (Ok(d), Ok(f)) = (
            std::fs::metadata(&c.store.state_dir),
            std::fs::metadata(&path),
        ) && d.uid() != f.uid()
        {
            return bad(
                Level::Fail,
                check,
                format!(
                    "{} belongs to user {}, the state dir to user {}: the daemon cannot write it",
                    path.display(),
                    f.uid(),
                    d.uid()
                ),
                format!(
                    "chown -R --reference={dir} {dir} (give every file in it to the state dir's owner)",
                    dir = c.store.state_dir.display()
                ),
            );
        }
    }
    let conn = match rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) {
        Ok(c) => c,
        Err(e) => {
            return bad(
                Level::Fail,
                check,
                format!("{}: {e}", path.display()),
                "check the file's owner and permissions (chown flashpick:flashpick)",
            );
        }
    };
    let integrity: Result<String, _> = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0));
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap_or(-1);
    let ours = crate::store::schema::MIGRATIONS.len() as i64;
    match integrity {
        Ok(s) if s == "ok" => {}
        Ok(s) => {
            return bad(
                Level::Fail,
                check,
                format!("integrity check: {s}"),
                restore_fix(c),
            );
        }
        Err(e) => {
            return bad(
                Level::Fail,
                check,
                format!("cannot read: {e}"),
                restore_fix(c),
            );
        }
    }
    if version > ours {
        return bad(
            Level::Fail,
            check,
            format!("schema version {version}, this flashpick knows up to {ours}"),
            "the database comes from a newer flashpick: install that version again",
        );
    }
    if let Ok((n @ 1.., first)) = crate::store::schema::bad_stock_figures(&conn) {
        return bad(
            Level::Fail,
            check,
            format!(
                "{n} sku(s) (first: {}) hold stock figures that are not whole numbers or beyond 1000000000: the platforms are told 0 for them",
                first.join(", ")
            ),
            "count those shelves and set each figure (stock screen `n`), or restore a snapshot from before",
        );
    }
    // One GTIN on two skus (imported before codes were compared as GTINs): a scan finds one of
    // them, never the other.
    if let Ok(conflicts) = crate::store::conflicting_codes(&conn)
        && let Some((code, skus)) = conflicts.first()
    {
        return bad(
            Level::Warn,
            check,
            format!(
                "{} barcode(s) are one GTIN on several skus (first: {code} on {}): a scan finds only one of them",
                conflicts.len(),
                skus.join(", ")
            ),
            "import the catalog again with each code on one sku (the import names every conflict)",
        );
    }
    // Weighed items without their portion size (imported before the column existed) have no
    // honest level: the daemon sends 0 for them, and says so here.
    // (Before migration 4 the column is missing: the daemon's next start tells.)
    if let Ok((n @ 1.., first)) = crate::store::weighed_without_portion(&conn) {
        return bad(
            Level::Warn,
            check,
            format!(
                "{n} weighed item(s) (first: {}) have no sale_unit_g: the platforms are told 0 (not for sale)",
                first.unwrap_or_default()
            ),
            "import the catalog again with a sale_unit_g column (the grams of one portion as the platforms sell it)",
        );
    }
    ok(
        check,
        format!(
            "{}: integrity ok, schema {version}{}",
            path.display(),
            if version < ours {
                format!(" (migrated to {ours} at the next start)")
            } else {
                String::new()
            }
        ),
    )
}

/// Who holds the state dir: the daemon when it runs; anyone else is in the way.
fn state_lock(c: &Config, daemon_answers: bool) -> Finding {
    let check = "state dir lock";
    match (
        crate::store::lock::holder(&c.store.state_dir),
        daemon_answers,
    ) {
        (None, true) => bad(
            Level::Warn,
            check,
            "a daemon answers on the socket but holds no lock on the state dir",
            "it is an older flashpick: restart it (systemctl restart flashpick)",
        ),
        (None, false) => ok(check, "free: no flashpick is running on this state dir"),
        (Some(h), true) => ok(check, format!("held by the daemon: {h}")),
        (Some(h), false) => bad(
            Level::Fail,
            check,
            format!(
                "held by {h}, which does not answer on {}",
                c.api.socket.display()
            ),
            "a second daemon or a stuck command holds it: stop that process (see the pid), or check api.socket",
        ),
    }
}

/// The snapshots the daemon writes each day.
fn snapshots(c: &Config) -> Finding {
    let check = "snapshots";
    let list = crate::store::backup::list(&c.store.state_dir);
    let Some(newest) = list.first() else {
        return ok(
            check,
            "none yet: the daemon writes one a day (`flashpick backup` writes one now)",
        );
    };
    let age_h = (Timestamp::now().0 / 1000 - newest.modified) / 3600;
    let detail = format!(
        "{} snapshot(s), the newest {} ({age_h} h old)",
        list.len(),
        newest.path.display()
    );
    if age_h > 48 {
        return bad(
            Level::Warn,
            check,
            detail,
            "the daemon writes one a day while it runs: is it running? `flashpick backup` writes one now",
        );
    }
    ok(check, detail)
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

async fn broker(c: &Config) -> Finding {
    let check = "HQ broker";
    let mut options = match crate::hq::options(c) {
        Ok(o) => o,
        Err(e) => return bad(Level::Fail, check, e, "fix [hq] in the config"),
    };
    // Never the store's own client id: that would take over the daemon's session.
    options.set_client_id(format!("{}-doctor", c.store.id));
    options.set_clean_session(true);
    options.set_last_will(rumqttc::LastWill::new(
        format!("flashpick/v1/{}/doctor", c.store.id),
        Vec::new(),
        rumqttc::QoS::AtMostOnce,
        false,
    ));
    let (client, mut el) = rumqttc::AsyncClient::new(options, 8);
    let topic = crate::hq::wire::Topics::new(&c.store.id).config;
    let attempt = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match el.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    let _ = client.try_subscribe(topic.as_str(), rumqttc::QoS::AtLeastOnce);
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    let _ = client.try_disconnect();
    match attempt {
        Ok(Ok(())) => ok(check, format!("{}: connected and subscribed", c.hq.broker)),
        Ok(Err(e)) => {
            let text = e.to_string();
            let fix = if let Some(fix) = crate::hq::refusal_fix(&e) {
                fix
            } else if text.contains("refused") && !text.contains("Connection refused: ") {
                "nothing accepts connections there: check hq.broker (host and port) and that the broker runs"
            } else if text.to_lowercase().contains("tls") || text.contains("certificate") {
                "the TLS handshake failed: check hq.ca_file (and client_cert / client_key for mutual TLS)"
            } else {
                "check hq.broker, the network (firewall), and the broker's log"
            };
            bad(Level::Fail, check, format!("{}: {text}", c.hq.broker), fix)
        }
        Err(_) => bad(
            Level::Fail,
            check,
            format!("{}: no answer in 8 s", c.hq.broker),
            "a firewall may drop the traffic: check the network path to the broker",
        ),
    }
}

/// A harmless signed read, to see that the gateway answers and accepts the signature; also the
/// gateway's clock (its `Date` header) for the clock check.
async fn platform(c: &Config, p: Platform) -> (Finding, Option<i64>) {
    let check = format!("platform {}", p.as_str());
    let section = c.platform(p).expect("a selling platform");
    let channel = match Channel::new(p, section) {
        Ok(ch) => ch,
        Err(e) => {
            return (
                bad(Level::Fail, check, e, "fix the platform's section"),
                None,
            );
        }
    };
    let now = Timestamp::now();
    let call = match &channel.adapter {
        Adapter::Meituan(m) => m.day_seq_call(now),
        Adapter::Jddj(j) => j.poll_call(1, now),
    };
    let skew = gateway_skew(&call.url).await;
    let (verdict, _) = channel.send(&call, crate::sync::Kind::Query).await;
    let section_name = format!("[platforms.{}]", p.as_str());
    let f = match verdict {
        Verdict::Done => ok(check, format!("{}: answers, signature accepted", call.url)),
        Verdict::RateLimited(e) => bad(
            Level::Warn,
            check,
            format!("rate limited: {e}"),
            "wait a minute; if it lasts, ask the platform about the app's quota",
        ),
        Verdict::Permanent(e) => bad(
            Level::Fail,
            check,
            format!("refused: {e}"),
            format!(
                "the platform refused the call: check app_id, secret{} and store_code in {section_name} against the platform's developer console",
                if p == Platform::Jddj { ", token" } else { "" }
            ),
        ),
        Verdict::Retry(e) => bad(
            Level::Fail,
            check,
            format!("cannot reach: {e}"),
            format!("check base_url in {section_name}, DNS and the internet connection"),
        ),
    };
    (f, skew)
}

/// The gateway's clock minus ours, in seconds, from its `Date` header.
async fn gateway_skew(url: &str) -> Option<i64> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    let resp = client.get(url).send().await.ok()?;
    let date = resp.headers().get("date")?.to_str().ok()?;
    let theirs = parse_http_date(date)?;
    Some(theirs - Timestamp::now().0 / 1000)
}

/// `Wed, 25 Nov 2026 17:30:00 GMT` → Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let mut w = s.split_whitespace().skip(1);
    let day: i64 = w.next()?.parse().ok()?;
    let name = w.next()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == name)? as i64
        + 1;
    let year: i64 = w.next()?.parse().ok()?;
    let mut hms = w.next()?.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

fn clock(skew: Option<i64>) -> Finding {
    let check = "clock";
    match skew {
        None => bad(
            Level::Warn,
            check,
            "no gateway to compare with",
            "check that NTP runs: timedatectl status",
        ),
        Some(s) if s.abs() > 60 => bad(
            Level::Fail,
            check,
            format!("{s:+} s against the platform's clock"),
            "platforms refuse signed calls with a wrong timestamp: enable NTP (timedatectl set-ntp true)",
        ),
        Some(s) => ok(check, format!("{s:+} s against the platform's clock")),
    }
}
