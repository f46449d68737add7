//! The corpus of recorded node answers (`shared/tests/data/nodes/`) and a replay node that
//! serves them on 127.0.0.1, shared by `shared/tests/replay.rs` (the client, call by call) and
//! `tests/tests/replay_cli.rs` (the daemons' command-line surfaces), each including this file
//! with `#[path]`. What the server changes in a recorded answer is described in `replay.rs`.
#![allow(dead_code)] // each including test uses a different part

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::net::TcpListener;

// ------------------------------------------------------------------------------------------
// Corpus

/// One corpus file. The body members stay raw so that the served bytes are the recorded ones.
#[derive(Deserialize)]
pub(crate) struct CaseFile {
    /// `steemd-0.19`, `steem-appbase`, `hived` or `jussi`.
    pub(crate) generation: String,
    /// The recorded method.
    pub(crate) method: String,
    /// The recorded call form.
    pub(crate) style: String,
    /// The recorded HTTP status.
    pub(crate) http_status: u16,
    /// The whole recorded body.
    #[serde(default)]
    pub(crate) response: Option<Box<RawValue>>,
    /// A non-JSON recorded body.
    #[serde(default)]
    pub(crate) response_text: Option<String>,
    /// The recorded `result` member alone.
    #[serde(default)]
    pub(crate) response_result: Option<Box<RawValue>>,
    /// The recorded `error` member alone.
    #[serde(default)]
    pub(crate) response_error: Option<Box<RawValue>>,
    /// What the replay test expects (written for it).
    pub(crate) expect: Value,
}

pub(crate) struct Case {
    /// Path relative to the corpus directory, with `/` separators.
    pub(crate) rel: String,
    /// The file as recorded.
    pub(crate) file: CaseFile,
}

pub(crate) fn corpus_dir() -> PathBuf {
    // `../shared` from either crate that includes this file (vwf-shared, vwf-tests).
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/data/nodes")
}

pub(crate) fn load_case(rel: &str) -> Result<Case, String> {
    let path = corpus_dir().join(rel);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{rel}: {e}"))?;
    let file: CaseFile = serde_json::from_str(&text).map_err(|e| format!("{rel}: {e}"))?;
    Ok(Case {
        rel: rel.to_owned(),
        file,
    })
}

