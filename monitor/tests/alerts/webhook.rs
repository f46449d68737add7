//! Webhook alerts against an axum receiver on 127.0.0.1 (see `support::hook`): exact bodies and
//! paths per kind, retries, timeouts, and no secret in errors or `Debug` output.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use vwf_monitor::alert::webhook::{RawWebhook, WebhookSink};
use vwf_monitor::alert::{Alert, AlertKind, AlertSink, Severity, Source, render};

use crate::support::{TestResult, file, hook};

const TOKEN: &str = "123456:AAE-secret-bot-token";
const SECRET_PATH: &str = "/services/T000/B000/xoxSECRETpath";

fn alert() -> Alert {
    Alert {
        kind: AlertKind::NodeTrouble,
        severity: Severity::Warning,
        title: "nodes disagree".into(),
        body: "2 of 3 nodes fresh; quorum 2 not met".into(),
        source: Source {
            account: "vit-test-witness".into(),
            host: "box1".into(),
        },
    }
}

fn sink(dir: &Path, text: &str) -> TestResult<WebhookSink> {
    let raw: RawWebhook = toml::from_str(text)?;
    Ok(WebhookSink::new(&raw, dir)?)
}

/// Asserts that neither the error text nor the sink's `Debug` output holds any of `secrets`.
fn assert_no_secret(sink: &WebhookSink, err: &str, secrets: &[&str]) {
    let debug = format!("{sink:?}");
    for s in secrets {
        assert!(!err.contains(s), "error leaks {s:?}: {err}");
        assert!(!debug.contains(s), "Debug leaks {s:?}: {debug}");
    }
}

#[tokio::test]
async fn json_webhook_posts_the_structured_alert() -> TestResult {
    let rx = hook::start(StatusCode::OK, Duration::ZERO).await?;
    let dir = tempfile::tempdir()?;
    let sink = sink(
        dir.path(),
        &format!("kind = \"json\"\nurl = \"{}\"", rx.url("/alerts/in")),
    )?;
    sink.send(&alert()).await?;
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].path.as_str(), hits[0].content_type.as_str()),
        ("/alerts/in", "application/json")
    );
    let mut body = hits[0].json.clone();
    let time = body["time"].take();
    assert!(
        time.as_str()
            .is_some_and(|t| t.len() >= 20 && t.ends_with('Z')),
        "{time}"
    );
    let expected = json!({
        "source": { "program": "vwf-monitor", "account": "vit-test-witness", "host": "box1" },
        "kind": "node_trouble",
        "severity": "warning",
        "title": "nodes disagree",
        "body": "2 of 3 nodes fresh; quorum 2 not met",
        "time": null,
    });
    assert_eq!(body, expected);
    Ok(())
}

#[tokio::test]
async fn slack_webhook_posts_text_to_the_url_from_the_file() -> TestResult {
    let rx = hook::start(StatusCode::OK, Duration::ZERO).await?;
    let dir = tempfile::tempdir()?;
    file(
        dir.path(),
        "slack-url",
        &format!("{}\n", rx.url(SECRET_PATH)),
        0o600,
    )?;
    let sink = sink(dir.path(), "kind = \"slack\"\nurl_file = \"slack-url\"")?;
    assert_no_secret(&sink, "", &[SECRET_PATH]);
    sink.send(&alert()).await?;
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, SECRET_PATH);
    assert_eq!(hits[0].json, json!({ "text": render::text(&alert()) }));
    assert!(render::text(&alert()).contains("unreachable, stale or disagree"));
    Ok(())
}

#[tokio::test]
async fn discord_webhook_posts_content() -> TestResult {
    let rx = hook::start(StatusCode::NO_CONTENT, Duration::ZERO).await?;
    let dir = tempfile::tempdir()?;
    file(
        dir.path(),
        "discord-url",
        &rx.url("/api/webhooks/42/discordSECRET"),
        0o600,
    )?;
    let sink = sink(dir.path(), "kind = \"discord\"\nurl_file = \"discord-url\"")?;
    sink.send(&alert()).await?;
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/api/webhooks/42/discordSECRET");
    assert_eq!(hits[0].json, json!({ "content": render::text(&alert()) }));
    Ok(())
}

