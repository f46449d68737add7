//! Sink config sections: what is refused before any network I/O (without echoing secrets),
//! and the commented examples in `monitor.example.toml`.

use std::path::Path;

use vwf_monitor::alert::email::{EmailSink, RawEmail};
use vwf_monitor::alert::webhook::{RawWebhook, WebhookSink};

use crate::support::{TestResult, file};

const PASSWORD: &str = "s3cret-pass-7f1c";
const TOKEN: &str = "123456:AAE-secret-bot-token";

#[test]
fn email_config_refuses_clear_text_to_remote_relays_and_loose_password_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    file(dir.path(), "loose", PASSWORD, 0o644)?;
    let base = "from = \"m@example.org\"\nto = [\"o@example.org\"]\n";
    let cases = [
        (
            "relay = \"mail.example.org\"\ntls = \"none\"",
            "tls",
            "clear text",
        ),
        (
            "relay = \"mail.example.org\"\nusername = \"u\"\npassword_file = \"loose\"",
            "password_file",
            "chmod 600",
        ),
        (
            "relay = \"mail.example.org\"\nusername = \"u\"",
            "username / password_file",
            "only one",
        ),
        (
            "relay = \"mail.example.org\"\nto = []",
            "to",
            "no recipient",
        ),
    ];
    for (extra, field, text) in cases {
        let toml_text = if extra.contains("to = []") {
            format!("from = \"m@example.org\"\n{extra}")
        } else {
            format!("{base}{extra}")
        };
        let raw: RawEmail = toml::from_str(&toml_text)?;
        let err = EmailSink::new(&raw, dir.path())
            .err()
            .ok_or(format!("accepted: {extra}"))?;
        assert_eq!(err.field, field, "{extra}");
        assert!(
            err.to_string().contains(text) && !err.to_string().contains(PASSWORD),
            "{err}"
        );
    }
    assert!(
        toml::from_str::<RawEmail>(&format!("{base}relay = \"x\"\nstarttls = true")).is_err(),
        "unknown keys are refused"
    );
    Ok(())
}

#[test]
fn webhook_config_refuses_inline_secrets_plain_http_and_loose_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    file(
        dir.path(),
        "loose",
        "https://hooks.slack.com/services/SECRET",
        0o644,
    )?;
    file(
        dir.path(),
        "remote-http",
        "http://hooks.example.org/SECRET",
        0o600,
    )?;
    file(dir.path(), "tok", TOKEN, 0o600)?;
    let cases = [
        (
            "kind = \"slack\"\nurl = \"https://hooks.slack.com/services/SECRET\"",
            "url",
        ),
        ("kind = \"slack\"\nurl_file = \"loose\"", "url_file"),
        ("kind = \"discord\"\nurl_file = \"remote-http\"", "url_file"),
        ("kind = \"discord\"", "url_file"),
        ("kind = \"telegram\"\ntoken_file = \"tok\"", "chat_id"),
        (
            "kind = \"slack\"\nurl_file = \"x\"\nchat_id = \"1\"",
            "chat_id",
        ),
        ("kind = \"json\"\nurl = \"http://203.0.113.5/in\"", "url"),
    ];
    for (text, field) in cases {
        let raw: RawWebhook = toml::from_str(text)?;
        let err = WebhookSink::new(&raw, dir.path())
            .err()
            .ok_or(format!("accepted: {text}"))?;
        assert_eq!(err.field, field, "{text}: {err}");
        assert!(
            !err.to_string().contains("SECRET") && !err.to_string().contains(TOKEN),
            "{err}"
        );
    }
    assert!(toml::from_str::<RawWebhook>("kind = \"teams\"\nurl = \"https://x\"").is_err());
    assert!(
        toml::from_str::<RawWebhook>("kind = \"json\"\nurl = \"https://x\"\nheaders = 1").is_err()
    );
    Ok(())
}

#[test]
fn example_config_sink_sections_parse_when_uncommented() -> TestResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitor.example.toml");
    let text = std::fs::read_to_string(path)?;
    let (mut emails, mut webhooks) = (0, 0);
    let mut section: Option<(String, String)> = None;
    let lines = text
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(""))
        .chain([""]);
    for line in lines {
        let header = line.starts_with("[[alerts.");
        if let Some((kind, body)) = section.take_if(|_| header || line.is_empty()) {
            if kind.contains("email") {
                toml::from_str::<RawEmail>(&body)?;
                emails += 1;
            } else {
                toml::from_str::<RawWebhook>(&body)?;
                webhooks += 1;
            }
        }
        match &mut section {
            _ if header => section = Some((line.to_owned(), String::new())),
            Some((_, body)) => body.push_str(&format!("{line}\n")),
            None => {}
        }
    }
    assert_eq!((emails, webhooks), (1, 3));
    Ok(())
}
