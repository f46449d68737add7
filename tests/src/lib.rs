//! Test support for vit-witness-failover (placeholder until the simulator lands).
