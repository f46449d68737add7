//! Config errors name the field and the fix; the example config parses.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::*;

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new(key_mode: u32) -> Dir {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        for f in ["ca.pem", "client.pem", "client.key"] {
            std::fs::write(dir.path().join(f), "-----BEGIN X-----\n")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let perm = std::fs::Permissions::from_mode(key_mode);
        std::fs::set_permissions(dir.path().join("client.key"), perm)
            .unwrap_or_else(|e| panic!("{e}"));
        Dir { dir }
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join("monitor.toml")
    }
}

const GOOD: &str = r#"
account = "vit-test-witness"
state_dir = "state"
metrics_listen = "127.0.0.1:0"
[chain]
nodes = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]
[[server]]
name = "primary"
signing_key = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG"
[[server]]
name = "backup-1"
signing_key = "VIT7jmd5okMfRahJwxD8ChpViTPwQdzfbf8qeWkq1bvHjgDcTmBKy"
node = "http://127.0.0.1:4"
[signer]
endpoint = "https://127.0.0.1:7443"
server_name = "vwf-signer"
ca = "ca.pem"
client_cert = "client.pem"
client_key = "client.key"
"#;

fn problems(dir: &Dir, text: &str) -> Vec<Problem> {
    match parse(&dir.path(), text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().to_vec(),
    }
}

#[test]
fn good_config_gets_defaults_and_majority_quorum() {
    let d = Dir::new(0o600);
    let s = parse(&d.path(), GOOD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.quorum, 2);
    assert_eq!(s.poll_interval.as_millis(), 3000);
    assert_eq!(s.max_head_lag.as_secs(), 9);
    assert_eq!(s.policy.thresholds.missed_blocks, 3);
    assert_eq!(s.state_dir, d.dir.path().join("state"));
    assert_eq!(
        s.policy.servers[1].node.as_deref(),
        Some("http://127.0.0.1:4")
    );
}

#[test]
fn check_config_rejects_unknown_field() {
    let d = Dir::new(0o600);
    let text = GOOD.replace("[chain]", "treshold = 3\n[chain]");
    let err = parse(&d.path(), &text)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("unknown field") && err.contains("treshold"),
        "{err}"
    );
}

#[test]
fn check_config_rejects_key_with_wrong_prefix() {
    let d = Dir::new(0o600);
    let text = GOOD.replace("VIT6qcf", "STM6qcf");
    let p = problems(&d, &text);
    assert!(
        p.iter()
            .any(|p| p.field == "server[0].signing_key" && p.fix.contains("\"VIT\"")),
        "{p:?}"
    );
}

#[test]
fn check_config_rejects_quorum_above_node_count() {
    let d = Dir::new(0o600);
    let text = GOOD.replace("[chain]", "[chain]\nquorum = 4");
    assert!(
        problems(&d, &text)
            .iter()
            .any(|p| p.field == "chain.quorum")
    );
    let text = GOOD.replace("[chain]", "[chain]\nquorum = 1");
    assert!(
        problems(&d, &text)
            .iter()
            .any(|p| p.field == "chain.quorum" && p.message.contains("majority"))
    );
}

#[test]
fn check_config_rejects_empty_servers() {
    let d = Dir::new(0o600);
    let cut = GOOD.find("[[server]]").unwrap_or(0);
    let sig = GOOD.find("[signer]").unwrap_or(0);
    let text = format!("{}{}", &GOOD[..cut], &GOOD[sig..]);
    assert!(
        problems(&d, &text)
            .iter()
            .any(|p| p.field == "server" && p.fix.contains("kill-switch"))
    );
}

#[test]
fn check_config_rejects_world_readable_client_key() {
    let d = Dir::new(0o644);
    let p = problems(&d, GOOD);
    assert!(
        p.iter()
            .any(|p| p.field == "signer.client_key" && p.fix.starts_with("chmod 600")),
        "{p:?}"
    );
}

#[test]
fn check_config_reports_every_problem_at_once() {
    let d = Dir::new(0o640);
    let text = GOOD
        .replace("vit-test-witness", "X")
        .replace("https://", "http://")
        .replace("[chain]", "[chain]\nquorum = 9");
    let fields: Vec<String> = problems(&d, &text).into_iter().map(|p| p.field).collect();
    for f in [
        "account",
        "chain.quorum",
        "signer.endpoint",
        "signer.client_key",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
}

#[test]
fn example_config_parses() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitor.example.toml");
    let text =
        std::fs::read_to_string(&example).unwrap_or_else(|e| panic!("{}: {e}", example.display()));
    // The example's PEM paths point at /etc; check everything else.
    let d = Dir::new(0o600);
    let text = text
        .replace("/etc/vwf-monitor/ca.pem", "ca.pem")
        .replace("/etc/vwf-monitor/client.pem", "client.pem")
        .replace("$CREDENTIALS_DIRECTORY/signer-client-key", "client.key");
    let s = parse(&d.path(), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.policy.servers.len(), 3);
}

