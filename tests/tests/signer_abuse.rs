//! Abuse of the signer daemon: malformed and oversized gRPC messages sent as raw bytes, a flood
//! from an allowed client, TCP connections that never complete a TLS handshake, and client text
//! holding control, separator or bidi characters. Each abuse must be refused, leave a trace in
//! the audit log (repeated refusals of one kind from one client: one full line, then counted in
//! summary lines), and leave the daemon serving other clients.
//!
//! Covered elsewhere (not repeated here): requests for other accounts and keys, a reused
//! request id, an intruder certificate (`signer.rs`, `allowed_switch_…`), handshakes without
//! a certificate or with a foreign or expired one (`signer.rs`, `tls_refuses_…`), and floods
//! that run while the monitor's kill switch goes through (`signer_flood.rs`).

use std::time::Duration;

use bytes::{Buf, BufMut};
use serde_json::Value;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use vwf_proto::v1 as pb;
use vwf_tests::harness::SimChain;
use vwf_tests::process::Daemon;
use vwf_tests::signer::{ACCOUNT, MONITOR, SignerOptions, SignerSetup, default_policy};
use vwf_tests::tx::test_key;
use vwf_tests::wait::wait_for;

const SIM: &str = env!("CARGO_BIN_EXE_vwf-simchain");
/// A second allowed client that may only read status.
const OPS: &str = "spiffe://vwf/ops";
const SET_SIGNING_KEY: &str = "/vwf.signer.v1.Signer/SetSigningKey";
const MAX_REQUEST_BYTES: usize = 4096;
const RATE_REQUESTS: u32 = 10;

/// Sends and receives raw message bytes: whatever the test wants on the wire.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

/// The encoder and decoder of [`RawCodec`].
#[derive(Clone, Copy, Debug, Default)]
struct Raw;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

