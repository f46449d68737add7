//! Abuse of the signer daemon: malformed and oversized gRPC messages sent as raw bytes, a flood
//! from an allowed client, and TCP connections that never complete a TLS handshake. Each abuse
//! must be refused, leave a trace in the audit log, and leave the daemon serving other clients.
//!
//! Covered elsewhere (not repeated here): requests for other accounts and keys, a reused
//! request id, an intruder certificate (`signer.rs`, `allowed_switch_…`), and handshakes without
//! a certificate or with a foreign or expired one (`signer.rs`, `tls_refuses_…`).

use std::time::{Duration, Instant};

use bytes::{Buf, BufMut};
use serde_json::Value;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use vwf_proto::v1 as pb;
use vwf_tests::harness::SimChain;
use vwf_tests::process::Daemon;
use vwf_tests::signer::{MONITOR, SignerOptions, SignerSetup, default_policy};
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
    let refused = signer
        .audit()?
        .into_iter()
        .filter(|e| e["decision"] == "refused" && e["client"] == MONITOR)
        .count();
    assert_eq!(refused, bodies.len(), "bad bodies not audited");
    signer.daemon.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_flood_from_an_allowed_client_is_rate_limited_audited_and_others_are_served()
-> anyhow::Result<()> {
    const FLOOD: usize = 60;
    let signer = signer().await?;
    let client = signer.setup.client(&signer.address, MONITOR).await?;
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..FLOOD {
        let mut client = client.clone();
        flood.spawn(async move { client.status(pb::StatusRequest {}).await.map(drop) });
    }
    // Meanwhile another allowed client is served promptly.
    let started = Instant::now();
    let ops = signer.status(OPS).await?;
    assert_eq!(ops.client_identity, OPS);
    let ops_latency = started.elapsed();

    let (mut ok, mut limited, mut other) = (0usize, 0usize, Vec::new());
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
    assert!(
        ops_latency < Duration::from_secs(3),
        "another client waited {ops_latency:?} during the flood"
    );

    // Every refusal is audited with the rule and the client's identity.
    let audited = signer
        .audit()?
        .into_iter()
        .filter(|e| {
            e["rule"] == "rate-limit" && e["client"] == MONITOR && e["decision"] == "refused"
        })
        .count();
    assert_eq!(audited, limited);
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
            Ok(refused >= garbage.len())
        },
    )
    .await?;
    assert_eq!(signer.status(MONITOR).await?.client_identity, MONITOR);
    signer.daemon.stop().await?;
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
    let started = Instant::now();
    let answer = signer.status(MONITOR).await;
    let waited = started.elapsed();
    drop(idle);
    assert!(
        answer.is_ok() && waited < Duration::from_secs(3),
        "an allowed client waited {waited:?}: {answer:?}"
    );
    signer.daemon.stop().await?;
    Ok(())
}
