//! Signed configs from HQ through a real broker: one signed by the minisign CLI applies and is
//! reported; forged, wrong-store, old, invalid and overreaching ones are refused with their
//! reason and change nothing; a config that cuts the store off HQ is rolled back by itself. And
//! key files and signatures interchangeable with the `minisign` CLI both ways.

use crate::hq_tests::hq_config;
use crate::mqtt::Hq;
use crate::net::Broker;
use flashpick::hq::signed;
use flashpick::hq::wire::{ConfigDoc, ConfigResult, ConfigStatus};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/minisign")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The key line of a `.pub` file.
fn key_line(pub_text: &str) -> String {
    pub_text.lines().nth(1).unwrap().to_string()
}

/// A daemon run the way `flashpick serve` runs it (restarts on a new config), until dropped.
struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    fn start(config: flashpick::config::Config) -> Running {
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            flashpick::daemon::run(config, async {
                let _ = rx.await;
            })
            .await
            .expect("the daemon runs");
        });
        Running {
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
    }
}

async fn offer(broker: &Broker, doc: &ConfigDoc) -> ConfigStatus {
    flashpick::cli::hq_cmd::push(&broker.url(), "T-0001", doc, None, None, 20)
        .await
        .unwrap_or_else(|f| panic!("push: {:#}", f.error))
        .expect("the store answered")
}

