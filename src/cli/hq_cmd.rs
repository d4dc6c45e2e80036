//! `flashpick hq …`: what an HQ engineer needs to roll a config out — a minisign key pair, a
//! signature that `minisign -V` accepts too, and a retained publish to a store's config topic
//! that waits for the store's answer.

use super::{Failure, fail};
use crate::hq::signed;
use crate::hq::wire::{ConfigDoc, ConfigStatus, Topics};
use anyhow::Context;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `flashpick hq` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HqAction {
    /// Make a minisign key pair: PREFIX.pub (for stores' hq.trusted_keys) and PREFIX.key
    /// (unencrypted, mode 0600; `minisign -S -s PREFIX.key` signs with it too).
    Keygen {
        /// Path prefix of the two files.
        #[arg(long, default_value = "flashpick-hq")]
        out: PathBuf,
    },
    /// Sign a config TOML for a store and version; writes FILE.minisig.
    Sign {
        /// The TOML file.
        file: PathBuf,
        /// The secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The store id, or `*` for every store.
        #[arg(long)]
        store: String,
        /// The version (greater than the one each store has).
        #[arg(long)]
        version: i64,
    },
    /// Publish a signed config, retained, to a store's config topic and wait for its answer.
    Push {
        /// The TOML file (FILE.minisig next to it holds the signature).
        file: PathBuf,
        /// The broker, mqtt://host:port.
        #[arg(long)]
        broker: String,
        /// The store id.
        #[arg(long)]
        store: String,
        /// The signature file (default FILE.minisig).
        #[arg(long)]
        sig: Option<PathBuf>,
        /// Broker user name.
        #[arg(long)]
        username: Option<String>,
        /// Broker password.
        #[arg(long, env = "FLASHPICK_HQ_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Seconds to wait for the store's config status (0: do not wait).
        #[arg(long, default_value_t = 30)]
        wait: u64,
        /// Allow plain mqtt:// to a broker on another machine (the config and the password
        /// travel unencrypted). For a private line only.
        #[arg(long)]
        allow_plaintext: bool,
    },
}

/// Runs one `flashpick hq` command.
pub fn run(action: HqAction) -> Result<(), Failure> {
    match action {
        HqAction::Keygen { out } => keygen(&out),
        HqAction::Sign {
            file,
            key,
            store,
            version,
        } => sign(&file, &key, &store, version),
        HqAction::Push {
            file,
            broker,
            store,
            sig,
            username,
            password,
            wait,
            allow_plaintext,
        } => {
            let remote = crate::config::HqSection {
                broker: broker.clone(),
                ..Default::default()
            }
            .broker_addr()
            .is_ok_and(|a| !crate::config::is_local_host(&a.host));
            if remote && !allow_plaintext {
                return Err(fail(
                    64,
                    anyhow::anyhow!(
                        "{broker} is another machine and flashpick hq push speaks plain mqtt: the config (and the password) would travel unencrypted; push on the broker's machine, or pass --allow-plaintext for a private line"
                    ),
                ));
            }
            let sig = sig.unwrap_or_else(|| minisig_path(&file));
            let doc = ConfigDoc {
                config: read(&file)?,
                minisig: read(&sig)?,
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let status = rt.block_on(push(&broker, &store, &doc, username, password, wait))?;
            match status {
                Some(s) => {
                    println!("{}", serde_json::to_string(&s).expect("serialises"));
                    if s.result == crate::hq::wire::ConfigResult::Applied {
                        Ok(())
                    } else {
                        Err(fail(1, anyhow::anyhow!("the store did not apply it")))
                    }
                }
                None => {
                    println!("published to {}", Topics::new(&store).config);
                    Ok(())
                }
            }
        }
    }
}

fn minisig_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".minisig");
    PathBuf::from(s)
}

fn read(path: &Path) -> Result<String, Failure> {
    use std::io::Read;
    // Configs, keys and signatures are a few KiB: a path to /dev/zero must not eat the memory.
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(crate::config::MAX_CONFIG_BYTES + 1)
                .read_to_string(&mut text)
        })
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(|e| fail(66, e))?;
    if text.len() as u64 > crate::config::MAX_CONFIG_BYTES {
        return Err(fail(
            65,
            anyhow::anyhow!(
                "{} is larger than {} KiB: not a config, key or signature",
                path.display(),
                crate::config::MAX_CONFIG_BYTES / 1024
            ),
        ));
    }
    Ok(text)
}

