//! The config from HQ in force, the one before it, and what HQ was last told — kept in
//! `<state_dir>/hq-config.json`, written atomically, so a restart (or a crash) starts with the
//! same config and still knows whether it must roll back.
//!
//! A config from HQ is a TOML text laid over the store's local file, table by table. A few keys
//! stay local: they say who the store is and whom it trusts, and no remote document may change
//! them.

use super::wire::{ConfigResult, ConfigStatus, V};
use crate::config::Config;
use crate::model::Timestamp;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Keys only the local file may set.
const LOCAL_ONLY: [&[&str]; 9] = [
    &["store", "id"],
    &["store", "state_dir"],
    &["api", "socket"],
    &["hq", "trusted_keys"],
    &["hq", "enabled"],
    // A config on trial must not set the length of its own trial.
    &["hq", "rollback_after_secs"],
    // Nor may HQ turn encryption off.
    &["hq", "allow_plaintext"],
    &["platforms", "meituan", "allow_plaintext"],
    &["platforms", "jddj", "allow_plaintext"],
];

/// One applied config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// HQ's version number.
    pub version: i64,
    /// The TOML text as signed.
    pub toml: String,
    /// When it was applied (ms since the epoch).
    pub applied_at: i64,
    /// The store reached HQ with it: it is good.
    pub confirmed: bool,
}

/// The persistent record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// In force; none means the local file alone.
    pub current: Option<Applied>,
    /// The last good one before it (what a rollback returns to; none: the local file).
    pub previous: Option<Applied>,
    /// The newest version ever tried here (a rolled-back version is not tried again).
    pub newest_tried: i64,
    /// What HQ was last told (published, retained, on every connect).
    pub status: Option<ConfigStatus>,
}

/// The record cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}; fix or remove the file (the store then runs on its local config)")]
pub struct LedgerError {
    path: PathBuf,
    message: String,
}

impl Ledger {
    /// Where the record lives.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("hq-config.json")
    }

    /// Reads the record; none yet means the local file alone.
    pub fn load(state_dir: &Path) -> Result<Ledger, LedgerError> {
        let path = Self::path(state_dir);
        // Written by a release that left it readable to others (it holds secrets): made the
        // service user's alone on the way.
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = std::fs::metadata(&path)
                && m.permissions().mode() & 0o077 != 0
            {
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            }
        }
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LedgerError {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(e) => Err(LedgerError {
                path,
                message: e.to_string(),
            }),
        }
    }

    /// Writes the record atomically and durably (temporary file, fsync, rename, fsync of the
    /// directory): after a power cut it is either the old record or the new one.
    pub fn save(&self, state_dir: &Path) -> Result<(), LedgerError> {
        use std::io::Write;
        let path = Self::path(state_dir);
        let err = |e: std::io::Error| LedgerError {
            path: path.clone(),
            message: e.to_string(),
        };
        let tmp = path.with_extension("json.tmp");
        let _ = std::fs::remove_file(&tmp);
        // It holds platform secrets and HQ's password: the service user's alone, whatever the
        // umask (0644 under 022, 0660 under the unit's 0007 with the staff's group).
        let mut f = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(err)?
        };
        f.write_all(&serde_json::to_vec_pretty(self).expect("the ledger serialises"))
            .map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)?;
        std::fs::File::open(state_dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
        Ok(())
    }

    /// The version in force.
    pub fn version(&self) -> Option<i64> {
        self.current.as_ref().map(|a| a.version)
    }

    /// When the config in force must be undone unless HQ has been reached by then.
    pub fn rollback_deadline(&self, after_secs: u64) -> Option<Timestamp> {
        self.current.as_ref().filter(|a| !a.confirmed).map(|a| {
            Timestamp(
                a.applied_at
                    .saturating_add((after_secs as i64).saturating_mul(1000)),
            )
        })
    }

    /// Puts a verified, valid offer in force (unconfirmed until HQ is reached with it).
    pub fn apply(&mut self, store: &str, version: i64, toml: String, now: Timestamp) {
        if let Some(cur) = self.current.take().filter(|c| c.confirmed) {
            self.previous = Some(cur);
        }
        self.current = Some(Applied {
            version,
            toml,
            applied_at: now.0,
            confirmed: false,
        });
        self.newest_tried = self.newest_tried.max(version);
        self.status = Some(status(
            store,
            ConfigResult::Applied,
            Some(version),
            Some(version),
            None,
            now,
        ));
    }

    /// HQ was reached with the config in force: it is good. Returns whether anything changed.
    pub fn confirm(&mut self) -> bool {
        match self.current.as_mut() {
            Some(c) if !c.confirmed => {
                c.confirmed = true;
                true
            }
            _ => false,
        }
    }

    /// Records a refusal; the config in force stays. `tried` marks a verified offer for this
    /// store that is not tried again (an unverified version number must not block later ones).
    pub fn reject(
        &mut self,
        store: &str,
        offered: Option<i64>,
        tried: bool,
        reason: String,
        now: Timestamp,
    ) {
        if let (true, Some(v)) = (tried, offered) {
            self.newest_tried = self.newest_tried.max(v);
        }
        let version = self.version();
        self.status = Some(status(
            store,
            ConfigResult::Rejected,
            version,
            offered,
            Some(reason),
            now,
        ));
    }

    /// Goes back to the last good config.
    pub fn roll_back(&mut self, store: &str, reason: String, now: Timestamp) {
        let undone = self.current.take().map(|c| c.version);
        self.current = self.previous.take();
        let version = self.version();
        self.status = Some(status(
            store,
            ConfigResult::RolledBack,
            version,
            undone,
            Some(reason),
            now,
        ));
    }
}