/// The config version the store reports in its retained status, once online.
async fn running_version(hq: &Hq, want: Option<i64>) {
    hq.until(20, &format!("the store online with config {want:?}"), |h| {
        h.last("T-0001/status")
            .is_some_and(|s| s["online"] == true && s["detail"]["config_version"].as_i64() == want)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signed_configs_apply_and_every_bad_one_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let (our_pub, our_key) = signed::keygen().unwrap();
    let (_, forger_key) = signed::keygen().unwrap();
    let keys = format!(
        "trusted_keys = [\"{}\", \"{}\"]\n",
        key_line(&fixture("cli.pub")),
        key_line(&our_pub)
    );
    let running = Running::start(hq_config(dir.path(), &broker.url(), &keys));
    running_version(&hq, None).await;

    // Signed by the minisign CLI (the fixture): applied, reported, and in force after the restart.
    let cli_signed = ConfigDoc {
        config: fixture("config.toml"),
        minisig: fixture("config.toml.minisig"),
    };
    let s = offer(&broker, &cli_signed).await;
    assert_eq!(
        (s.result, s.version),
        (ConfigResult::Applied, Some(1)),
        "{s:?}"
    );
    running_version(&hq, Some(1)).await;
    // It may carry platform secrets and HQ's password: the service user's alone, whatever the
    // umask of the process that wrote it (this test's is 022), and the database is not for
    // every user either.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("hq-config.json"), 0o600);
        assert_eq!(
            mode("store.db") & 0o007,
            0,
            "store.db is {:o}",
            mode("store.db")
        );
    }

    let sign = |toml: &str, key: &str, store: &str, version: i64| ConfigDoc {
        config: toml.to_string(),
        minisig: signed::sign(toml, key, store, version).unwrap(),
    };
    let good = "[sla]\nat_risk_secs = 300\n";
    let cases = [
        (sign(good, &forger_key, "T-0001", 2), "signature not valid"),
        (sign(good, &our_key, "T-0002", 2), "signed for store T-0002"),
        (
            sign(good, &our_key, "T-0001", 1),
            "version 1 is not newer than version 1",
        ),
        (
            sign("[sla\nat_risk_secs = 1", &our_key, "T-0001", 2),
            "invalid config: not TOML (line 1 of HQ's document)",
        ),
        (
            sign("[store]\nid = \"EVIL\"\n", &our_key, "*", 3),
            "`store.id` may only be set in the store's local file",
        ),
        (
            sign(
                "[sla]\nat_risk_secs = 10\nlate_secs = 60\n",
                &our_key,
                "T-0001",
                4,
            ),
            // The document's own line, not the merged text's.
            "`sla.at_risk_secs` (line 2 of HQ's document)",
        ),
        (
            ConfigDoc {
                config: good.into(),
                minisig: "not a signature".into(),
            },
            "unreadable signature",
        ),
    ];
    for (doc, reason) in &cases {
        let s = offer(&broker, doc).await;
        assert_eq!(s.result, ConfigResult::Rejected, "{reason}: {s:?}");
        assert_eq!(s.version, Some(1), "the config in force stays: {s:?}");
        let got = s.reason.clone().unwrap_or_default();
        assert!(got.contains(reason), "wanted `{reason}`, got `{got}`");
    }
    // Still version 1, and still the same daemon settings.
    running_version(&hq, Some(1)).await;
    let ledger = flashpick::hq::applied::Ledger::load(dir.path()).unwrap();
    assert_eq!(ledger.version(), Some(1));

    // A good one signed by `flashpick hq sign` (for every store) still applies after all that:
    // an unverified version number blocked nothing.
    let s = offer(&broker, &sign(good, &our_key, "*", 5)).await;
    assert_eq!(
        (s.result, s.version),
        (ConfigResult::Applied, Some(5)),
        "{s:?}"
    );
    running_version(&hq, Some(5)).await;
    // What a restart would run with: the local file with version 5 laid over it.
    let cfg = flashpick::hq::applied::effective(hq_config(dir.path(), &broker.url(), &keys));
    assert_eq!(cfg.sla.at_risk_secs, 300);
    assert_eq!(cfg.hq_version, Some(5));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_config_that_cuts_the_store_off_is_rolled_back_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let (pk, sk) = signed::keygen().unwrap();
    let local = hq_config(
        dir.path(),
        &broker.url(),
        &format!(
            "trusted_keys = [\"{}\"]\nrollback_after_secs = 2\n",
            key_line(&pk)
        ),
    );
    let running = Running::start(local);
    running_version(&hq, None).await;
    // A typo in the broker address: the store applies it and can no longer reach HQ.
    let toml = "[hq]\nbroker = \"mqtt://127.0.0.1:9\"\n";
    let doc = ConfigDoc {
        config: toml.into(),
        minisig: signed::sign(toml, &sk, "T-0001", 7).unwrap(),
    };
    let s = offer(&broker, &doc).await;
    assert_eq!(s.result, ConfigResult::Applied, "{s:?}");
    hq.until(30, "the rollback reported", |h| {
        h.last("T-0001/config/status")
            .is_some_and(|s| s["result"] == "rolled_back")
    })
    .await;
    let s: ConfigStatus = serde_json::from_value(hq.last("T-0001/config/status").unwrap()).unwrap();
    assert_eq!((s.version, s.offered_version), (None, Some(7)), "{s:?}");
    assert!(
        s.reason.as_deref().unwrap().contains("no connection to HQ"),
        "{s:?}"
    );
    // Back on the local file, online; the retained offer is not tried again.
    running_version(&hq, None).await;
    let ledger = flashpick::hq::applied::Ledger::load(dir.path()).unwrap();
    assert_eq!((ledger.version(), ledger.newest_tried), (None, 7));
    running.stop().await;
}

/// Whether the `minisign` CLI is here. CI installs it and sets FLASHPICK_REQUIRE_TOOLS=1, so
/// there the interop test cannot pass by skipping.
fn minisign_cli() -> bool {
    let here = std::process::Command::new("minisign")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        assert!(
            std::env::var_os("FLASHPICK_REQUIRE_TOOLS").is_none(),
            "FLASHPICK_REQUIRE_TOOLS is set but the minisign CLI is missing (apt-get install minisign)"
        );
        eprintln!("minisign CLI not installed: checking against the CLI-made fixtures only");
    }
    here
}

fn flashpick(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_flashpick"))
        .args(args)
        .output()
        .unwrap()
}

