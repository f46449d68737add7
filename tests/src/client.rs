//! Small async HTTP clients for tests: JSON-RPC calls to a node and the control API.
//!
//! Plain HTTP over hyper, no TLS stack, so nothing here needs a rustls crypto provider.

use std::time::Duration;

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// Bound on one request, so a hung node cannot hang a test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one HTTP request with an optional JSON body; returns the status and the raw body.
pub async fn http(
    method: Method,
    url: &str,
    body: Option<&Value>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let payload = body.map(Value::to_string).unwrap_or_default();
    let request = Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(payload)))?;
    let exchange = async {
        let response = client.request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, bytes))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .with_context(|| format!("{url}: no answer within {REQUEST_TIMEOUT:?}"))?
        .with_context(|| format!("{url}: request failed"))
}

/// POSTs a JSON body and parses the JSON answer (any HTTP status).
pub async fn post_json(url: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
    let (status, bytes) = http(Method::POST, url, Some(body)).await?;
    let value = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{url}: HTTP {status}, not JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    Ok((status, value))
}

/// Sends a legacy `call` request and returns the whole response object (`result` or `error`).
pub async fn call(node: &str, api: &str, method: &str, args: Value) -> anyhow::Result<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": [api, method, args]});
    let (status, value) = post_json(node, &body).await?;
    if status != StatusCode::OK {
        bail!("{node}: HTTP {status}");
    }
    Ok(value)
}

/// Like [`call`] but returns `result`, failing with the node's error message.
pub async fn call_ok(node: &str, api: &str, method: &str, args: Value) -> anyhow::Result<Value> {
    let response = call(node, api, method, args).await?;
    if let Some(error) = response.get("error") {
        bail!("{api}.{method} failed: {error}");
    }
    response
        .get("result")
        .cloned()
        .with_context(|| format!("{api}.{method}: no result in {response}"))
}

/// The error message of a response, if it is an error.
pub fn error_message(response: &Value) -> Option<&str> {
    response.get("error")?.get("message")?.as_str()
}

/// A client of the simulator's control API.
#[derive(Clone, Debug)]
pub struct Control {
    base: String,
}

impl Control {
    /// A client for the control URL from the ports line.
    pub fn new(base: &str) -> Self {
        Control {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let (status, bytes) = http(Method::GET, &url, None).await?;
        if status != StatusCode::OK {
            bail!("{url}: HTTP {status}");
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let (status, value) = post_json(&url, &body).await?;
        if status != StatusCode::OK {
            bail!("{url}: HTTP {status}: {value}");
        }
        Ok(value)
    }

    /// `GET /status`.
    pub async fn status(&self) -> anyhow::Result<Value> {
        self.get("/status").await
    }

    /// `GET /history`.
    pub async fn history(&self) -> anyhow::Result<Value> {
        self.get("/history").await
    }

    /// `POST /servers/{name}`.
    pub async fn set_server(&self, name: &str, up: bool) -> anyhow::Result<()> {
        self.post(&format!("/servers/{name}"), json!({"up": up}))
            .await
            .map(drop)
    }

    /// `POST /nodes/{index}` with any subset of the fault fields; returns the node's faults.
    pub async fn set_node_faults(&self, index: usize, faults: Value) -> anyhow::Result<Value> {
        self.post(&format!("/nodes/{index}"), faults).await
    }

    /// The signing keys set by applied `witness_update`s, in order.
    pub async fn applied_keys(&self) -> anyhow::Result<Vec<String>> {
        let history = self.history().await?;
        Ok(history["updates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["signing_key"].as_str().map(str::to_owned))
            .collect())
    }

    /// The head block number from `/status`.
    pub async fn head_num(&self) -> anyhow::Result<u64> {
        let status = self.status().await?;
        status["head"]["num"]
            .as_u64()
            .context("status without head.num")
    }

    /// A witness entry from `/status` (name, signing_key, total_missed, scheduled, …).
    pub async fn witness(&self, name: &str) -> anyhow::Result<Value> {
        let status = self.status().await?;
        status["witnesses"]
            .as_array()
            .and_then(|ws| ws.iter().find(|w| w["name"] == name))
            .cloned()
            .with_context(|| format!("no witness {name} in status"))
    }
}