#[test]
fn signer_keep_warm_and_expiry_warning_have_defaults_and_bounds() {
    let d = Dir::new(0o600);
    let s = parse(&d.path(), GOOD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.signer.status_interval.as_secs(), 30);
    assert_eq!(s.signer.cert_expiry_warning.as_secs(), 30 * 86_400);
    let set = |extra: &str| {
        GOOD.replace(
            "client_key = \"client.key\"",
            &format!("client_key = \"client.key\"\n{extra}"),
        )
    };
    let s = parse(
        &d.path(),
        &set("status_interval_seconds = 60\ncert_expiry_warning_days = 14"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.signer.status_interval.as_secs(), 60);
    assert_eq!(s.signer.cert_expiry_warning.as_secs(), 14 * 86_400);
    for (extra, field) in [
        (
            "status_interval_seconds = 1",
            "signer.status_interval_seconds",
        ),
        (
            "status_interval_seconds = 7200",
            "signer.status_interval_seconds",
        ),
        (
            "cert_expiry_warning_days = 0",
            "signer.cert_expiry_warning_days",
        ),
    ] {
        let p = problems(&d, &set(extra));
        assert!(p.iter().any(|p| p.field == field), "{extra}: {p:?}");
    }
    let p = problems(&d, &set("status_interval_seconds = 5"));
    assert!(
        p.iter().any(|p| p.fix.contains("idle_timeout_seconds")),
        "{p:?}"
    );
}

#[test]
fn a_credential_path_without_credentials_directory_says_how_to_run_it() {
    if std::env::var_os(vwf_shared::credentials::VARIABLE).is_some() {
        return; // running under a unit with credentials: the other branch is what happens
    }
    let d = Dir::new(0o600);
    let text = GOOD.replace(
        "client_key = \"client.key\"",
        "client_key = \"$CREDENTIALS_DIRECTORY/signer-client-key\"",
    );
    let Err(e) = parse(&d.path(), &text) else {
        panic!("parsed without a credentials directory");
    };
    let shown = e.to_string();
    assert!(
        shown.contains("CREDENTIALS_DIRECTORY is not set"),
        "{shown}"
    );
    assert!(shown.contains("vwf-run"), "{shown}");
}

#[test]
fn evidence_is_off_by_default_and_checked_when_set() {
    let d = Dir::new(0o600);
    let s = parse(&d.path(), GOOD).unwrap_or_else(|e| panic!("{e}"));
    let e = s.policy.evidence;
    assert!(!e.enabled() && !e.preemptive && !e.unreachable_is_evidence);
    assert_eq!((e.polls, e.fast_threshold), (3, None));
    assert_eq!((e.stale_blocks, s.policy.health_max_lag_blocks), (3, 10));

    // The primary needs a node for evidence against it; GOOD has one only on the last server.
    let on = |extra: &str| format!("{GOOD}\n[evidence]\n{extra}\n");
    let fields =
        |text: &str| -> Vec<String> { problems(&d, text).into_iter().map(|p| p.field).collect() };
    assert_eq!(fields(&on("preemptive = true")), ["evidence"]);
    let with_node = GOOD.replace(
        "name = \"primary\"",
        "name = \"primary\"\nnode = \"http://127.0.0.1:5\"",
    );
    let on = |extra: &str| format!("{with_node}\n[evidence]\n{extra}\n");
    let s = parse(
        &d.path(),
        &on(
            "polls = 2\nstale_blocks = 4\nfast_threshold = 1\npreemptive = true\n\
             unreachable_is_evidence = true",
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = s.policy.evidence;
    assert!(e.enabled() && e.preemptive && e.unreachable_is_evidence);
    assert_eq!((e.polls, e.fast_threshold), (2, Some(1)));
    assert_eq!(e.stale_blocks, 4);
    for (extra, field, says) in [
        ("polls = 0", "evidence.polls", "at least 1"),
        ("stale_blocks = 1", "evidence.stale_blocks", "in sync stale"),
        (
            "fast_threshold = 0",
            "evidence.fast_threshold",
            "at least 1",
        ),
        ("fast_threshold = 3", "evidence.fast_threshold", "not below"),
    ] {
        let found = problems(&d, &on(extra));
        assert!(
            found
                .iter()
                .any(|p| p.field == field && p.message.contains(says)),
            "{extra}: {found:?}"
        );
    }
    assert!(matches!(
        parse(&d.path(), &on("preemptiv = true")),
        Err(ConfigError::Parse { .. })
    ));
}
