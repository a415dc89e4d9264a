//! End-to-end tests of the `tlsrpt-hub` binary: real files, real SQLite databases.

mod alerts;
mod api;
mod browser;
mod check;
mod crash;
mod dkim;
mod durability;
mod export;
mod imap;
mod import;
mod ingest_mail;
mod metrics;
mod notify;
mod postgres;
mod real_sender;
mod record;
mod reprocess;
mod serve_http;
mod show;
mod show_snapshots;
mod smtp;
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The real-world reports copied from the shared corpus (origins in tests/fixtures/README.md).
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/corpus")
        .join(name)
}

pub fn hub() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tlsrpt-hub"));
    command
        .env_remove("TLSRPT_HUB_DB")
        .env_remove("TLSRPT_HUB_CONFIG");
    command
}

/// Runs the binary with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    hub().args(args).output().expect("running tlsrpt-hub")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// Opens a store the binary wrote, for assertions.
pub fn with_store<T>(db: &Path, check: impl AsyncFnOnce(&tlsrpt_store::Store) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = tlsrpt_store::Store::open(db.to_str().expect("utf-8 path"))
            .await
            .expect("open store");
        let result = check(&store).await;
        store.close().await.expect("close store");
        result
    })
}