fn keygen(out: &Path) -> Result<(), Failure> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let (pk, sk) = signed::keygen().map_err(|e| fail(1, anyhow::anyhow!(e)))?;
    let pub_path = out.with_extension("pub");
    let key_path = out.with_extension("key");
    for (path, text, mode) in [(&key_path, &sk, 0o600), (&pub_path, &pk, 0o644)] {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
        f.write_all(text.as_bytes())?;
    }
    let key_line = pk.lines().nth(1).unwrap_or_default();
    println!(
        "wrote {} and {}\nput this in each store's [hq] trusted_keys:\n  \"{key_line}\"",
        pub_path.display(),
        key_path.display()
    );
    Ok(())
}

fn sign(file: &Path, key: &Path, store: &str, version: i64) -> Result<(), Failure> {
    if version <= 0 {
        return Err(fail(64, anyhow::anyhow!("--version must be 1 or more")));
    }
    let text = read(file)?;
    // Refuse to sign what no store could parse.
    text.parse::<toml::Table>().map_err(|e| {
        fail(
            65,
            anyhow::anyhow!("{} is not TOML: {}", file.display(), e.message()),
        )
    })?;
    let sig = signed::sign(&text, &read(key)?, store, version)
        .map_err(|e| fail(1, anyhow::anyhow!(e)))?;
    let out = minisig_path(file);
    std::fs::write(&out, sig).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {} (store={store} version={version})", out.display());
    Ok(())
}

/// Publishes `doc` retained and, when `wait` > 0, waits for the store's status about it.
pub async fn push(
    broker: &str,
    store: &str,
    doc: &ConfigDoc,
    username: Option<String>,
    password: Option<String>,
    wait: u64,
) -> Result<Option<ConfigStatus>, Failure> {
    let section = crate::config::HqSection {
        broker: broker.to_string(),
        ..Default::default()
    };
    let addr = section
        .broker_addr()
        .map_err(|e| fail(64, anyhow::anyhow!(e)))?;
    if addr.tls {
        return Err(fail(
            64,
            anyhow::anyhow!(
                "flashpick hq push speaks plain mqtt:// only; use a local broker listener or mosquitto_pub"
            ),
        ));
    }
    let offered = signed::offered_version(doc);
    let id = format!("flashpick-hq-{}", std::process::id());
    let mut o = MqttOptions::new(id, addr.host, addr.port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(8 << 20, 8 << 20);
    if let Some(u) = username {
        o.set_credentials(u, password.unwrap_or_default());
    }
    let (client, mut el) = AsyncClient::new(o, 16);
    let topics = Topics::new(store);
    let payload = serde_json::to_vec(doc).expect("serialises");
    client
        .subscribe(&topics.config_status, QoS::AtLeastOnce)
        .await
        .context("subscribe")?;
    client
        .publish(&topics.config, QoS::AtLeastOnce, true, payload)
        .await
        .context("publish")?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.max(10));
    let mut acked = false;
    loop {
        let ev = tokio::time::timeout_at(deadline, el.poll())
            .await
            .map_err(|_| {
                fail(
                    1,
                    anyhow::anyhow!(if acked {
                        "published, but the store did not answer in time (is it connected? an offer identical to the config in force gets no answer)"
                    } else {
                        "the broker did not acknowledge the publish in time"
                    }),
                )
            })?
            .map_err(|e| fail(69, anyhow::anyhow!("broker {broker}: {e}")))?;
        match ev {
            Event::Incoming(Packet::PubAck(_)) => {
                acked = true;
                if wait == 0 {
                    return Ok(None);
                }
            }
            // A retained status is about an earlier offer; the answer to this one comes live.
            Event::Incoming(Packet::Publish(p)) if !p.retain => {
                if let Ok(s) = serde_json::from_slice::<ConfigStatus>(&p.payload) {
                    // The retained status may be about an older offer: wait for ours.
                    if s.offered_version == offered {
                        let _ = client.disconnect().await;
                        let _ = tokio::time::timeout(Duration::from_secs(1), async {
                            while let Ok(ev) = el.poll().await {
                                if matches!(ev, Event::Outgoing(Outgoing::Disconnect)) {
                                    break;
                                }
                            }
                        })
                        .await;
                        return Ok(Some(s));
                    }
                }
            }
            _ => {}
        }
    }
}
