//! `tlsrpt-hub migrate`: copy a SQLite store into PostgreSQL (scaling out to several
//! receivers). The rows are copied as they are, ids included, and every table's row count is
//! compared at the end ([`Store::copy_into`]).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tlsrpt_store::{CopyProgress, Store, redacted_url};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite database to copy (left unchanged).
    #[arg(long, value_name = "SQLITE_PATH")]
    from: PathBuf,

    /// The PostgreSQL database to copy into; it must be empty (the schema is created).
    /// Example: postgres://tlsrpt@db.example.net/tlsrpt?sslmode=verify-full
    #[arg(long, value_name = "POSTGRES_URL")]
    to: String,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    if !args.from.is_file() {
        anyhow::bail!("--from {}: no such SQLite database", args.from.display());
    }
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        anyhow::bail!(
            "--to must be a postgres:// URL, not {}",
            redacted_url(&args.to)
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let counts = runtime.block_on(async {
        let source = Store::open(args.from.to_str().context("--from is not UTF-8")?)
            .await
            .with_context(|| format!("opening {}", args.from.display()))?;
        let target = Store::open(&args.to)
            .await
            .with_context(|| format!("opening {}", redacted_url(&args.to)))?;
        let mut progress = Progress::new();
        let counts = source
            .copy_into(&target, |p| progress.update(p))
            .await
            .context("copying")?;
        progress.finish();
        source.close().await?;
        target.close().await?;
        anyhow::Ok(counts)
    })?;
    println!(
        "Copied {} into {}; row counts verified:",
        args.from.display(),
        redacted_url(&args.to)
    );
    for (table, rows) in counts {
        println!("  {table:<22} {rows:>12}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A bar per table on a terminal; nothing otherwise (the summary says it all).
struct Progress {
    bar: Option<(&'static str, indicatif::ProgressBar)>,
    terminal: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            bar: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn update(&mut self, p: CopyProgress) {
        if !self.terminal {
            return;
        }
        if self.bar.as_ref().is_none_or(|(table, _)| *table != p.table) {
            self.finish();
            let bar = indicatif::ProgressBar::new(p.total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:<22} {wide_bar} {pos}/{len} rows ({per_sec}, {eta})",
                )
                .expect("static progress template"),
            );
            bar.set_message(p.table);
            self.bar = Some((p.table, bar));
        }
        if let Some((_, bar)) = &self.bar {
            bar.set_position(p.copied);
        }
    }

    fn finish(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            bar.finish();
        }
    }
}
