//! The policy as a table: each row is a request, the chain state and the expected outcome.

use super::request::RawTarget;
use super::*;

const PRIMARY: &str = "VIT84Ceg4qMGbozJgq9524Dc8qFqoLySP5xSihYNdRSdiERFXB5B4";
const BACKUP: &str = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG";
const STRANGER: &str = "VIT7jmd5okMfRahJwxD8ChpViTPwQdzfbf8qeWkq1bvHjgDcTmBKy";
const NULL: &str = "VIT1111111111111111111111111111111114T1Anm";
const MONITOR: &str = "spiffe://vwf/monitor";
const AUDITOR: &str = "spiffe://vwf/auditor";

fn key(text: &str) -> PublicKey {
    PublicKey::parse(text, "VIT").unwrap_or(PublicKey::NULL)
}

fn policy(allow_reenable: bool) -> Policy {
    let toml = format!(
        r#"
        name = "vit-test-witness"
        allow_null_key = true
        allow_reenable = {allow_reenable}
        flap_limit = {{ changes = 2, window_seconds = 600 }}
        [[target]]
        name = "backup-1"
        key = "{BACKUP}"
        [[client]]
        identity = "{MONITOR}"
        may = ["switch", "disable", "reenable", "dry-run", "status"]
        [[client]]
        identity = "{AUDITOR}"
        may = ["dry-run"]
        "#
    );
    let config: AccountConfig = toml::from_str(&toml).unwrap_or_else(|e| panic!("{e}"));
    Policy::new([config
        .build(&vwf_shared::ChainProfile::builtin(
            vwf_shared::ProfileName::Vit,
        ))
        .unwrap_or_else(|e| panic!("{e}"))])
}

fn intent(account: &str, target: &str, expected: &str) -> Intent {
    let raw = if target == NULL {
        RawTarget::Null
    } else {
        RawTarget::Key(target)
    };
    Intent::parse("req-1", account, Some(raw), expected, "test", "VIT", true)
        .unwrap_or_else(|r| panic!("{}", r.reason))
}

type Outcome = Result<Decision, Rule>;

/// name, policy, client, request, key on chain, recent change times, audit-only, expected.
type Row<'a> = (
    &'a str,
    &'a Policy,
    &'a str,
    Intent,
    &'a str,
    Vec<u64>,
    bool,
    Outcome,
);

/// Runs authorize then decide, as the service does.
fn run(
    policy: &Policy,
    client: &str,
    intent: &Intent,
    on_chain: &str,
    changes: &[u64],
    audit: bool,
) -> Outcome {
    let account = policy
        .authorize(client, intent, audit)
        .map_err(|r| r.rule)?;
    account
        .decide(client, intent, &key(on_chain), changes, 10_000, audit)
        .map_err(|r| r.rule)
}

#[test]
fn decision_table() {
    let strict = policy(false);
    let lenient = policy(true);
    let w = "vit-test-witness";
    #[rustfmt::skip]
    let rows: Vec<Row<'_>> = vec![
        ("failover to a named backup", &strict, MONITOR, intent(w, BACKUP, PRIMARY), PRIMARY, vec![], false, Ok(Decision::Proceed)),
        ("kill switch", &strict, MONITOR, intent(w, NULL, BACKUP), BACKUP, vec![], false, Ok(Decision::Proceed)),
        ("target already on chain", &strict, MONITOR, intent(w, BACKUP, PRIMARY), BACKUP, vec![], false, Ok(Decision::AlreadyInEffect)),
        ("null already on chain", &strict, MONITOR, intent(w, NULL, BACKUP), NULL, vec![], false, Ok(Decision::AlreadyInEffect)),
        ("off-policy key", &strict, MONITOR, intent(w, STRANGER, PRIMARY), PRIMARY, vec![], false, Err(Rule::TargetNotAllowed)),
        ("unknown account", &strict, MONITOR, intent("someone-else", BACKUP, PRIMARY), PRIMARY, vec![], false, Err(Rule::UnknownAccount)),
        ("unknown client", &strict, "spiffe://evil", intent(w, BACKUP, PRIMARY), PRIMARY, vec![], false, Err(Rule::ClientNotAllowed)),
        ("dry-run-only client cannot act", &strict, AUDITOR, intent(w, NULL, PRIMARY), PRIMARY, vec![], false, Err(Rule::ClientNotAllowed)),
        ("dry-run-only client can audit", &strict, AUDITOR, intent(w, NULL, PRIMARY), PRIMARY, vec![], true, Ok(Decision::Proceed)),
        ("CAS conflict", &strict, MONITOR, intent(w, NULL, PRIMARY), BACKUP, vec![], false, Err(Rule::CompareAndSwap)),
        ("re-enable refused by default", &strict, MONITOR, intent(w, BACKUP, NULL), NULL, vec![], false, Err(Rule::ReenableNotAllowed)),
        ("re-enable when allowed", &lenient, MONITOR, intent(w, BACKUP, NULL), NULL, vec![], false, Ok(Decision::Proceed)),
        ("flap limit reached", &strict, MONITOR, intent(w, BACKUP, PRIMARY), PRIMARY, vec![9_500, 9_900], false, Err(Rule::FlapLimit)),
        ("the kill switch is never refused by the flap limit", &strict, MONITOR, intent(w, NULL, BACKUP), BACKUP, vec![9_500, 9_900], false, Ok(Decision::Proceed)),
        ("re-enabling stays under the flap limit", &lenient, MONITOR, intent(w, BACKUP, NULL), NULL, vec![9_500, 9_900], false, Err(Rule::FlapLimit)),
        ("old changes fall out of the window", &strict, MONITOR, intent(w, BACKUP, PRIMARY), PRIMARY, vec![9_000, 9_900], false, Ok(Decision::Proceed)),
        ("flap limit does not block already-in-effect", &strict, MONITOR, intent(w, NULL, BACKUP), NULL, vec![9_500, 9_900], false, Ok(Decision::AlreadyInEffect)),
    ];
    for (name, policy, client, intent, on_chain, changes, audit, expected) in rows {
        assert_eq!(
            run(policy, client, &intent, on_chain, &changes, audit),
            expected,
            "{name}"
        );
    }
}