fn status(
    store: &str,
    result: ConfigResult,
    version: Option<i64>,
    offered: Option<i64>,
    reason: Option<String>,
    now: Timestamp,
) -> ConfigStatus {
    ConfigStatus {
        v: V,
        store: store.to_string(),
        result,
        version,
        offered_version: offered,
        reason,
        at: now.0,
    }
}

/// The local text with HQ's text laid over it, table by table (arrays and values replace).
pub fn overlay(local: &str, remote: &str) -> Result<String, String> {
    let mut base: toml::Table = local
        .parse()
        .map_err(|e: toml::de::Error| format!("the local file: {}", e.message()))?;
    let top: toml::Table = remote.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| remote[..s.start.min(remote.len())].matches('\n').count() + 1);
        format!(
            "not TOML{}: {}",
            line.map_or(String::new(), |l| format!(" (line {l} of HQ's document)")),
            e.message().trim()
        )
    })?;
    for path in LOCAL_ONLY {
        let (key, tables) = path.split_last().expect("a key");
        let table = tables
            .iter()
            .try_fold(&top, |t, name| t.get(*name).and_then(|v| v.as_table()));
        if table.is_some_and(|t| t.contains_key(*key)) {
            return Err(format!(
                "`{}` may only be set in the store's local file",
                path.join(".")
            ));
        }
    }
    merge(&mut base, top);
    toml::to_string(&base).map_err(|e| e.to_string())
}

/// The line of `dotted` (`sla.at_risk_secs`) in a TOML text, found by its table header and key.
fn line_of(text: &str, dotted: &str) -> Option<usize> {
    let (table, key) = match dotted.rsplit_once('.') {
        Some((t, k)) => (t, k),
        None => ("", dotted),
    };
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(header) = l.strip_prefix('[') {
            current = header
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
                .to_string();
            continue;
        }
        let name = l.split('=').next().unwrap_or("").trim().trim_matches('"');
        if current == table && name == key && l.contains('=') {
            return Some(i + 1);
        }
    }
    None
}

fn merge(base: &mut toml::Table, top: toml::Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge(b, t),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The config a store runs with `remote` laid over its local file; `source` stays the local
/// text, so the next offer is laid over the local file again, not over this one.
pub fn with_remote(local: &Config, remote: &Applied) -> Result<Config, String> {
    let text = overlay(&local.source, &remote.toml)?;
    // The merged text is checked, but the operator reads HQ's document: point at its lines, not
    // the merged text's (a 6-line document once got "line 20").
    let mut config = Config::parse(&text, Path::new("config from HQ")).map_err(|e| {
        use crate::config::ConfigError as E;
        let (key, what) = match &e {
            E::Parse { key, message, .. } => (key.clone(), message.clone()),
            E::Invalid { key, reason, .. } => (key.clone(), reason.clone()),
            other => return other.to_string(),
        };
        let at = line_of(&remote.toml, &key)
            .map_or(String::new(), |l| format!(" (line {l} of HQ's document)"));
        format!("key `{key}`{at}: {what}")
    })?;
    config.source = local.source.clone();
    config.hq_version = Some(remote.version);
    Ok(config)
}

/// The local file's config alone (the base every remote config is laid over).
pub fn local_config(running: &Config) -> Config {
    let mut c = Config::parse(&running.source, Path::new("local config"))
        .unwrap_or_else(|_| running.clone());
    c.source = running.source.clone();
    c.hq_version = None;
    c
}

/// Goes back to the last good config: records that (a record that cannot be written is
/// logged; the store still runs on what is returned) and returns the config to run.
pub fn revert(running: &Config, reason: String) -> Config {
    let local = local_config(running);
    let dir = local.store.state_dir.clone();
    let mut ledger = Ledger::load(&dir).unwrap_or_default();
    tracing::error!(%reason, version = ?ledger.version(), "rolling back to the last good config");
    ledger.roll_back(&local.store.id, reason, Timestamp::now());
    if let Err(e) = ledger.save(&dir) {
        tracing::error!(error = %e, "cannot record the rollback");
    }
    match ledger.current.as_ref().map(|c| with_remote(&local, c)) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            tracing::error!(error = %e, "the previous config does not apply either; running on the local file");
            local
        }
        None => local,
    }
}

/// The config to start with: the local file, with the one from HQ in force laid over it. A
/// record that cannot be read or a remote config that no longer validates (after an upgrade)
/// leaves the local file alone in force, loudly.
pub fn effective(local: Config) -> Config {
    let ledger = match Ledger::load(&local.store.state_dir) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the config from HQ; running on the local file");
            return local;
        }
    };
    match ledger.current.as_ref().map(|c| with_remote(&local, c)) {
        None => local,
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            tracing::error!(error = %e, "the config from HQ in force does not apply; running on the local file");
            local
        }
    }
}