/// One unary call with raw request bytes.
async fn raw_call(channel: Channel, path: &str, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = PathAndQuery::try_from(path).map_err(|e| tonic::Status::internal(e.to_string()))?;
    grpc.unary(tonic::Request::new(body), path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// A length-delimited protobuf field (wire type 2) with a one- or two-byte length.
fn field(number: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![(number << 3) | 2];
    let mut len = value.len();
    while len >= 0x80 {
        out.push(u8::try_from(len & 0x7f).unwrap_or(0) | 0x80);
        len >>= 7;
    }
    out.push(u8::try_from(len).unwrap_or(0));
    out.extend_from_slice(value);
    out
}

struct Signer {
    _sim: SimChain,
    setup: SignerSetup,
    daemon: Daemon,
    address: String,
}

async fn signer() -> anyhow::Result<Signer> {
    let sim = SimChain::spawn(SIM, &["--block-interval-ms", "300"]).await?;
    let policy = format!(
        "{}\n[[account.client]]\nidentity = \"{OPS}\"\nmay = [\"status\"]\n",
        default_policy(3)?
    );
    let options = SignerOptions {
        extra_clients: vec![OPS.to_owned()],
        max_request_bytes: MAX_REQUEST_BYTES,
        rate_requests: RATE_REQUESTS,
        ..SignerOptions::default()
    };
    let setup = SignerSetup::create_with(&[sim.node(0)], &policy, &options)?;
    let daemon = setup.start().await?;
    let address = daemon.field("listening")?;
    Ok(Signer {
        _sim: sim,
        setup,
        daemon,
        address,
    })
}

impl Signer {
    /// A Status call as `identity`, bounded to 5 s.
    async fn status(&self, identity: &str) -> anyhow::Result<pb::StatusResponse> {
        let mut client = self.setup.client(&self.address, identity).await?;
        let answer =
            tokio::time::timeout(Duration::from_secs(5), client.status(pb::StatusRequest {}))
                .await??;
        Ok(answer.into_inner())
    }

    fn audit(&self) -> anyhow::Result<Vec<Value>> {
        self.setup.audit()
    }
}

/// How many refusals the audit lines matching `filter` stand for: 1 for a full line, `count`
/// for a summary line.
fn refusals(audit: &[Value], filter: impl Fn(&Value) -> bool) -> u64 {
    audit
        .iter()
        .filter(|e| e["decision"] == "refused" && filter(e))
        .map(|e| e["count"].as_u64().unwrap_or(1))
        .sum()
}

/// Bodies that never reach the handler: larger than `max_request_bytes`, or not protobuf.
fn bad_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let mut oversized = field(1, b"oversized-1");
    oversized.extend(field(2, b"vit-test-witness"));
    oversized.extend(field(5, &vec![b'x'; 4 * MAX_REQUEST_BYTES]));
    vec![
        ("oversized", oversized),
        // Field 1, length-delimited, claiming 2^28 bytes that are not there.
        (
            "truncated length",
            vec![0x0a, 0x80, 0x80, 0x80, 0x80, 0x01, b'a'],
        ),
        // Wire type 7 does not exist.
        ("invalid wire type", vec![0x0f, 0x01, 0x02, 0x03]),
        // A string field holding invalid UTF-8.
        ("invalid utf-8", field(1, &[0xff, 0xfe, 0xfd])),
    ]
}

#[tokio::test]
async fn oversized_and_malformed_messages_are_refused_and_the_daemon_keeps_serving()
-> anyhow::Result<()> {
    let signer = signer().await?;
    let channel = signer.setup.channel(&signer.address, MONITOR)?;
    for (what, body) in bad_bodies() {
        let answer = raw_call(channel.clone(), SET_SIGNING_KEY, body).await;
        let Err(status) = answer else {
            anyhow::bail!("{what}: accepted");
        };
        // tonic's decoder answers before the service: OUT_OF_RANGE for a body over
        // max_decoding_message_size, INTERNAL for one prost cannot decode.
        let expected = if what == "oversized" {
            Code::OutOfRange
        } else {
            Code::Internal
        };
        assert_eq!(status.code(), expected, "{what}: {status:?}");
        // What a peer may learn: no paths, no key material.
        assert!(!status.message().contains('/'), "{what}: {status:?}");
    }
    // Nothing reached the engine (only the guard's refusals are audited), and the daemon still
    // serves the same connection and others.
    assert!(
        signer
            .audit()?
            .iter()
            .all(|e| e["call"] != "set-signing-key"
                || (e["decision"] == "refused"
                    && (e["rule"] == "request-too-large" || e["rule"] == "malformed-request"))),
        "a bad body reached the engine"
    );
    let status = signer.status(MONITOR).await?;
    assert_eq!(status.client_identity, MONITOR);
    let mut same = vwf_proto::v1::signer_client::SignerClient::new(channel);
    assert!(same.status(pb::StatusRequest {}).await.is_ok());
    signer.daemon.stop().await?;
    Ok(())
}

#[tokio::test]

async fn oversized_and_malformed_messages_are_audited() -> anyhow::Result<()> {
    let signer = signer().await?;
    let channel = signer.setup.channel(&signer.address, MONITOR)?;
    let bodies = bad_bodies();
    for (_, body) in &bodies {
        let _ = raw_call(channel.clone(), SET_SIGNING_KEY, body.clone()).await;
    }
    // The first of each rule is written at once, in full.
    let audit = signer.audit()?;
    for rule in ["request-too-large", "malformed-request"] {
        assert!(
            audit
                .iter()
                .any(|e| e["client"] == MONITOR && e["rule"] == rule && e.get("count").is_none()),
            "no full {rule} line: {audit:?}"
        );
    }
    // The rest are counted: stopping writes the summaries.
    signer.daemon.stop().await?;
    let audit = signer.setup.audit()?;
    let refused = refusals(&audit, |e| e["client"] == MONITOR);
    assert_eq!(
        refused,
        u64::try_from(bodies.len())?,
        "bad bodies not audited"
    );
    Ok(())
}

#[tokio::test]
async fn a_flood_from_an_allowed_client_is_rate_limited_audited_and_others_are_served()
-> anyhow::Result<()> {
    const FLOOD: usize = 60;
    let signer = signer().await?;
    let mut client = signer.setup.client(&signer.address, MONITOR).await?;
    // One call first, so the connection is up and the client has the signer's HTTP/2 settings:
    // it then queues streams beyond the signer's per-connection limit instead of opening them
    // before the settings arrive (which the signer answers with REFUSED_STREAM). The call
    // takes one token of the burst.
    client.status(pb::StatusRequest {}).await?;
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..FLOOD - 1 {
        let mut client = client.clone();
        flood.spawn(async move { client.status(pb::StatusRequest {}).await.map(drop) });
    }
    // Meanwhile another allowed client is served (within the 5 s bound of `status`).
    let ops = signer.status(OPS).await?;
    assert_eq!(ops.client_identity, OPS);

    let (mut ok, mut limited, mut other) = (1usize, 0usize, Vec::new());
    while let Some(joined) = flood.join_next().await {
        match joined? {
            Ok(()) => ok += 1,
            Err(status) if status.code() == Code::ResourceExhausted => limited += 1,
            Err(status) => other.push(status),
        }
    }
    assert!(other.is_empty(), "unexpected failures: {other:?}");
    // The burst, plus at most one token refilled (one per 6 s) while the flood ran.
    let burst = usize::try_from(RATE_REQUESTS)?;
    assert!(
        (burst..=burst + 1).contains(&ok),
        "{ok} admitted, burst {burst}"
    );
    assert_eq!(ok + limited, FLOOD);

    // The first refusal is audited in full, with the rule and the client's identity; the rest
    // are counted (one summary line per interval, and at stop).
    let lines = signer
        .audit()?
        .into_iter()
        .filter(|e| e["rule"] == "rate-limit" && e["client"] == MONITOR)
        .count();
    assert!(
        (1..=2).contains(&lines),
        "{lines} lines for {limited} refusals"
    );
    // The flooder stays limited; the other client is still served.
    let again = signer.status(MONITOR).await;
    assert!(
        again
            .as_ref()
            .err()
            .and_then(|e| e.downcast_ref::<tonic::Status>())
            .is_some_and(|s| s.code() == Code::ResourceExhausted),
        "{again:?}"
    );
    assert_eq!(signer.status(OPS).await?.client_identity, OPS);
    signer.daemon.stop().await?;
    // Every refusal is accounted for: the flood's and the one after it.
    let audited = refusals(&signer.setup.audit()?, |e| {
        e["rule"] == "rate-limit" && e["client"] == MONITOR
    });
    assert_eq!(audited, u64::try_from(limited)? + 1);
    Ok(())
}

#[tokio::test]
async fn plaintext_and_garbage_connections_are_refused_audited_and_the_daemon_keeps_serving()
-> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let signer = signer().await?;
    let garbage: [&[u8]; 3] = [
        // HTTP/2 prior knowledge without TLS.
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        // Plain HTTP/1.
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        // A TLS record header announcing an absurd length.
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00],
    ];
    for bytes in garbage {
        let mut stream = tokio::net::TcpStream::connect(&signer.address).await?;
        stream.write_all(bytes).await?;
        let mut answer = Vec::new();
        // The daemon answers with a TLS alert (or nothing) and closes the connection.
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .map_err(|_| anyhow::anyhow!("connection left open"))?
            .ok();
        assert!(!answer.starts_with(b"HTTP"), "answered in plaintext");
    }
    // The first refusal of each kind from this address is written at once.
    wait_for(
        "the handshake refusals to be audited",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async {
            let refused = signer
                .audit()?
                .iter()
                .filter(|e| e["call"] == "tls-handshake" && e["rule"] == "mutual-tls")
                .count();
            Ok(refused >= 1)
        },
    )
    .await?;
    assert_eq!(signer.status(MONITOR).await?.client_identity, MONITOR);
    signer.daemon.stop().await?;
    // All are accounted for once the summaries are written (at stop).
    let audit = signer.setup.audit()?;
    let refused = refusals(&audit, |e| {
        e["call"] == "tls-handshake" && e["rule"] == "mutual-tls" && e["client"] == "127.0.0.1"
    });
    assert!(refused >= u64::try_from(garbage.len())?, "{audit:?}");
    Ok(())
}