fn minisign(args: &[&str]) -> std::process::Output {
    std::process::Command::new("minisign")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn signatures_made_by_the_minisign_cli_verify_prehashed_and_legacy() {
    let keys = [key_line(&fixture("cli.pub"))];
    for (toml, sig, store, version) in [
        ("config.toml", "config.toml.minisig", "T-0001", 1),
        ("legacy.toml", "legacy.toml.minisig", "*", 2),
    ] {
        let doc = ConfigDoc {
            config: fixture(toml),
            minisig: fixture(sig),
        };
        let offer = signed::verify(&doc, "T-0001", &keys, 0).unwrap();
        assert_eq!(offer.version, version, "{store}");
        // One byte changed: refused.
        let tampered = ConfigDoc {
            config: doc.config.replace("420", "421"),
            ..doc
        };
        assert!(matches!(
            signed::verify(&tampered, "T-0001", &keys, 0),
            Err(signed::Refusal::BadSignature(_))
        ));
    }
}

#[test]
fn keys_and_signatures_are_interchangeable_with_the_minisign_cli() {
    if !minisign_cli() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| -> PathBuf { dir.path().join(n) };
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    std::fs::write(p("store.toml"), "[sla]\nat_risk_secs = 360\n").unwrap();

    // flashpick's key pair and signature → `minisign -V` accepts.
    let out = flashpick(&["hq", "keygen", "--out", &s(&p("ours"))]);
    assert!(out.status.success(), "{out:?}");
    let out = flashpick(&[
        "hq",
        "sign",
        &s(&p("store.toml")),
        "--key",
        &s(&p("ours.key")),
        "--store",
        "T-0001",
        "--version",
        "3",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v = minisign(&["-V", "-p", &s(&p("ours.pub")), "-m", &s(&p("store.toml"))]);
    assert!(v.status.success(), "{v:?}");
    assert!(String::from_utf8_lossy(&v.stdout).contains("store=T-0001 version=3"));

    // flashpick's key used by the CLI to sign → flashpick verifies.
    std::fs::remove_file(p("store.toml.minisig")).unwrap();
    let signed_by_cli = minisign(&[
        "-S",
        "-s",
        &s(&p("ours.key")),
        "-m",
        &s(&p("store.toml")),
        "-t",
        "store=T-0001 version=4",
    ]);
    assert!(signed_by_cli.status.success(), "{signed_by_cli:?}");
    let doc = ConfigDoc {
        config: std::fs::read_to_string(p("store.toml")).unwrap(),
        minisig: std::fs::read_to_string(p("store.toml.minisig")).unwrap(),
    };
    let pk = key_line(&std::fs::read_to_string(p("ours.pub")).unwrap());
    assert_eq!(signed::verify(&doc, "T-0001", &[pk], 0).unwrap().version, 4);

    // The CLI's key pair → `flashpick hq sign` → both verify.
    let g = minisign(&["-G", "-W", "-p", &s(&p("cli.pub")), "-s", &s(&p("cli.key"))]);
    assert!(g.status.success(), "{g:?}");
    std::fs::remove_file(p("store.toml.minisig")).unwrap();
    let out = flashpick(&[
        "hq",
        "sign",
        &s(&p("store.toml")),
        "--key",
        &s(&p("cli.key")),
        "--store",
        "*",
        "--version",
        "5",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v = minisign(&["-V", "-p", &s(&p("cli.pub")), "-m", &s(&p("store.toml"))]);
    assert!(v.status.success(), "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_config_the_daemon_cannot_start_with_is_undone_not_crash_looped() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let (pk, sk) = signed::keygen().unwrap();
    let keys = format!("trusted_keys = [\"{}\"]\n", key_line(&pk));
    let running = Running::start(hq_config(dir.path(), &broker.url(), &keys));
    running_version(&hq, None).await;
    // Valid TOML, valid config — but its metrics port is taken on this machine.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let toml = format!("[http]\nlisten = \"{}\"\n", taken.local_addr().unwrap());
    let doc = ConfigDoc {
        minisig: signed::sign(&toml, &sk, "T-0001", 3).unwrap(),
        config: toml,
    };
    offer(&broker, &doc).await;
    hq.until(20, "the failed start undone", |h| {
        h.last("T-0001/config/status")
            .is_some_and(|s| s["result"] == "rolled_back")
    })
    .await;
    let s = hq.last("T-0001/config/status").unwrap();
    assert!(
        s["reason"].as_str().unwrap().contains("could not start"),
        "{s}"
    );
    // And the store is back, on its local file.
    running_version(&hq, None).await;
    running.stop().await;
}
