//! The JSON body each [`WebhookKind`] posts.

use serde_json::{Value, json};

use super::WebhookKind;
use crate::alert::{Alert, render};

/// Discord rejects `content` longer than this.
const DISCORD_MAX: usize = 2000;
/// Telegram rejects `text` longer than this.
const TELEGRAM_MAX: usize = 4096;
/// Slack truncates long `text`; keep messages readable well below its limit.
const SLACK_MAX: usize = 4000;

/// The body for `kind`. Chat kinds get [`render::text`] (source, meaning of the kind, details);
/// `json` gets the structured fields with `time` in RFC 3339. `chat_id` is for Telegram only.
pub fn payload(kind: WebhookKind, alert: &Alert, chat_id: Option<&str>) -> Value {
    match kind {
        WebhookKind::Json => json!({
            "source": {
                "program": render::PROGRAM,
                "account": alert.source.account,
                "host": alert.source.host,
            },
            "kind": alert.kind,
            "severity": alert.severity,
            "title": alert.title,
            "body": alert.body,
            "time": render::now_rfc3339(),
        }),
        WebhookKind::Slack => json!({ "text": render::truncate(&render::text(alert), SLACK_MAX) }),
        WebhookKind::Discord => {
            json!({ "content": render::truncate(&render::text(alert), DISCORD_MAX) })
        }
        WebhookKind::Telegram => json!({
            "chat_id": chat_id.unwrap_or_default(),
            "text": render::truncate(&render::text(alert), TELEGRAM_MAX),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertKind, Severity, Source};

    fn alert(body: &str) -> Alert {
        Alert {
            kind: AlertKind::NodeTrouble,
            severity: Severity::Warning,
            title: "nodes disagree".into(),
            body: body.into(),
            source: Source {
                account: "acct".into(),
                host: "box1".into(),
            },
        }
    }

    #[test]
    fn json_payload_has_structured_fields() {
        let v = payload(WebhookKind::Json, &alert("b"), None);
        assert_eq!(
            v["source"],
            json!({"program": "vwf-monitor", "account": "acct", "host": "box1"})
        );
        assert_eq!(v["kind"], "node_trouble");
        assert_eq!(v["severity"], "warning");
        assert_eq!(
            (v["title"].as_str(), v["body"].as_str()),
            (Some("nodes disagree"), Some("b"))
        );
        assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[test]
    fn discord_content_is_cut_to_its_limit() {
        let v = payload(WebhookKind::Discord, &alert(&"x".repeat(5000)), None);
        let content = v["content"].as_str().unwrap_or_default();
        assert_eq!(content.chars().count(), DISCORD_MAX);
        assert!(content.ends_with('…'));
    }

    #[test]
    fn telegram_payload_carries_the_chat_id() {
        let v = payload(WebhookKind::Telegram, &alert("b"), Some("-100"));
        assert_eq!(v["chat_id"], "-100");
        assert_eq!(v["text"].as_str(), Some(render::text(&alert("b")).as_str()));
    }
}
