//! `tlsrpt-hub show`: the report reader.

mod text;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Serialize;
use tlsrpt_core::read::{ReadReport, read_reports};

use crate::config::Config;
use crate::ingest::files;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Output format: `text` explains the report to a person; `json` prints the normalised
    /// model documented in docs/report-model.md (an array, one entry per report).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Print each report's JSON exactly as received (decompressed), nothing else.
    #[arg(long, conflicts_with = "format")]
    raw: bool,

    /// Report files, e-mail messages, mbox files, Maildir folders or directories; `-` reads
    /// standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// One report as `--format json` prints it: the normalised model plus where it came from.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct JsonEntry<'a> {
    source: &'a str,
    #[serde(flatten)]
    report: &'a ReadReport,
}

pub fn run(config: &Config, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let mut out = anstream::stdout().lock();
    let mut failures = 0usize;
    let mut json_entries = Vec::new();
    for submission in files::submissions(&args.paths, files::WalkOrder::ByName) {
        let submission = match submission {
            Ok(submission) => submission,
            Err(error) => {
                failures += 1;
                eprintln!("error: {error}");
                continue;
            }
        };
        let source = submission.source_name.as_str();
        let reading = match read_reports(&submission.raw, &config.limits) {
            Ok(reading) => reading,
            Err(error) => {
                failures += 1;
                eprintln!("error: {source}: {error}");
                continue;
            }
        };
        for part in reading {
            match part {
                Ok(report) if args.raw => {
                    out.write_all(&report.json)?;
                    writeln!(out)?;
                }
                Ok(report) if args.format == Format::Json => {
                    json_entries.push(serde_json::to_value(JsonEntry {
                        source,
                        report: &report,
                    })?);
                }
                Ok(report) => text::render(&mut out, source, &report)?,
                Err(error) => {
                    failures += 1;
                    eprintln!("error: {source}: {error}");
                }
            }
        }
    }
    if args.format == Format::Json && !args.raw {
        serde_json::to_writer_pretty(&mut out, &json_entries).context("writing JSON")?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