#[tokio::test]
async fn telegram_posts_chat_id_and_text_to_the_bot_token_path() -> TestResult {
    let rx = hook::start(StatusCode::OK, Duration::ZERO).await?;
    let dir = tempfile::tempdir()?;
    file(dir.path(), "tg-token", TOKEN, 0o600)?;
    let text = format!(
        "kind = \"telegram\"\ntoken_file = \"tg-token\"\nchat_id = \"-1001\"\napi_base = \"{}\"",
        rx.url("")
    );
    let sink = sink(dir.path(), &text)?;
    assert_no_secret(&sink, "", &[TOKEN]);
    sink.send(&alert()).await?;
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(
        hits[0].json,
        json!({ "chat_id": "-1001", "text": render::text(&alert()) })
    );
    Ok(())
}

#[tokio::test]
async fn webhook_server_error_is_retried_then_reported_without_the_url() -> TestResult {
    let rx = hook::start(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await?;
    let dir = tempfile::tempdir()?;
    file(dir.path(), "slack-url", &rx.url(SECRET_PATH), 0o600)?;
    let sink = sink(
        dir.path(),
        "kind = \"slack\"\nurl_file = \"slack-url\"\nretries = 2",
    )?;
    let err = sink
        .send(&alert())
        .await
        .err()
        .ok_or("a 500 counted as delivered")?;
    assert_eq!(rx.hits().len(), 3, "one attempt and two retries");
    let text = err.to_string();
    assert!(
        text.contains("500") && text.contains("3 attempt(s)"),
        "{text}"
    );
    assert_no_secret(
        &sink,
        &format!("{text} {err:?}"),
        &[SECRET_PATH, "xoxSECRETpath"],
    );
    Ok(())
}

#[tokio::test]
async fn webhook_client_error_is_not_retried() -> TestResult {
    let rx = hook::start(StatusCode::BAD_REQUEST, Duration::ZERO).await?;
    let dir = tempfile::tempdir()?;
    let sink = sink(
        dir.path(),
        &format!("kind = \"json\"\nurl = \"{}\"", rx.url("/in")),
    )?;
    assert!(sink.send(&alert()).await.is_err());
    assert_eq!(rx.hits().len(), 1);
    Ok(())
}

#[tokio::test]
async fn slow_webhook_times_out_without_leaking_the_token() -> TestResult {
    let rx = hook::start(StatusCode::OK, Duration::from_secs(10)).await?;
    let dir = tempfile::tempdir()?;
    file(dir.path(), "tg-token", TOKEN, 0o600)?;
    let text = format!(
        "kind = \"telegram\"\ntoken_file = \"tg-token\"\nchat_id = \"@ops\"\napi_base = \"{}\"\ntimeout_seconds = 1\nretries = 0",
        rx.url("")
    );
    let sink = sink(dir.path(), &text)?;
    let started = Instant::now();
    let err = sink
        .send(&alert())
        .await
        .err()
        .ok_or("a slow receiver counted as delivered")?;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let text = err.to_string();
    assert!(text.contains("no answer within 1 s"), "{text}");
    assert_no_secret(
        &sink,
        &format!("{text} {err:?}"),
        &[TOKEN, "secret-bot-token"],
    );
    Ok(())
}

#[tokio::test]
async fn unreachable_webhook_error_does_not_leak_the_url() -> TestResult {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?
        .port(); // closed when dropped
    let dir = tempfile::tempdir()?;
    file(
        dir.path(),
        "url",
        &format!("http://127.0.0.1:{port}{SECRET_PATH}"),
        0o600,
    )?;
    let sink = sink(
        dir.path(),
        "kind = \"discord\"\nurl_file = \"url\"\nretries = 1",
    )?;
    let err = sink
        .send(&alert())
        .await
        .err()
        .ok_or("delivered to a closed port")?;
    assert_no_secret(
        &sink,
        &format!("{err} {err:?}"),
        &[SECRET_PATH, "xoxSECRETpath"],
    );
    Ok(())
}