pub(crate) fn all_cases() -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![corpus_dir()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json")
                && let Ok(rel) = path.strip_prefix(corpus_dir())
            {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// How a recorded answer is sent back.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    /// A whole recorded JSON body.
    Json(String),
    /// Only `result` (or `error`) was recorded: wrapped in an appbase envelope.
    Member(&'static str, String),
    /// A non-JSON body (an HTML error page).
    Text(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Served {
    status: u16,
    body: Body,
}

impl Case {
    pub(crate) fn served(&self) -> Result<Served, String> {
        let f = &self.file;
        let body = if let Some(raw) = &f.response {
            Body::Json(raw.get().to_owned())
        } else if let Some(raw) = &f.response_result {
            Body::Member("result", raw.get().to_owned())
        } else if let Some(raw) = &f.response_error {
            Body::Member("error", raw.get().to_owned())
        } else if let Some(text) = &f.response_text {
            Body::Text(text.clone())
        } else {
            return Err(format!("{}: no response member", self.rel));
        };
        Ok(Served {
            status: f.http_status,
            body,
        })
    }

    /// The recorded `result`, wherever the source put it.
    pub(crate) fn result(&self) -> Result<Value, String> {
        let f = &self.file;
        if let Some(raw) = &f.response_result {
            return serde_json::from_str(raw.get()).map_err(|e| e.to_string());
        }
        if let Some(raw) = &f.response {
            let v: Value = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
            return v
                .get("result")
                .cloned()
                .ok_or_else(|| "recorded body has no result".to_owned());
        }
        Err("no recorded result".into())
    }

    /// The recorded `error` member.
    pub(crate) fn error(&self) -> Result<Value, String> {
        let f = &self.file;
        if let Some(raw) = &f.response_error {
            return serde_json::from_str(raw.get()).map_err(|e| e.to_string());
        }
        if let Some(raw) = &f.response {
            let v: Value = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
            return v
                .get("error")
                .cloned()
                .ok_or_else(|| "recorded body has no error".to_owned());
        }
        Err("no recorded error".into())
    }

    pub(crate) fn expect(&self) -> &Value {
        &self.file.expect
    }
}

// ------------------------------------------------------------------------------------------
// Replay server

/// The top-level members of a JSON object, in order, values kept as their exact text.
pub(crate) struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// The recorded body with its top-level `"id"` set to `id` (when it had a non-null one).
pub(crate) fn echo_id(body: &str, id: &Value) -> String {
    let Ok(Members(members)) = serde_json::from_str::<Members>(body) else {
        return body.to_owned(); // not an object (a batch, a bare value): as recorded
    };
    let has_id = members.iter().any(|(k, v)| k == "id" && v.get() != "null");
    if !has_id {
        return body.to_owned();
    }
    let parts: Vec<String> = members
        .iter()
        .map(|(k, v)| {
            let key = Value::String(k.clone()).to_string();
            if k == "id" {
                format!("{key}:{id}")
            } else {
                format!("{key}:{}", v.get())
            }
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

pub(crate) struct NodeState {
    routes: Mutex<HashMap<String, VecDeque<Served>>>,
    log: Mutex<Vec<String>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `api.method` for the 0.19 `call` form, else the method.
pub(crate) fn route_key(request: &Value) -> String {
    match request["method"].as_str() {
        Some("call") => format!(
            "{}.{}",
            request["params"][0].as_str().unwrap_or("?"),
            request["params"][1].as_str().unwrap_or("?")
        ),
        Some(m) => m.to_owned(),
        None => "?".to_owned(),
    }
}

pub(crate) async fn handle(State(state): State<Arc<NodeState>>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = route_key(&request);
    lock(&state.log).push(key.clone());
    let reply = {
        let mut routes = lock(&state.routes);
        match routes.get_mut(&key) {
            Some(q) if q.len() > 1 => q.pop_front(),
            Some(q) => q.front().cloned(),
            None => None,
        }
    };
    let Some(reply) = reply else {
        if key.contains('.') && request["method"].as_str() != Some("call") {
            // A dotted name the case did not record: answered as steemd 0.19 answers it (the
            // whole name goes to API 0: steemit/steem v0.19.5 fc `api_connection.hpp:109`), so
            // the client's style detection, which asks condenser_api first on STEEM/HIVE, moves
            // on to the recorded 0.19 `call` form. Appbase recordings route their dotted names.
            let id = request.get("id").cloned().unwrap_or(Value::Null);
            let answer = serde_json::json!({"id": id, "error": {"code": 1,
                "message": format!("10 assert_exception: Assert Exception\nitr != _by_name.end(): no method with name '{key}'"),
                "data": {"code": 10, "name": "assert_exception", "message": "Assert Exception"}}});
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                answer.to_string(),
            )
                .into_response();
        }
        return (StatusCode::NOT_FOUND, "").into_response();
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (ctype, text) = match reply.body {
        Body::Json(b) => ("application/json", echo_id(&b, &id)),
        Body::Member(member, raw) => (
            "application/json",
            format!("{{\"jsonrpc\":\"2.0\",\"{member}\":{raw},\"id\":{id}}}"),
        ),
        Body::Text(t) => ("text/html", t),
    };
    (status, [(header::CONTENT_TYPE, ctype)], text).into_response()
}

pub(crate) struct ReplayNode {
    /// `http://127.0.0.1:PORT/`.
    pub(crate) url: String,
    state: Arc<NodeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayNode {
    pub(crate) async fn start() -> Result<ReplayNode, String> {
        let state = Arc::new(NodeState {
            routes: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("addr: {e}"))?;
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ReplayNode {
            url: format!("http://{addr}/"),
            state,
            task,
        })
    }

    pub(crate) fn route(&self, key: &str, replies: Vec<Served>) {
        lock(&self.state.routes).insert(key.to_owned(), replies.into());
    }

    pub(crate) fn count(&self, key: &str) -> usize {
        lock(&self.state.log).iter().filter(|k| *k == key).count()
    }
}

/// The routes a `get_config` recording answers. A 0.19 config (`STEEMIT_*` names) answers the
/// legacy probe only. An appbase config answers both probes: appbase routes
/// `call database_api get_config []` to its own `database_api` (json_rpc_plugin.cpp
/// `process_params`), and `condenser_api.get_config` returns that same object (condenser_api.cpp).
pub(crate) fn config_keys(case: &Case) -> Vec<String> {
    let legacy = case
        .result()
        .ok()
        .and_then(|r| {
            r.as_object()
                .map(|m| m.keys().any(|k| k.starts_with("STEEMIT_")))
        })
        .unwrap_or(false);
    if legacy {
        vec!["database_api.get_config".to_owned()]
    } else {
        vec![
            "database_api.get_config".to_owned(),
            "condenser_api.get_config".to_owned(),
        ]
    }
}
