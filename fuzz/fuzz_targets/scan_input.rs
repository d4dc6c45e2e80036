//! Arbitrary bytes from a serial line: through the framer (in random-sized reads, with random
//! pauses), then every frame through the decoder. Nothing may panic; the framer must never hand
//! on a frame longer than its limit or one containing the suffix.
#![no_main]

use flashpick::config::Suffix;
use flashpick::model::barcode::{DecodeRules, ScaleLayout, decode};
use flashpick::scan::framer::{Framed, Framer};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&control, bytes)) = data.split_first() else {
        return;
    };
    let suffix = match control % 4 {
        0 => Suffix::Cr,
        1 => Suffix::Crlf,
        2 => Suffix::Lf,
        _ => Suffix::None,
    };
    let rules = DecodeRules {
        scale: vec![ScaleLayout {
            name: "w".into(),
            layout: "FFWWWWWNNNNNC".into(),
            flags: vec!["21".into()],
            weight_decimals: 3,
            amount_decimals: 2,
            check_digit: control & 0x10 != 0,
        }],
        badge_prefixes: vec!["PK".into()],
        order_prefixes: vec!["MT".into()],
        slot_prefixes: vec!["SLOT".into()],
    };
    let max = 64;
    let mut framer = Framer::new(suffix, max, Duration::from_millis(20));
    let mut now = Instant::now();
    let chunk = usize::from(control >> 5) + 1;
    for piece in bytes.chunks(chunk) {
        // A pause between reads whenever the piece starts with an even byte.
        if piece[0] % 2 == 0 {
            now += Duration::from_millis(30);
        }
        for out in framer.push(piece, now) {
            if let Framed::Frame(code) = out {
                assert!(code.len() <= max);
                if suffix != Suffix::None {
                    assert!(!code.contains(['\r', '\n']));
                }
                let _ = decode(&code, &rules);
            }
        }
    }
    if let Some(Framed::Frame(code)) = framer.flush_if_idle(now + Duration::from_secs(1)) {
        let _ = decode(&code, &rules);
    }
});
