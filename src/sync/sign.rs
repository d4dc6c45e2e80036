//! The platforms' request signatures, exactly as assets/platforms.md describes them. Pure: both the
//! adapters (to sign) and the receivers and simulator (to verify) use these.

use md5::{Digest, Md5};

fn md5_hex(input: &[u8], upper: bool) -> String {
    let hex = hex(&Md5::digest(input));
    if upper { hex.to_ascii_uppercase() } else { hex }
}

/// Lower-case hex of `bytes`: the one hex encoder (ct-codecs, already here for minisign's
/// base64), for signatures and digests alike.
pub fn hex(bytes: &[u8]) -> String {
    use ct_codecs::{Encoder, Hex};
    Hex::encode_to_string(bytes).expect("hex of a digest fits")
}

/// Meituan `sig`: every parameter but `sig`, sorted by name, joined as `k=v` with `&` and NOT
/// URL-encoded, then `MD5(url + "?" + joined + secret)`, lower-case hex.
pub fn meituan(url: &str, params: &[(&str, &str)], secret: &str) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "sig").collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let joined: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let text = format!("{url}?{}{secret}", joined.join("&"));
    md5_hex(text.as_bytes(), false)
}

/// JD Daojia `sign`: the system parameters and `jd_param_json` (every parameter but `sign`),
/// sorted by name, concatenated as `name` + `value`, then `MD5(secret + that + secret)`,
/// upper-case hex.
pub fn jddj(params: &[(&str, &str)], secret: &str) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "sign").collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::from(secret);
    for (k, v) in sorted {
        text.push_str(k);
        text.push_str(v);
    }
    text.push_str(secret);
    md5_hex(text.as_bytes(), true)
}

/// Constant-time comparison of two signatures, so a forger learns nothing from timing.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| {
            acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
        }) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_m1_meituan_with_chinese_store_code() {
        let sig = meituan(
            "https://waimaiopen.meituan.com/api/v1/order/getOrderDaySeq",
            &[
                ("app_id", "0000"),
                ("timestamp", "1389751221"),
                ("app_poi_code", "31号测试店"),
            ],
            "864be81325af06a24a806277bb084701",
        );
        assert_eq!(sig, "95f7dc02f936cdd293d3aa8ec881eaa4");
    }

    #[test]
    fn vector_m2_meituan_documentation_example() {
        let sig = meituan(
            "http://waimaiopen.meituan.com/api/v1/poi/mget",
            &[
                ("timestamp", "1389751221"),
                ("app_poi_codes", "31"),
                ("app_id", "1235123121"),
                ("sig", "ignored"),
            ],
            "d31ba58fd73c71db697ab5e4946d52d",
        );
        assert_eq!(sig, "00934d00d0aea6f12161edfb6456143d");
    }

    /// Our own vectors (computed independently with Python's hashlib): Chinese values and JSON
    /// values are signed raw, never URL-encoded.
    #[test]
    fn chinese_and_json_values_are_signed_raw() {
        let sig = meituan(
            "https://waimaiopen.meituan.com/api/v1/order/applyPartRefund",
            &[
                ("app_id", "4321"),
                ("timestamp", "1700000000"),
                ("order_id", "27001"),
                ("reason", "部分商品缺货"),
                (
                    "food_data",
                    r#"[{"app_food_code":"W550","sku_id":"W550-1","count":1}]"#,
                ),
            ],
            "secret-中文",
        );
        assert_eq!(sig, "f841b2fdeb62dc2e7c49ec14170128f5");
        let sign = jddj(
            &[
                ("app_key", "k"),
                ("token", "t"),
                ("timestamp", "2026-11-25 12:00:00"),
                ("format", "json"),
                ("v", "1.0"),
                (
                    "jd_param_json",
                    r#"{"orderId":"900001","remark":"缺货","oaosAdjustDTOList":[{"outSkuId":"W550","skuCount":1}]}"#,
                ),
            ],
            "s3cret",
        );
        assert_eq!(sign, "8B4A297130A880D1290B462CD18ED23A");
    }

    #[test]
    fn vector_j1_jddj() {
        let sign = jddj(
            &[
                ("token", "yourtoken"),
                ("app_key", "yourappkey"),
                ("timestamp", "2011-07-20 11:10:04"),
                ("format", "json"),
                ("v", "1.0"),
                ("jd_param_json", r#"{"orderId":"100001"}"#),
            ],
            "yourappSecret",
        );
        assert_eq!(sign, "A7436943D2B63E6335330C2B5E9462F2");
        assert!(same(&sign, "a7436943d2b63e6335330c2b5e9462f2"));
        assert!(!same(&sign, "A7436943D2B63E6335330C2B5E9462F3"));
    }
}
