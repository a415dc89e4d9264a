//! `tlsrpt-hub`: collect, check, store and explain SMTP TLS reports (RFC 8460).
//!
//! A thin binary over focused libraries (ripgrep's shape): flags are resolved into a ready
//! [`config::Config`] before any command runs, commands return an [`ExitCode`], and only
//! this crate touches files, terminals and the network.

mod alerts;
mod auth;
mod check;
mod cli;
mod config;
mod demo;
mod ingest;
mod metrics;
mod notify;
mod pipeline;
mod serve;
mod web;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    init_tracing(args.verbose);
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr so that `show --format json` output stays machine-readable.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TLSRPT_HUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
