//! Alert sinks against real servers on 127.0.0.1: an SMTP relay with STARTTLS for email, axum
//! receivers for webhooks, and the `test-alert` subcommand end to end.

mod cli;
mod config;
mod email;
mod support;
mod webhook;
