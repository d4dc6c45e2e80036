//! What the store reaches: the HQ broker, the platforms, the clock against their gateways.

use super::{Finding, Level, bad, ok};
use crate::config::Config;
use crate::model::{Platform, Timestamp};
use crate::sync::Verdict;
use crate::sync::channel::{Adapter, Channel};
use std::time::Duration;

pub(super) async fn broker(c: &Config) -> Finding {
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
pub(super) async fn platform(c: &Config, p: Platform) -> (Finding, Option<i64>) {
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
        Verdict::Permanent(e) | Verdict::Refused(e) => bad(
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
pub(super) async fn gateway_skew(url: &str) -> Option<i64> {
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

pub(super) fn clock(skew: Option<i64>) -> Finding {
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
