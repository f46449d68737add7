//! A canned JSON-RPC node on 127.0.0.1:0: replies per method, in order (the last one repeats),
//! and a log of every request body as received.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the node answers to one request.
#[derive(Clone, Debug)]
pub(super) enum Reply {
    /// `{"id":<request id>,"result":…}` (plus `"jsonrpc":"2.0"` on appbase).
    Result(Value),
    /// `{"id":<request id>,"error":…}`.
    Error(Value),
    /// This body, verbatim, status 200.
    Raw(String),
    /// This whole response object, status 200, with `id` set to the request's.
    Envelope(Value),
    /// This status and body.
    Status(u16, String),
    /// The reply, after a delay (to trigger the client's timeout).
    Delay(Duration, Box<Reply>),
    /// A result under another id.
    WrongId(Value),
}

/// Which envelope the node writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    /// steemd 0.19: no `jsonrpc` member in responses.
    Legacy,
    /// appbase: `"jsonrpc":"2.0"`.
    Appbase,
}

struct NodeState {
    flavor: Flavor,
    routes: Mutex<HashMap<String, VecDeque<Reply>>>,
    /// When set, the answer to every array body (a node that does not take batches).
    batch_reply: Mutex<Option<Reply>>,
    bodies: Mutex<Vec<String>>,
}

/// A running test node; stopped when dropped.
pub(super) struct TestNode {
    pub(super) url: String,
    state: Arc<NodeState>,
    task: JoinHandle<()>,
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The route key of a request: `api.method` for `call`, else the method.
pub(super) fn method_of(request: &Value) -> String {
    match request["method"].as_str() {
        Some("call") => format!(
            "{}.{}",
            request["params"][0].as_str().unwrap_or("?"),
            request["params"][1].as_str().unwrap_or("?")
        ),
        Some(method) => method.to_owned(),
        None => "?".to_owned(),
    }
}

impl TestNode {
    /// Starts a node that answers unknown methods the way 0.19 answers an unknown API.
    pub(super) async fn start(flavor: Flavor) -> TestNode {
        let state = Arc::new(NodeState {
            flavor,
            routes: Mutex::new(HashMap::new()),
            batch_reply: Mutex::new(None),
            bodies: Mutex::new(Vec::new()),
        });
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("bind: {e}"),
        };
        let url = match listener.local_addr() {
            Ok(addr) => format!("http://{addr}/"),
            Err(e) => panic!("local_addr: {e}"),
        };
        let app = axum::Router::new()
            .route("/", post(handle))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestNode { url, state, task }
    }

    /// Sets the replies for `method` (`database_api.get_config`, `condenser_api.get_config`…).
    pub(super) fn route(&self, method: &str, replies: Vec<Reply>) -> &Self {
        lock(&self.state.routes).insert(method.to_owned(), replies.into());
        self
    }

    /// Answers every array body (a batch) with `reply` instead of one answer per element.
    pub(super) fn refuse_batches(&self, reply: Reply) -> &Self {
        *lock(&self.state.batch_reply) = Some(reply);
        self
    }

    /// How many request bodies were arrays (batches).
    pub(super) fn batches(&self) -> usize {
        self.requests().iter().filter(|r| r.is_array()).count()
    }

    /// Every request body received, in order, as text.
    pub(super) fn bodies(&self) -> Vec<String> {
        lock(&self.state.bodies).clone()
    }

    /// Every request received, parsed.
    pub(super) fn requests(&self) -> Vec<Value> {
        self.bodies()
            .iter()
            .map(|b| serde_json::from_str(b).unwrap_or(Value::Null))
            .collect()
    }

    /// How many calls went to `method`, batch elements included.
    pub(super) fn count(&self, method: &str) -> usize {
        self.requests()
            .iter()
            .flat_map(|r| match r {
                Value::Array(items) => items.clone(),
                single => vec![single.clone()],
            })
            .filter(|r| method_of(r) == method)
            .count()
    }
}

async fn handle(State(state): State<Arc<NodeState>>, body: String) -> Response {
    lock(&state.bodies).push(body.clone());
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if let Value::Array(items) = &request {
        let refusal = lock(&state.batch_reply).clone();
        if let Some(reply) = refusal {
            return respond(&state, &Value::Null, reply).await;
        }
        // One answer per element, in reverse order: the client must match them by id.
        let mut answers = Vec::new();
        for item in items.iter().rev() {
            let reply = next_reply(&state, &method_of(item));
            answers.push(element(&state, &item["id"], reply));
        }
        let body = Value::Array(answers).to_string();
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    let reply = next_reply(&state, &method_of(&request));
    respond(&state, &request["id"], reply).await
}

/// The next reply routed for `method`, or 0.19's "no method" error.
fn next_reply(state: &NodeState, method: &str) -> Reply {
    let reply = {
        let mut routes = lock(&state.routes);
        match routes.get_mut(method) {
            Some(queue) if queue.len() > 1 => queue.pop_front(),
            Some(queue) => queue.front().cloned(),
            None => None,
        }
    };
    reply.unwrap_or_else(|| {
        Reply::Error(json!({
            "code": 1,
            "message": format!("10 assert_exception: Assert Exception\nitr != _by_name.end(): no method with name '{method}'\n    {{}}\n    th_a  api_connection.hpp:109 call")
        }))
    })
}

/// One element of a batch answer (only the JSON replies make sense there; others are `null`).
fn element(state: &NodeState, id: &Value, reply: Reply) -> Value {
    let mut object = json!({ "id": id });
    if state.flavor == Flavor::Appbase {
        object["jsonrpc"] = json!("2.0");
    }
    match reply {
        Reply::Result(v) => object["result"] = v,
        Reply::Error(e) => object["error"] = e,
        Reply::Delay(_, inner) => return element(state, id, *inner),
        _ => return Value::Null,
    }
    object
}

async fn respond(state: &NodeState, id: &Value, mut reply: Reply) -> Response {
    while let Reply::Delay(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    let envelope = |id: Value, key: &str, value: Value| {
        let mut object = json!({ "id": id });
        if state.flavor == Flavor::Appbase {
            object["jsonrpc"] = json!("2.0");
        }
        object[key] = value;
        object.to_string()
    };
    let (status, body) = match reply {
        Reply::Result(v) => (200, envelope(id.clone(), "result", v)),
        Reply::Error(e) => (200, envelope(id.clone(), "error", e)),
        Reply::WrongId(v) => (
            200,
            envelope(json!(id.as_u64().unwrap_or(0) + 1000), "result", v),
        ),
        Reply::Raw(text) => (200, text),
        Reply::Envelope(mut object) => {
            object["id"] = id.clone();
            (200, object.to_string())
        }
        Reply::Status(code, text) => (code, text),
        Reply::Delay(..) => (500, String::new()),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A one-shot raw HTTP server that answers with a chunked body of `total` bytes (no
/// Content-Length), to test the streaming size cap.
pub(super) async fn chunked_server(total: usize) -> (String, JoinHandle<()>) {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let url = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}/"),
        Err(e) => panic!("local_addr: {e}"),
    };
    let task = tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        // The request is small: one read takes it, so the answer comes after it, as over HTTP.
        let mut request = [0u8; 16 * 1024];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if socket.write_all(&frame).await.is_err() {
                return; // the client hung up: expected once it passes the cap
            }
            sent += chunk.len();
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    (url, task)
}