#[tokio::test]

async fn idle_connections_that_never_handshake_do_not_lock_out_allowed_clients()
-> anyhow::Result<()> {
    let signer = signer().await?;
    // No certificate needed: anyone who can reach the port can do this.
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(tokio::net::TcpStream::connect(&signer.address).await?);
    }
    // Served within the 5 s bound of `status`.
    let answer = signer.status(MONITOR).await;
    drop(idle);
    assert!(answer.is_ok(), "{answer:?}");
    signer.daemon.stop().await?;
    Ok(())
}

/// Characters that can split an audit line or reorder what a reader sees: C0 and C1 controls
/// (U+0085 NEXT LINE among them), line and paragraph separators, bidi controls.
const FORBIDDEN: [(char, &str); 8] = [
    ('\u{0085}', "U+0085"),
    ('\u{2028}', "U+2028"),
    ('\u{2029}', "U+2029"),
    ('\u{202E}', "U+202E"),
    ('\u{200F}', "U+200F"),
    ('\u{2066}', "U+2066"),
    ('\u{001B}', "U+001B"),
    ('\n', "U+000A"),
];

#[tokio::test]
async fn reasons_with_control_separator_or_bidi_characters_are_refused_and_audited_on_one_line()
-> anyhow::Result<()> {
    use vwf_proto::v1::set_signing_key_response::Outcome;
    let signer = signer().await?;
    let mut monitor = signer.setup.client(&signer.address, MONITOR).await?;
    let primary = test_key(1)?;
    let request = |id: &str, reason: String| pb::SetSigningKeyRequest {
        request_id: id.to_owned(),
        account: ACCOUNT.to_owned(),
        target: Some(pb::SigningKeyTarget {
            target: Some(pb::signing_key_target::Target::NullKey(pb::NullKey {})),
        }),
        expected_current_key: primary.clone(),
        reason,
    };
    for (i, (c, code)) in FORBIDDEN.iter().enumerate() {
        let reason = format!("primary down{c}\"decision\":\"applied\"");
        let answer = tokio::time::timeout(
            Duration::from_secs(20),
            monitor.set_signing_key(request(&format!("unicode-{i}"), reason)),
        )
        .await??
        .into_inner();
        let Some(Outcome::Refused(refused)) = answer.outcome else {
            anyhow::bail!("{code}: not refused: {answer:?}");
        };
        assert_eq!(refused.rule, "invalid-request", "{code}");
        assert!(
            refused
                .reason
                .starts_with(&format!("reason contains {code}")),
            "{code}: {}",
            refused.reason
        );
    }
    // The same characters in a dry run's reason are refused the same way.
    let dry = tokio::time::timeout(
        Duration::from_secs(20),
        monitor.dry_run(pb::DryRunRequest {
            request: Some(request("unicode-dry", "a\u{2028}b".into())),
            preflight: false,
        }),
    )
    .await??
    .into_inner();
    assert_eq!(
        dry.refused.as_ref().map(|r| r.rule.as_str()),
        Some("invalid-request"),
        "{dry:?}"
    );
    // Nothing was sent, and every audit line is one line with none of those characters.
    let text = std::fs::read_to_string(signer.setup.state_file("audit.jsonl"))?;
    assert!(
        !text
            .chars()
            .any(|c| c != '\n' && FORBIDDEN.iter().any(|(f, _)| *f == c)),
        "a raw separator or bidi control reached the audit log"
    );
    let audit = signer.audit()?;
    let refused = audit
        .iter()
        .filter(|e| e["call"] == "set-signing-key" && e["rule"] == "invalid-request")
        .count();
    assert_eq!(refused, FORBIDDEN.len());
    assert!(
        !audit
            .iter()
            .any(|e| e["decision"] == "intent" || e["decision"] == "applied")
    );
    signer.daemon.stop().await?;
    Ok(())
}
