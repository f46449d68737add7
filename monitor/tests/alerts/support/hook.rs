//! An axum HTTP receiver on 127.0.0.1 port 0 that records every request and answers with a set
//! status, optionally after a delay.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

use super::TestResult;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Hit {
    /// Path and query.
    pub path: String,
    /// `content-type` header.
    pub content_type: String,
    /// The body parsed as JSON (`Null` if it is not JSON).
    pub json: serde_json::Value,
}

/// A running receiver.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request, in order.
    pub hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A copy of the requests so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

#[derive(Clone)]
struct Reply {
    status: StatusCode,
    delay: Duration,
    hits: Arc<Mutex<Vec<Hit>>>,
}

/// Starts a receiver that answers every request with `status` after `delay`.
pub async fn start(status: StatusCode, delay: Duration) -> TestResult<Receiver> {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().fallback(record).with_state(Reply {
        status,
        delay,
        hits: hits.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Receiver { addr, hits })
}

async fn record(
    State(reply): State<Reply>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let hit = Hit {
        path: uri
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        json: serde_json::from_slice(&body).unwrap_or_default(),
    };
    if let Ok(mut hits) = reply.hits.lock() {
        hits.push(hit);
    }
    tokio::time::sleep(reply.delay).await;
    reply.status
}
