//! The smallest SMTP relay that is honest about STARTTLS (RFC 5321 + RFC 3207 + AUTH PLAIN),
//! for tests on 127.0.0.1 port 0 with an rcgen CA and tokio-rustls.
//!
//! With `starttls: true` it offers STARTTLS, does a real TLS handshake, offers AUTH only after
//! it, and answers `530` to MAIL/RCPT/DATA/AUTH sent before it. With `starttls: false` it is a
//! plain relay that accepts everything, so a client that should refuse it can be caught if it
//! does not. Every delivered message and every AUTH attempt is recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::TestResult;

/// How the relay behaves.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Offer STARTTLS and require it before AUTH and mail.
    pub starttls: bool,
    /// Answer AUTH with 235 (true) or 535 (false).
    pub accept_auth: bool,
}

/// One message as received.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// Whether it came over TLS.
    pub tls: bool,
    /// `MAIL FROM` address.
    pub mail_from: String,
    /// `RCPT TO` addresses.
    pub rcpt_to: Vec<String>,
    /// The DATA section (headers and body), dot-unstuffed.
    pub data: String,
}

/// What the relay saw.
#[derive(Debug, Default)]
pub struct Log {
    /// Delivered messages.
    pub messages: Vec<Received>,
    /// AUTH PLAIN attempts as (user, password).
    pub auth: Vec<(String, String)>,
}

/// A running relay.
pub struct SmtpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The PEM CA that signed its certificate (SAN 127.0.0.1 and localhost).
    pub ca_pem: String,
    /// Everything it saw.
    pub log: Arc<Mutex<Log>>,
}

/// Starts a relay on 127.0.0.1 port 0.
pub async fn start(options: Options) -> TestResult<SmtpServer> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test smtp ca");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let leaf_key = rcgen::KeyPair::generate()?;
    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?;
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test smtp relay");
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let certs: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let log = Arc::new(Mutex::new(Log::default()));
    let shared = log.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, log) = (acceptor.clone(), shared.clone());
            tokio::spawn(async move {
                // A client hanging up mid-dialogue is normal in the refusal tests.
                let _ = session(tcp, acceptor, options, log).await;
            });
        }
    });
    Ok(SmtpServer {
        addr,
        ca_pem: ca.pem(),
        log,
    })
}

enum Next {
    Done,
    StartTls,
}

async fn session(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    options: Options,
    log: Arc<Mutex<Log>>,
) -> TestResult {
    let mut plain = BufReader::new(tcp);
    plain.write_all(b"220 127.0.0.1 test ESMTP\r\n").await?;
    if let Next::Done = dialogue(&mut plain, false, options, &log).await? {
        return Ok(());
    }
    let tls = acceptor.accept(plain.into_inner()).await?;
    dialogue(&mut BufReader::new(tls), true, options, &log).await?;
    Ok(())
}

async fn dialogue<S>(s: &mut S, tls: bool, options: Options, log: &Mutex<Log>) -> TestResult<Next>
where
    S: AsyncBufRead + AsyncWrite + Unpin,
{
    let mut mail = Received {
        tls,
        ..Received::default()
    };
    let secure_enough = tls || !options.starttls;
    loop {
        let mut line = String::new();
        if s.read_line(&mut line).await? == 0 {
            return Ok(Next::Done);
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let arg = line
            .split_once(':')
            .and_then(|(_, a)| a.split_whitespace().next())
            .map(|a| a.trim_matches(['<', '>']).to_owned());
        let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let starttls = if options.starttls && !tls {
                "250-STARTTLS\r\n"
            } else {
                ""
            };
            let auth = if secure_enough {
                "250-AUTH PLAIN\r\n"
            } else {
                ""
            };
            format!("250-127.0.0.1 hello\r\n{starttls}{auth}250 8BITMIME\r\n")
        } else if upper == "STARTTLS" && options.starttls && !tls {
            s.write_all(b"220 2.0.0 ready to start TLS\r\n").await?;
            s.flush().await?;
            return Ok(Next::StartTls);
        } else if upper == "QUIT" {
            s.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(Next::Done);
        } else if upper == "NOOP" || upper == "RSET" {
            mail = Received {
                tls,
                ..Received::default()
            };
            "250 2.0.0 ok\r\n".into()
        } else if !secure_enough
            && ["AUTH", "MAIL", "RCPT", "DATA"]
                .iter()
                .any(|c| upper.starts_with(c))
        {
            "530 5.7.0 Must issue a STARTTLS command first\r\n".into()
        } else if upper.starts_with("AUTH PLAIN ") {
            let decoded =
                base64_decode(line.trim_end().get(11..).unwrap_or_default()).ok_or("bad base64")?;
            let mut parts = decoded
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned());
            let (_authzid, user, pass) = (
                parts.next(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            log.lock().map_err(|_| "poisoned")?.auth.push((user, pass));
            if options.accept_auth {
                "235 2.7.0 ok\r\n".into()
            } else {
                "535 5.7.8 bad credentials\r\n".into()
            }
        } else if upper.starts_with("MAIL FROM:") {
            mail.mail_from = arg.unwrap_or_default();
            "250 2.1.0 ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            mail.rcpt_to.extend(arg);
            "250 2.1.5 ok\r\n".into()
        } else if upper == "DATA" {
            s.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            loop {
                let mut l = String::new();
                if s.read_line(&mut l).await? == 0 || l == ".\r\n" {
                    break;
                }
                mail.data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            log.lock()
                .map_err(|_| "poisoned")?
                .messages
                .push(std::mem::take(&mut mail));
            mail.tls = tls;
            "250 2.0.0 queued\r\n".into()
        } else {
            "502 5.5.2 not implemented\r\n".into()
        };
        s.write_all(reply.as_bytes()).await?;
        s.flush().await?;
    }
}

/// Standard base64 (RFC 4648) with padding; `None` on a bad character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim().trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}
