//! `tlsrpt-hub export`: flattened rows (one per policy or per failure detail) as CSV or
//! NDJSON, each with its report and policy context; the same rows as `/api/v1/export/…`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use tlsrpt_store::{ExportFilter, Store};

use crate::config::Config;
use crate::web::export::{self, Format, Rows};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// One row per policy, or one per failure detail.
    #[arg(long, value_enum, default_value = "failures")]
    rows: Rows,
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Only this policy domain.
    #[arg(long)]
    domain: Option<String>,
    /// First day (UTC, of the report's start-datetime), inclusive.
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<NaiveDate>,
    /// Last day, inclusive.
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<NaiveDate>,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(config: &Config, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let filter = ExportFilter {
        policy_domain: args
            .domain
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase()),
        from: args.from,
        to: args.to,
        after: 0,
        limit: 0,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open(&config.database)
            .await
            .with_context(|| format!("opening database {}", config.database))?;
        export::write_all(&store, args.rows, args.format, filter, &mut out).await?;
        store.close().await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
