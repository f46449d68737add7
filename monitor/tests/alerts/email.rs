//! Email alerts against a real SMTP relay with STARTTLS on 127.0.0.1 (see `support::smtp`).

use std::path::Path;

use crate::support::smtp::{self, Options, SmtpServer};
use crate::support::{TestResult, file};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use vwf_monitor::alert::email::{EmailSink, RawEmail};
use vwf_monitor::alert::{Alert, AlertKind, AlertSink, Severity, Source, render};

const PASSWORD: &str = "s3cret-pass-7f1c";
const TLS_ON: Options = Options {
    starttls: true,
    accept_auth: true,
};

fn alert() -> Alert {
    Alert {
        kind: AlertKind::MissingBlocks,
        severity: Severity::Critical,
        title: "3 missed".into(),
        body: "primary missed 3 blocks since take-over".into(),
        source: Source {
            account: "vit-test-witness".into(),
            host: "box1".into(),
        },
    }
}

/// An email sink for `server`, with `extra` TOML lines; the CA and a 0600 password file are in `dir`.
fn sink(server: &SmtpServer, dir: &Path, extra: &str) -> TestResult<EmailSink> {
    file(dir, "ca.pem", &server.ca_pem, 0o644)?;
    file(dir, "smtp-password", &format!("{PASSWORD}\n"), 0o600)?;
    let text = format!(
        "relay = \"127.0.0.1\"\nport = {}\nfrom = \"vwf-monitor <monitor@example.org>\"\n\
         to = [\"ops@example.org\", \"oncall@example.org\"]\nretries = 0\n{extra}",
        server.addr.port()
    );
    let raw: RawEmail = toml::from_str(&text)?;
    Ok(EmailSink::new(&raw, dir)?)
}

/// Headers (unfolded) and body (quoted-printable decoded) of a DATA section.
fn split(data: &str) -> (String, String) {
    let (head, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    let head = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let body = if head.contains("Content-Transfer-Encoding: quoted-printable") {
        qp(body)
    } else {
        body.to_owned()
    };
    (head, body.replace("\r\n", "\n").trim_end().to_owned())
}

fn qp(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn email_arrives_over_starttls_with_from_to_subject_and_body() -> TestResult {
    let server = smtp::start(TLS_ON).await?;
    let dir = tempfile::tempdir()?;
    let sink = sink(&server, dir.path(), "ca_file = \"ca.pem\"")?;
    sink.send(&alert()).await?;
    let log = server.log.lock().map_err(|_| "poisoned")?;
    assert_eq!(log.messages.len(), 1);
    let m = &log.messages[0];
    assert!(m.tls, "the message must come over TLS");
    assert_eq!(m.mail_from, "monitor@example.org");
    assert_eq!(m.rcpt_to, ["ops@example.org", "oncall@example.org"]);
    let (head, body) = split(&m.data);
    let lines: Vec<&str> = head.lines().collect();
    assert!(
        lines.contains(&"From: vwf-monitor <monitor@example.org>"),
        "{head}"
    );
    assert!(
        lines.contains(&"To: ops@example.org, oncall@example.org"),
        "{head}"
    );
    let subject = "Subject: [vwf-monitor vit-test-witness@box1] CRITICAL missing blocks: 3 missed";
    assert!(lines.contains(&subject), "{head}");
    assert_eq!(body, render::text(&alert()));
    assert!(body.contains("The witness is missing blocks."));
    Ok(())
}

#[tokio::test]
async fn email_auth_plain_uses_the_password_from_the_file() -> TestResult {
    let server = smtp::start(TLS_ON).await?;
    let dir = tempfile::tempdir()?;
    let sink = sink(
        &server,
        dir.path(),
        "ca_file = \"ca.pem\"\nusername = \"monitor\"\npassword_file = \"smtp-password\"",
    )?;
    assert!(!format!("{sink:?}").contains(PASSWORD));
    sink.send(&alert()).await?;
    let log = server.log.lock().map_err(|_| "poisoned")?;
    assert_eq!(log.auth, [("monitor".to_owned(), PASSWORD.to_owned())]);
    assert_eq!(log.messages.len(), 1);
    Ok(())
}

#[tokio::test]
async fn email_refuses_a_relay_that_does_not_offer_starttls() -> TestResult {
    let server = smtp::start(Options {
        starttls: false,
        accept_auth: true,
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let sink = sink(
        &server,
        dir.path(),
        "ca_file = \"ca.pem\"\nusername = \"monitor\"\npassword_file = \"smtp-password\"",
    )?;
    let err = sink
        .send(&alert())
        .await
        .err()
        .ok_or("sent without STARTTLS")?;
    assert!(err.to_string().contains("STARTTLS"), "{err}");
    assert!(!err.to_string().contains(PASSWORD) && !format!("{err:?}").contains(PASSWORD));
    let log = server.log.lock().map_err(|_| "poisoned")?;
    assert!(log.messages.is_empty() && log.auth.is_empty(), "{log:?}");
    Ok(())
}

#[tokio::test]
async fn email_refuses_a_relay_whose_certificate_is_not_trusted() -> TestResult {
    let server = smtp::start(TLS_ON).await?;
    let dir = tempfile::tempdir()?;
    let sink = sink(&server, dir.path(), "")?; // public roots only: the test CA is unknown
    assert!(sink.send(&alert()).await.is_err());
    assert!(
        server
            .log
            .lock()
            .map_err(|_| "poisoned")?
            .messages
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn email_auth_failure_error_does_not_contain_the_password() -> TestResult {
    let server = smtp::start(Options {
        starttls: true,
        accept_auth: false,
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let sink = sink(
        &server,
        dir.path(),
        "ca_file = \"ca.pem\"\nusername = \"monitor\"\npassword_file = \"smtp-password\"",
    )?;
    let err = sink
        .send(&alert())
        .await
        .err()
        .ok_or("sent despite AUTH failure")?;
    assert!(
        !err.to_string().contains(PASSWORD) && !format!("{err:?}").contains(PASSWORD),
        "{err}"
    );
    assert!(
        server
            .log
            .lock()
            .map_err(|_| "poisoned")?
            .messages
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn smtp_test_relay_rejects_a_client_that_skips_starttls() -> TestResult {
    let server = smtp::start(TLS_ON).await?;
    let mut conn = BufReader::new(tokio::net::TcpStream::connect(server.addr).await?);
    let mut line = String::new();
    conn.read_line(&mut line).await?; // greeting
    conn.write_all(b"EHLO client\r\n").await?;
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        if !line.starts_with("250-") {
            break;
        }
    }
    conn.write_all(b"MAIL FROM:<a@example.org>\r\n").await?;
    line.clear();
    conn.read_line(&mut line).await?;
    assert!(line.starts_with("530"), "{line}");
    // Our own client with an explicit tls = "none" is refused by such a relay too.
    let dir = tempfile::tempdir()?;
    let sink = sink(&server, dir.path(), "tls = \"none\"")?;
    assert!(sink.send(&alert()).await.is_err());
    assert!(
        server
            .log
            .lock()
            .map_err(|_| "poisoned")?
            .messages
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn email_tls_none_delivers_in_clear_only_to_a_localhost_relay() -> TestResult {
    let server = smtp::start(Options {
        starttls: false,
        accept_auth: true,
    })
    .await?;
    let dir = tempfile::tempdir()?;
    sink(&server, dir.path(), "tls = \"none\"")?
        .send(&alert())
        .await?;
    let log = server.log.lock().map_err(|_| "poisoned")?;
    assert_eq!(
        log.messages.iter().map(|m| m.tls).collect::<Vec<_>>(),
        [false]
    );
    Ok(())
}
