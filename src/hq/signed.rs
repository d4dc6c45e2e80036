//! Signed configs: minisign signatures over the exact bytes of the TOML text, with the store and
//! version in the signed (trusted) comment. Verification uses `minisign-verify` (small, no
//! dependencies, on the daemon's path); key generation and signing for `flashpick hq` use the
//! `minisign` crate, whose files the `minisign` CLI reads and writes too.

use super::wire::ConfigDoc;

/// Why an offered config was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The payload is not a config document.
    #[error(
        "not a config document: {0}; publish {{\"config\": TOML text, \"minisig\": signature}}"
    )]
    Malformed(String),
    /// The signature file cannot be read.
    #[error("unreadable signature: {0}")]
    BadSignatureFile(String),
    /// No pinned key verifies it.
    #[error("signature not valid for any trusted key (hq.trusted_keys): {0}")]
    BadSignature(String),
    /// The store has no trusted keys.
    #[error("this store trusts no keys (hq.trusted_keys is empty): configs from HQ are refused")]
    NoKeys,
    /// The trusted comment lacks `store=` or `version=`.
    #[error("the trusted comment `{0}` must hold store=<id or *> version=<number>")]
    Comment(String),
    /// Signed for another store.
    #[error("signed for store {signed}, this is {ours}")]
    WrongStore {
        /// The store in the comment.
        signed: String,
        /// This store.
        ours: String,
    },
    /// Not newer than what this store has tried.
    #[error("version {offered} is not newer than version {current}")]
    OldVersion {
        /// Offered.
        offered: i64,
        /// The newest tried here.
        current: i64,
    },
    /// Verified, but not a valid config for this store.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// A verified offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Its version.
    pub version: i64,
    /// The TOML text.
    pub toml: String,
}

/// The store and version in a trusted comment (`store=S version=N`, other words ignored).
pub fn parse_comment(comment: &str) -> Result<(String, i64), Refusal> {
    let mut store = None;
    let mut version = None;
    for word in comment.split_whitespace() {
        if let Some(s) = word.strip_prefix("store=") {
            store = Some(s.to_string());
        } else if let Some(v) = word.strip_prefix("version=") {
            version = v.parse::<i64>().ok().filter(|v| *v > 0);
        }
    }
    match (store, version) {
        (Some(s), Some(v)) if !s.is_empty() => Ok((s, v)),
        _ => Err(Refusal::Comment(comment.to_string())),
    }
}

/// The version a payload offers, when it can be read at all (for reporting a refusal).
pub fn offered_version(doc: &ConfigDoc) -> Option<i64> {
    let sig = minisign_verify::Signature::decode(&doc.minisig).ok()?;
    parse_comment(sig.trusted_comment()).ok().map(|(_, v)| v)
}

/// Checks a document: a signature by one of `trusted` over the exact TOML bytes, for this store
/// (or `*`), with a version above `newest_tried`.
pub fn verify(
    doc: &ConfigDoc,
    store: &str,
    trusted: &[String],
    newest_tried: i64,
) -> Result<Offer, Refusal> {
    if trusted.is_empty() {
        return Err(Refusal::NoKeys);
    }
    let sig = minisign_verify::Signature::decode(&doc.minisig)
        .map_err(|e| Refusal::BadSignatureFile(e.to_string()))?;
    let mut last = String::from("no key");
    let mut ok = false;
    for key in trusted {
        let Ok(pk) = minisign_verify::PublicKey::from_base64(key.trim()) else {
            continue;
        };
        // Both pre-hashed (`ED`, the CLI's default) and legacy (`Ed`, `minisign -l`).
        match pk.verify(doc.config.as_bytes(), &sig, true) {
            Ok(()) => {
                ok = true;
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    if !ok {
        return Err(Refusal::BadSignature(last));
    }
    // Only now is the comment worth reading: the signature covers it.
    let (signed, version) = parse_comment(sig.trusted_comment())?;
    if signed != "*" && signed != store {
        return Err(Refusal::WrongStore {
            signed,
            ours: store.to_string(),
        });
    }
    if version <= newest_tried {
        return Err(Refusal::OldVersion {
            offered: version,
            current: newest_tried,
        });
    }
    Ok(Offer {
        version,
        toml: doc.config.clone(),
    })
}

/// A new key pair as the texts of the `.pub` and `.key` files (the secret key unencrypted, as
/// `minisign -G -W` makes it, so automation can sign without a prompt).
pub fn keygen() -> Result<(String, String), String> {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().map_err(|e| e.to_string())?;
    let pk = kp.pk.to_box().map_err(|e| e.to_string())?.into_string();
    let sk = kp.sk.to_box(None).map_err(|e| e.to_string())?.into_string();
    Ok((pk, sk))
}

/// Signs `toml` for `store` (or `*`) at `version` with the secret key file's text; returns the
/// `.minisig` text.
pub fn sign(toml: &str, secret_key: &str, store: &str, version: i64) -> Result<String, String> {
    let sk = secret_key_from(secret_key)?;
    let comment = format!("store={store} version={version}");
    let sig = minisign::sign(
        None,
        &sk,
        std::io::Cursor::new(toml.as_bytes()),
        Some(&comment),
        Some("signed by flashpick hq sign"),
    )
    .map_err(|e| e.to_string())?;
    Ok(sig.into_string())
}

/// Reads an unencrypted secret key file. The `minisign` CLI (0.11) writes `-G -W` keys with an
/// all-zero checksum, which the `minisign` crate refuses as corrupted; such a key is read as
/// it is, and checked instead by its public half matching the one the secret half derives.
fn secret_key_from(text: &str) -> Result<minisign::SecretKey, String> {
    use ct_codecs::{Base64, Decoder};
    let hint = "flashpick hq sign needs an unencrypted key: flashpick hq keygen, or minisign -G -W";
    let line = text
        .lines()
        .nth(1)
        .ok_or_else(|| format!("not a minisign secret key file ({hint})"))?;
    let bytes = Base64::decode_to_vec(line.trim(), None)
        .map_err(|_| format!("not a minisign secret key file ({hint})"))?;
    // sig_alg 2, kdf_alg 2, chk_alg 2, salt 32, opslimit 8, memlimit 8, keynum 8, sk 64, chk 32.
    if bytes.len() != 158 || &bytes[2..4] != b"\0\0" {
        return Err(format!("the key is encrypted or damaged ({hint})"));
    }
    if bytes[126..].iter().any(|b| *b != 0) {
        let sk_box = minisign::SecretKeyBox::from_string(text).map_err(|e| e.to_string())?;
        return minisign::SecretKey::from_unencrypted_box(sk_box)
            .map_err(|e| format!("{e} ({hint})"));
    }
    let sk = minisign::SecretKey::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let pk = minisign::PublicKey::from_secret_key(&sk).map_err(|e| e.to_string())?;
    // An Ed25519 secret key carries its public key in its last 32 bytes; a damaged key would
    // derive another one.
    let derived = sign_check(&sk, &pk);
    if !derived {
        return Err(format!("the key is damaged ({hint})"));
    }
    Ok(sk)
}

/// Signs a probe and verifies it: the key pair works.
fn sign_check(sk: &minisign::SecretKey, pk: &minisign::PublicKey) -> bool {
    let probe = b"flashpick key check";
    minisign::sign(None, sk, std::io::Cursor::new(&probe[..]), None, None)
        .and_then(|sig| {
            minisign::verify(
                pk,
                &sig,
                std::io::Cursor::new(&probe[..]),
                true,
                false,
                false,
            )
        })
        .is_ok()
}
