//! `tlsrpt-synth`: writes a deterministic corpus of realistic TLS-RPT report files.
//!
//! Used by `bench/import.sh` for the import benchmark and for demo datasets spanning months
//! (`--days 180 --domains 40`).

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use tlsrpt_synth::Options;

#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write report files named per RFC 8460 §5.1 into a new or empty directory.
    Corpus {
        /// Number of reports.
        #[arg(long, default_value_t = tlsrpt_synth::DEFAULT_COUNT)]
        count: usize,
        /// Seed; the same seed and options always give the same files.
        #[arg(long, default_value_t = tlsrpt_synth::DEFAULT_SEED)]
        seed: u64,
        /// Directory to write to (created if missing; must be empty).
        #[arg(long)]
        out: PathBuf,
        /// Fraction of files written as .json.gz.
        #[arg(long, default_value_t = 0.5)]
        gzip_ratio: f64,
        /// Consecutive UTC days the reports are spread over.
        #[arg(long, default_value_t = tlsrpt_synth::DEFAULT_DAYS)]
        days: u32,
        /// Recipient domains to report about [default: reports per day, at least 20].
        #[arg(long)]
        domains: Option<usize>,
        /// First day (UTC).
        #[arg(long, default_value = "2026-01-05")]
        start: NaiveDate,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let Command::Corpus {
        count,
        seed,
        out,
        gzip_ratio,
        days,
        domains,
        start,
    } = args.command;
    let options = Options {
        seed,
        count,
        start,
        days,
        domains,
        gzip_ratio,
    };
    let corpus = options.corpus()?;
    let domain_count = corpus.world().domains.len();
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // Mixing two corpora would silently break the expected report count.
    if fs::read_dir(&out)?.next().is_some() {
        bail!("{} is not empty", out.display());
    }
    let (mut files, mut gzipped, mut bytes) = (0usize, 0usize, 0u64);
    for file in corpus {
        let path = out.join(&file.file_name);
        fs::write(&path, &file.bytes).with_context(|| format!("writing {}", path.display()))?;
        files += 1;
        gzipped += usize::from(file.file_name.ends_with(".gz"));
        bytes += file.bytes.len() as u64;
    }
    println!(
        "wrote {files} reports ({gzipped} gzip, {} plain) about {domain_count} domains over \
         {days} days, {bytes} bytes ({:.1} MB) to {}",
        files - gzipped,
        bytes as f64 / 1e6,
        out.display()
    );
    Ok(())
}
