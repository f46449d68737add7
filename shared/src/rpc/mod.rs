//! JSON-RPC client for Steem-family nodes (placeholder until the client lands).