#[test]
fn malformed_requests_are_invalid() {
    let cases: Vec<(&str, Option<RawTarget<'_>>, &str, &str, &str)> = vec![
        ("", Some(RawTarget::Null), PRIMARY, "ok", "empty id"),
        ("a b", Some(RawTarget::Null), PRIMARY, "ok", "space in id"),
        ("req", None, PRIMARY, "ok", "no target"),
        (
            "req",
            Some(RawTarget::Key("STM6qcf")),
            PRIMARY,
            "ok",
            "bad target",
        ),
        ("req", Some(RawTarget::Null), "nope", "ok", "bad expected"),
        (
            "req",
            Some(RawTarget::Null),
            PRIMARY,
            "a\nb",
            "control char in reason",
        ),
    ];
    for (id, target, expected, reason, name) in cases {
        let result = Intent::parse(
            id,
            "vit-test-witness",
            target,
            expected,
            reason,
            "VIT",
            true,
        );
        assert_eq!(
            result.err().map(|r| r.rule),
            Some(Rule::InvalidRequest),
            "{name}"
        );
    }
    let long_id = "x".repeat(129);
    let result = Intent::parse(
        &long_id,
        "vit-test-witness",
        Some(RawTarget::Null),
        PRIMARY,
        "",
        "VIT",
        true,
    );
    assert!(result.is_err());
    let long_reason = "r".repeat(513);
    let result = Intent::parse(
        "req",
        "vit-test-witness",
        Some(RawTarget::Null),
        PRIMARY,
        &long_reason,
        "VIT",
        true,
    );
    assert!(result.is_err());
}

#[test]
fn null_key_string_as_target_is_the_null_target() {
    let parsed = Intent::parse(
        "r",
        "vit-test-witness",
        Some(RawTarget::Key(NULL)),
        PRIMARY,
        "",
        "VIT",
        true,
    );
    assert_eq!(parsed.map(|i| i.target).ok(), Some(Target::Null));
}

#[test]
fn config_errors_name_the_problem() {
    let base = |extra: &str| {
        format!(
            "name = \"vit-test-witness\"\n{extra}\n[[client]]\nidentity = \"{MONITOR}\"\nmay = [\"switch\"]\n"
        )
    };
    let cases = [
        (
            base("[[target]]\nname = \"b\"\nkey = \"VIT1111111111111111111111111111111114T1Anm\""),
            "use allow_null_key",
        ),
        (base(""), "nothing could ever be done"),
        (
            base("allow_null_key = true\nflap_limit = { changes = 0, window_seconds = 1 }"),
            "flap_limit",
        ),
        (
            base(&format!(
                "[[target]]\nname = \"b\"\nkey = \"{BACKUP}\"\n[[target]]\nname = \"c\"\nkey = \"{BACKUP}\""
            )),
            "listed twice",
        ),
        (
            base(&format!(
                "[[target]]\nname = \"b\"\nkey = \"{}\"",
                BACKUP.replace("VIT", "STM")
            )),
            "prefix 'VIT'",
        ),
    ];
    for (toml, expected) in cases {
        let config: AccountConfig = toml::from_str(&toml).unwrap_or_else(|e| panic!("{e}"));
        let error = config
            .build(&vwf_shared::ChainProfile::builtin(
                vwf_shared::ProfileName::Vit,
            ))
            .err()
            .unwrap_or_default();
        assert!(error.contains(expected), "{expected:?} not in {error:?}");
    }
    let unknown = toml::from_str::<AccountConfig>(&base("allow_everything = true"));
    assert!(unknown.is_err(), "unknown fields must be errors");
}
