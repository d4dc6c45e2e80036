//! The simulator's own signing, written from the platforms' documented rules (see
//! `assets/platforms.md`), apart from the adapters' (`sync::sign`): a simulator that signed with
//! the agent's code would only prove that the agent agrees with itself.

use md5::{Digest, Md5};

fn md5_hex(text: &str, upper: bool) -> String {
    let digest = Md5::digest(text.as_bytes());
    digest
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// Meituan's `sig`: the URL without its query, `?`, every other parameter as `name=value` in name
/// order joined by `&` (values as they are, never URL-encoded), then the secret; MD5, lower-case.
pub fn meituan_sig(url: &str, params: &[(String, String)], secret: &str) -> String {
    let mut pairs: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sig").collect();
    pairs.sort();
    let mut text = format!("{url}?");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            text.push('&');
        }
        text.push_str(k);
        text.push('=');
        text.push_str(v);
    }
    text.push_str(secret);
    md5_hex(&text, false)
}

/// JD's `sign`: the secret, then every other parameter as name followed by value in name order
/// with nothing between, then the secret again; MD5, upper-case.
pub fn jd_sign(params: &[(String, String)], secret: &str) -> String {
    let mut pairs: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sign").collect();
    pairs.sort();
    let body: String = pairs.iter().map(|(k, v)| format!("{k}{v}")).collect();
    md5_hex(&format!("{secret}{body}{secret}"), true)
}

/// Whether a signature sent matches the one computed (hex digits in either case).
pub fn matches(sent: Option<&str>, want: &str) -> bool {
    sent.is_some_and(|s| s.eq_ignore_ascii_case(want))
}

/// Parameters as a form body.
pub fn form(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// Fields Meituan URL-encodes once more inside a push's form, after signing (the platform
/// documents: `detail`, `caution`, `recipient_address`, `wm_poi_name`, `extras`, …): the
/// simulator's own list of the fields it sends, apart from the adapter's.
const URL_ENCODED_TWICE: [&str; 5] = [
    "detail",
    "caution",
    "recipient_address",
    "wm_poi_name",
    "extras",
];

/// A Meituan push's form body: the signed fields form-encoded, those Meituan encodes twice
/// URL-encoded once before.
pub fn meituan_push_form(fields: &[(String, String)]) -> String {
    let encoded: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| {
            if URL_ENCODED_TWICE.contains(&k.as_str()) {
                let once = form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
                (k.clone(), once)
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    form(&encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The platform documents' vectors (M1, M2) and the one computed from JD's rule (J1).
    #[test]
    fn the_documented_vectors() {
        let m1 = meituan_sig(
            "https://waimaiopen.meituan.com/api/v1/order/getOrderDaySeq",
            &owned(&[
                ("app_id", "0000"),
                ("timestamp", "1389751221"),
                ("app_poi_code", "31号测试店"),
            ]),
            "864be81325af06a24a806277bb084701",
        );
        assert_eq!(m1, "95f7dc02f936cdd293d3aa8ec881eaa4");
        let m2 = meituan_sig(
            "http://waimaiopen.meituan.com/api/v1/poi/mget",
            &owned(&[
                ("app_id", "1235123121"),
                ("app_poi_codes", "31"),
                ("timestamp", "1389751221"),
            ]),
            "d31ba58fd73c71db697ab5e4946d52d",
        );
        assert_eq!(m2, "00934d00d0aea6f12161edfb6456143d");
        let j1 = jd_sign(
            &owned(&[
                ("app_key", "yourappkey"),
                ("token", "yourtoken"),
                ("timestamp", "2011-07-20 11:10:04"),
                ("format", "json"),
                ("v", "1.0"),
                ("jd_param_json", r#"{"orderId":"100001"}"#),
            ]),
            "yourappSecret",
        );
        assert_eq!(j1, "A7436943D2B63E6335330C2B5E9462F2");
        assert!(matches(Some("a7436943d2b63e6335330c2b5e9462f2"), &j1));
        assert!(!matches(None, &j1));
    }
}
