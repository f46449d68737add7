//! `vwf-monitor test-alert --config F` end to end: one test alert (kind `test`) per sink, a line per
//! sink on stdout, exit 1 when any sink failed.

use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;

use crate::support::{TestResult, file, hook};

const BASE: &str = r#"
account = "vit-test-witness"
state_dir = "state"
metrics_listen = ""
[chain]
nodes = ["http://127.0.0.1:1"]
[[server]]
name = "primary"
signing_key = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG"
[signer]
endpoint = "https://127.0.0.1:7443"
ca = "ca.pem"
client_cert = "client.pem"
client_key = "client.key"
[alerts]
log = true
"#;

/// Writes the config with `alerts` appended (plus the signer files it names); returns its path.
fn config(dir: &Path, alerts: &str) -> TestResult<std::path::PathBuf> {
    for name in ["ca.pem", "client.pem"] {
        file(dir, name, "-----BEGIN X-----\n", 0o644)?;
    }
    file(dir, "client.key", "-----BEGIN X-----\n", 0o600)?;
    file(dir, "monitor.toml", &format!("{BASE}{alerts}"), 0o644)
}

async fn test_alert(config: &Path) -> TestResult<(Option<i32>, String)> {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_vwf-monitor"))
        .arg("test-alert")
        .arg("--config")
        .arg(config)
        .env("VWF_LOG", "warn")
        .output()
        .await?;
    Ok((out.status.code(), String::from_utf8(out.stdout)?))
}

#[tokio::test]
async fn test_alert_reports_each_sink_and_exits_1_when_one_fails() -> TestResult {
    let ok = hook::start(StatusCode::OK, Duration::ZERO).await?;
    let down = hook::start(StatusCode::SERVICE_UNAVAILABLE, Duration::ZERO).await?;
    let dir = tempfile::tempdir()?;
    file(dir.path(), "slack-url", &ok.url("/services/SECRET"), 0o600)?;
    let alerts = format!(
        "[[alerts.webhook]]\nkind = \"slack\"\nurl_file = \"slack-url\"\n\
         [[alerts.webhook]]\nname = \"down\"\nkind = \"json\"\nurl = \"{}\"\nretries = 0\n",
        down.url("/in")
    );
    let (code, stdout) = test_alert(&config(dir.path(), &alerts)?).await?;
    assert_eq!(code, Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..2], ["log: OK", "webhook:slack: OK"], "{stdout}");
    assert!(
        lines
            .get(2)
            .is_some_and(|l| l.starts_with("down: FAILED: ") && l.contains("503")),
        "{stdout}"
    );
    assert!(!stdout.contains("SECRET"));
    let hits = ok.hits();
    assert_eq!(hits.len(), 1);
    let text = hits[0].json["text"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("[vwf-monitor vit-test-witness@")
            && text.contains("INFO test alert: this is a test; no action is needed")
            && !text.contains("started"),
        "{text}"
    );
    assert_eq!(down.hits().len(), 1);
    Ok(())
}

#[tokio::test]
async fn test_alert_exits_0_when_every_sink_delivers() -> TestResult {
    let ok = hook::start(StatusCode::OK, Duration::ZERO).await?;
    let dir = tempfile::tempdir()?;
    let alerts = format!(
        "[[alerts.webhook]]\nkind = \"json\"\nurl = \"{}\"\n",
        ok.url("/in")
    );
    let (code, stdout) = test_alert(&config(dir.path(), &alerts)?).await?;
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), "log: OK\nwebhook:json: OK\n")
    );
    assert_eq!(ok.hits()[0].json["kind"], "test");
    assert_eq!(
        ok.hits()[0].json["title"],
        "this is a test; no action is needed"
    );
    Ok(())
}

#[tokio::test]
async fn test_alert_reports_a_bad_sink_section_as_a_config_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    file(dir.path(), "loose-token", "123:abc", 0o644)?;
    let alerts =
        "[[alerts.webhook]]\nkind = \"telegram\"\ntoken_file = \"loose-token\"\nchat_id = \"1\"\n";
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_vwf-monitor"))
        .args(["test-alert", "--config"])
        .arg(config(dir.path(), alerts)?)
        .output()
        .await?;
    let stderr = String::from_utf8(out.stderr)?;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("alerts.webhook[0].token_file") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert!(!stderr.contains("123:abc"));
    Ok(())
}
