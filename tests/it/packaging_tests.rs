//! The store package's parts, checked as files: the systemd unit's keys (CI also runs
//! `systemd-analyze verify` on the unit inside the built .deb), the sysusers entry, the udev
//! rules, and the .deb's asset list.

use std::collections::HashMap;
use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `Key=value` lines of a unit, every value of repeated keys kept.
fn unit(text: &str) -> HashMap<String, Vec<String>> {
    let mut keys: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with('[') || line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=').expect("Key=value");
        keys.entry(k.to_string()).or_default().push(v.to_string());
    }
    keys
}

#[test]
fn the_unit_is_notify_watched_restarted_hardened_and_keeps_the_scanners_reachable() {
    let u = unit(&read("packaging/flashpick.service"));
    let one = |k: &str| -> &str {
        let v = u.get(k).unwrap_or_else(|| panic!("{k} missing"));
        assert_eq!(v.len(), 1, "{k} set twice");
        &v[0]
    };
    assert_eq!(one("Type"), "notify");
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert!(one("LimitNOFILE").parse::<u32>().unwrap() >= 65536);
    assert!(one("WatchdogSec").parse::<u32>().unwrap() > 0);
    assert_eq!(one("Restart"), "on-failure");
    // Every exit status the code uses for "restarting cannot fix this".
    let mut prevent: Vec<u8> = one("RestartPreventExitStatus")
        .split_whitespace()
        .map(|c| c.parse().unwrap())
        .collect();
    prevent.sort();
    let mut ours = vec![
        flashpick::store::EXIT_IOERR,
        flashpick::store::EXIT_NOPERM,
        flashpick::config::EXIT_CONFIG as u8,
    ];
    ours.sort();
    assert_eq!(prevent, ours);
    assert_eq!(one("User"), "flashpick");
    assert!(
        one("SupplementaryGroups")
            .split_whitespace()
            .any(|g| g == "dialout")
    );
    assert_eq!(one("StateDirectory"), "flashpick");
    assert_eq!(
        one("StateDirectoryMode"),
        "0750",
        "the database is not for every user"
    );
    assert!(
        one("SupplementaryGroups")
            .split_whitespace()
            .any(|g| g == "flashpick-staff"),
        "the daemon gives its socket to the staff's group"
    );
    assert_eq!(one("RuntimeDirectory"), "flashpick");
    assert!(one("ExecStart").starts_with("/usr/bin/flashpick serve"));
    // Hardening that does not hide the serial ports.
    assert!(
        !u.contains_key("PrivateDevices"),
        "PrivateDevices hides /dev/ttyUSB*"
    );
    assert_eq!(one("DevicePolicy"), "closed");
    let allowed = &u["DeviceAllow"];
    // USB printers too: /dev/usb/lp* is character major 180, "usb".
    assert!(
        one("SupplementaryGroups")
            .split_whitespace()
            .any(|g| g == "lp")
    );
    for dev in ["char-ttyUSB rw", "char-ttyACM rw", "char-usb rw"] {
        assert!(
            allowed.iter().any(|a| a == dev),
            "{dev} not allowed: {allowed:?}"
        );
    }
    for k in [
        "NoNewPrivileges",
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
    ] {
        assert!(u.contains_key(k), "{k} missing");
    }
    assert_eq!(one("ProtectSystem"), "strict");
    // A `file` printer's directory is writable under ProtectSystem=strict, and the package
    // makes it.
    assert_eq!(one("ReadWritePaths"), "-/var/spool/flashpick");
    assert!(read("packaging/postinst").contains("/var/spool/flashpick"));
}

#[test]
fn sysusers_makes_the_service_user_and_puts_it_in_dialout() {
    let s = read("packaging/flashpick.sysusers");
    let lines: Vec<Vec<&str>> = s
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(lines.iter().any(|l| l[0] == "u" && l[1] == "flashpick"));
    assert!(
        lines
            .iter()
            .any(|l| l[0] == "m" && l[1] == "flashpick" && l[2] == "dialout")
    );
    assert!(
        lines
            .iter()
            .any(|l| l[0] == "m" && l[1] == "flashpick" && l[2] == "lp")
    );
    // Staff get the socket, not the config's secrets: their group is not the service's.
    assert!(
        lines
            .iter()
            .any(|l| l[0] == "g" && l[1] == "flashpick-staff")
    );
    assert_eq!(
        flashpick::config::ApiSection::default().group,
        "flashpick-staff"
    );
}

#[test]
fn udev_rules_give_scanners_to_dialout_and_keep_modemmanager_away() {
    let r = read("packaging/99-flashpick-scanners.rules");
    let rules: Vec<&str> = r.lines().filter(|l| l.starts_with("SUBSYSTEM")).collect();
    assert!(rules.len() >= 4);
    for rule in rules {
        assert!(rule.contains("GROUP=\"dialout\""), "{rule}");
        assert!(rule.contains("ENV{ID_MM_DEVICE_IGNORE}=\"1\""), "{rule}");
    }
}

#[test]
fn the_deb_installs_every_part_and_keeps_the_config_as_a_conffile() {
    let cargo: toml::Table = read("Cargo.toml").parse().unwrap();
    let deb = &cargo["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().unwrap();
    let mut dests = Vec::new();
    for a in assets {
        let a = a.as_array().unwrap();
        let (src, dest) = (a[0].as_str().unwrap(), a[1].as_str().unwrap());
        if !src.starts_with("target/") {
            assert!(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(src).exists(),
                "{src} is listed but missing"
            );
        }
        dests.push(dest.to_string());
    }
    for want in ["usr/bin/", "etc/flashpick/store.toml", "lib/udev/rules.d/"] {
        assert!(
            dests.iter().any(|d| d == want),
            "{want} not installed: {dests:?}"
        );
    }
    assert_eq!(
        deb["conf-files"].as_array().unwrap()[0].as_str(),
        Some("/etc/flashpick/store.toml")
    );
    assert_eq!(
        deb["systemd-units"]["unit-name"].as_str(),
        Some("flashpick")
    );
    // The conffile is the example config, and it passes its own check.
    flashpick::config::Config::parse(&read("store-config.example.toml"), Path::new("example"))
        .unwrap();
    // The postinst creates the user before anything starts.
    let postinst = read("packaging/postinst");
    assert!(postinst.contains("systemd-sysusers"));
    assert!(postinst.contains("#DEBHELPER#"));
}
