//! Tests against a real HTTP server on 127.0.0.1 serving canned 0.19 and appbase answers.

mod batch;
mod broadcast;
mod capture;
mod connect;
mod errors;
mod fixtures;
mod reads;
mod server;

use std::fmt::Debug;
use std::time::Duration;

use super::{ClientOptions, NodeClient};
use crate::profile::ChainProfile;
use fixtures::{hive_config, vit_config};
use server::{Flavor, Reply, TestNode};

/// Short limits so failures show quickly; backoff small but non-zero.
fn options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(400),
        synchronous_broadcast_timeout: Duration::from_millis(400),
        retry_backoff: Duration::from_millis(5),
        ..ClientOptions::default()
    }
}

fn ok<T, E: Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("unexpected error: {e:?}"),
    }
}

fn err<T: Debug, E>(result: Result<T, E>) -> E {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(e) => e,
    }
}

/// A VIT 0.19 node answering `get_config`.
async fn vit_node() -> TestNode {
    let node = TestNode::start(Flavor::Legacy).await;
    node.route("database_api.get_config", vec![Reply::Result(vit_config())]);
    node
}

/// A Hive appbase node answering `condenser_api.get_config` (and not the 0.19 call).
async fn hive_node() -> TestNode {
    let node = TestNode::start(Flavor::Appbase).await;
    node.route(
        "condenser_api.get_config",
        vec![Reply::Result(hive_config())],
    );
    node
}

async fn connect(node: &TestNode, profile: ChainProfile) -> NodeClient {
    ok(NodeClient::connect(&node.url, profile, options()).await)
}

#[test]
fn client_futures_and_errors_can_cross_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<NodeClient>();
    send_sync::<super::RpcError>();
    send(&NodeClient::connect(
        "http://127.0.0.1:9/",
        ChainProfile::vit(),
        options(),
    ));
    // Compiled, never called: the monitor spawns these futures.
    fn _futures_are_send(client: &NodeClient, tx: &crate::transaction::SignedTransaction) {
        send(&client.get_witness_by_account("x"));
        send(&client.broadcast_transaction(tx));
        send(&client.wait_for_inclusion(tx, 1, Duration::from_secs(1)));
    }
}
