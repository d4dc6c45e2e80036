//! The report screen (`R`): today's figures, the load against the auto-pause thresholds, the
//! orders per hour as a bar chart and the on-time rate as a sparkline, the most short items and
//! the pickers. Snapshots in both languages at 80×24 and 160×48; the screen asks again while
//! shown.

use crate::tui_tests::{NOW, sample, screen};
use flashpick::api::{LoadNow, ReportReply, Request};
use flashpick::model::report::{
    Counts, DayReport, HourDay, LateOrder, PickerDay, PlatformDay, ShortItem,
};
use flashpick::model::{Platform, china_time};
use flashpick::tui::app::{Cmd, Key, Msg, ReportScreen, Screen, Tag};
use flashpick::tui::i18n::Lang;
use std::time::Duration;

/// A day at 20:00 with an evening peak: known figures, so the screen can be read against them.
fn day() -> DayReport {
    // Orders per hour from 08:00 until now (16:00), the lunch peak at 11-13.
    let received = [
        0, 0, 0, 0, 0, 0, 0, 0, 4, 6, 10, 18, 25, 22, 9, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let hours: Vec<HourDay> = received
        .iter()
        .enumerate()
        .map(|(h, &r)| HourDay {
            hour: h as u32,
            received: r,
            handed_over: r.saturating_sub(1),
            cancelled: u32::from(h == 12),
            picked: r,
            on_time: if (11..=13).contains(&h) { r * 3 / 4 } else { r },
        })
        .collect();
    let total_received: u32 = received.iter().sum();
    let picked: u32 = hours.iter().map(|h| h.picked).sum();
    let on_time: u32 = hours.iter().map(|h| h.on_time).sum();
    DayReport {
        date: china_time::date(NOW),
        as_of: NOW,
        total: Counts {
            received: total_received,
            handed_over: 90,
            cancelled: 1,
        },
        platforms: vec![
            PlatformDay {
                platform: Platform::Meituan,
                counts: Counts {
                    received: 60,
                    handed_over: 55,
                    cancelled: 1,
                },
                closed_manual_min: 0,
                closed_auto_min: 25,
                hours: Vec::new(),
            },
            PlatformDay {
                platform: Platform::Jddj,
                counts: Counts {
                    received: total_received - 60,
                    handed_over: 35,
                    cancelled: 0,
                },
                closed_manual_min: 30,
                closed_auto_min: 0,
                hours: Vec::new(),
            },
        ],
        picked,
        on_time,
        pick_secs_p50: Some(252),
        pick_secs_p90: Some(510),
        lines: 420,
        short_lines: 9,
        units: 760,
        short_units: 12,
        top_short: vec![
            ShortItem {
                sku: "DA001".into(),
                name: "光明 鲜牛奶 950ml".into(),
                units: 5,
                lines: 4,
            },
            ShortItem {
                sku: "VG001".into(),
                name: "山东 西红柿".into(),
                units: 4,
                lines: 3,
            },
            ShortItem {
                sku: "BR002".into(),
                name: "桃李 醇熟切片面包".into(),
                units: 3,
                lines: 2,
            },
        ],
        late: vec![LateOrder {
            order_id: 77,
            platform: Platform::Meituan,
            day_seq: 88,
            late_secs: 140,
        }],
        pickers: vec![
            PickerDay {
                picker: "p1".into(),
                orders: 60,
                units: 330,
                claimed_secs: 5 * 3600,
                units_per_hour: Some(66.0),
            },
            PickerDay {
                picker: "王芳".into(),
                orders: 48,
                units: 270,
                claimed_secs: 4 * 3600 + 1800,
                units_per_hour: Some(60.0),
            },
            PickerDay {
                picker: "p3".into(),
                orders: 17,
                units: 90,
                claimed_secs: 3 * 3600,
                units_per_hour: Some(30.0),
            },
        ],
        hours,
    }
}

fn shown(lang: Lang) -> flashpick::tui::app::App {
    let mut app = sample(lang);
    app.screen = Screen::Report(ReportScreen {
        reply: Some(Box::new(ReportReply {
            report: day(),
            load: Some(LoadNow {
                open: 18,
                at_risk: 3,
                auto_pause: true,
                max_open_orders: 20,
                max_at_risk: 6,
                resume_below: 10,
                platforms: vec![flashpick::api::PlatformLoad {
                    platform: Platform::Meituan,
                    open: 12,
                    at_risk: 2,
                    max_open_orders: 12,
                    max_at_risk: 0,
                    resume_below: 6,
                }],
            }),
        })),
    });
    app
}

#[test]
fn the_report_screen_shows_the_days_figures_and_charts() {
    for lang in [Lang::Zh, Lang::En] {
        let tag = if lang == Lang::Zh { "zh" } else { "en" };
        let app = shown(lang);
        let small = screen(&app, 80, 24);
        insta::assert_snapshot!(format!("tui_report_{tag}_80x24"), small.clone());
        let big = screen(&app, 160, 48);
        insta::assert_snapshot!(format!("tui_report_{tag}_160x48"), big.clone());
        // The figures are the report's: 100 received, 82 of 100 on time, the thresholds.
        let words = if lang == Lang::Zh {
            [
                "接单 100",
                "准时率 82.0%",
                "光明 鲜牛奶",
                "王芳",
                "自动暂停: 待处理≥20",
            ]
        } else {
            [
                "received 100",
                "on time 82.0%",
                "光明 鲜牛奶",
                "王芳",
                "auto-pause: open≥20",
            ]
        };
        for w in words {
            assert!(small.contains(w), "{w}:\n{small}");
            assert!(big.contains(w), "{w}:\n{big}");
        }
        // Meituan's own threshold, reached (on a line of its own at 80 columns).
        let own = if lang == Lang::Zh {
            "美团 待处理 12 (待处理≥12; 恢复 <6)"
        } else {
            "Meituan open 12 (open≥12; resume <6)"
        };
        assert!(big.contains(own), "{big}");
        assert!(small.contains(own), "{small}");
        // Every hour labelled under its bar, and the counts of the peak on their bars.
        assert!(small.contains("00 01 02"), "{small}");
        assert!(small.contains("18 25 22"), "{small}");
    }
}

#[test]
fn r_opens_the_report_which_asks_again_while_shown_and_esc_leaves() {
    let mut app = sample(Lang::Zh);
    let mut out = app.update(Msg::Key(Key::Char('R'), app.instant));
    // A key is held a moment in case it begins a wedge scanner's burst.
    if let Some(deadline) = app.deadline() {
        out.extend(app.update(Msg::Tick(deadline, NOW)));
    }
    let at = app.instant;
    let ask = Cmd::Send(Tag::Report, Request::DayReport { day: None });
    assert_eq!(out, vec![ask.clone()]);
    assert!(matches!(
        app.screen,
        Screen::Report(ReportScreen { reply: None })
    ));
    assert!(screen(&app, 80, 24).contains("正在读取今日数据"));
    // Not again within 15 s; again after.
    let out = app.update(Msg::Tick(at + Duration::from_secs(14), NOW));
    assert!(!out.contains(&ask), "{out:?}");
    let out = app.update(Msg::Tick(at + Duration::from_secs(15), NOW));
    assert!(out.contains(&ask), "{out:?}");
    // The answer shows; Esc goes back to the queue, which does not ask.
    let reply = shown(Lang::Zh).screen;
    let Screen::Report(ReportScreen { reply: Some(r) }) = reply else {
        unreachable!()
    };
    app.update(Msg::Reply(
        Tag::Report,
        Ok(flashpick::api::Response::Report(r)),
    ));
    assert!(screen(&app, 80, 24).contains("接单 100"));
    app.update(Msg::Key(Key::Esc, at + Duration::from_secs(16)));
    assert_eq!(app.screen, Screen::Queue);
    let out = app.update(Msg::Tick(at + Duration::from_secs(60), NOW));
    assert!(!out.contains(&ask), "{out:?}");
}
