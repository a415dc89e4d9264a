//! Command-line interface: argument definitions and dispatch.

mod alert_state;
mod alerts;
mod check;
mod export;
mod imap_poll;
mod import;
mod ingest_mail;
mod migrate;
mod prune;
mod record;
mod reprocess;
mod serve;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

pub use prune::cutoff as retention_cutoff;
pub use serve::ServeArgs;

/// Self-hosted collector and analyzer for SMTP TLS Reporting (TLS-RPT, RFC 8460).
///
/// Sending mail servers send one JSON report per day about the TLS sessions they made to
/// your MX hosts. tlsrpt-hub receives them (HTTPS, SMTP/LMTP, IMAP, an MTA pipe) or reads them
/// from files, explains them, stores them, and shows them on a dashboard and a JSON API.
#[derive(Debug, Parser)]
#[command(name = "tlsrpt-hub", version, propagate_version = true)]
pub struct Args {
    /// Database: a SQLite file path (default: tlsrpt-hub.db in the working directory) or a
    /// postgres:// URL (several receivers on one database).
    #[arg(long, global = true, env = "TLSRPT_HUB_DB", value_name = "PATH|URL")]
    pub db: Option<String>,

    /// Configuration file (TOML); flags and environment variables override it.
    #[arg(long, global = true, env = "TLSRPT_HUB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Largest decompressed size of one submission (a file, a message), in bytes; bigger
    /// inputs are rejected as possible gzip/zip bombs [default: 52428800 = 50 MiB].
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_decompressed: Option<u64>,

    /// More log output on stderr (-v info, -vv debug). TLSRPT_HUB_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explain reports to a person: who reported, which day, each policy, success rate,
    /// failures with their cause and the fix, and what was odd about the report.
    ///
    /// Reads JSON, gzip, zip, e-mail messages (.eml), mbox files, Maildir folders and whole
    /// directories; `-` reads standard input. Exits non-zero if any input is not a report.
    Show(show::ShowArgs),
    /// Store reports from files, directories, mbox files and Maildir folders in the database.
    ///
    /// Duplicates (same reporter, report-id, policy domains and date range) are counted, not
    /// stored twice; one bad file never aborts the batch. Ends with a summary.
    Import(import::ImportArgs),
    /// Re-read every stored submission with the current parser and rebuild the derived rows
    /// (reports, policies, failure details, diagnostics, daily rollups).
    ///
    /// Raw submissions are kept exactly as received, so a parser fix never needs the senders
    /// to resend.
    Reprocess(reprocess::ReprocessArgs),
    /// Run the receivers, the dashboard and the JSON API until SIGTERM or SIGINT: the HTTP(S)
    /// POST endpoint senders deliver reports to (RFC 8460 §5.4), `POST /v1/tlsrpt` and
    /// `POST /v1/tlsrpt/{token}`; with `[smtp]` an SMTP/LMTP listener; every [[imap]] mailbox;
    /// the dashboard at `/` and the API at `/api/v1/`; `/metrics`; MTA-STS policy files; the
    /// daily checks of the configured domains.
    ///
    /// Every report is stored before the sender gets a 2xx (or 250). SIGHUP reloads the TLS
    /// certificate without dropping connections.
    Serve(ServeArgs),
    /// Store the reports in ONE e-mail message read on stdin: for an MTA pipe transport,
    /// procmail or sieve delivering your mailto: rua address (RFC 8460 §5.3).
    ///
    /// The exit status tells the MTA what to do: 0 delivered, 65 bounce (not a report, or
    /// refused), 75 retry later (database unavailable). See the end of --help.
    #[command(after_long_help = ingest_mail::AFTER_HELP)]
    IngestMail,
    /// Print exactly what to publish: the `_smtp._tls` TXT record asking for reports, the
    /// `_mta-sts` TXT record with a fresh id, and an MTA-STS policy file (testing mode by
    /// default).
    Record(record::RecordArgs),
    /// Copy a SQLite database into an empty PostgreSQL database (ids included), with a
    /// progress bar, then verify every table's row count.
    Migrate(migrate::MigrateArgs),
    /// Remove reports older than the retention period (config retention_days or
    /// --older-than-days), with their details, rollups and unreferenced raw submissions.
    Prune(prune::PruneArgs),
    /// Fetch mailed reports once from every [[imap]] account in the config file, store them,
    /// and move each message to its archive or error folder; for cron. `serve` polls the
    /// same accounts continuously.
    ImapPoll,
    /// Check domains as senders see them: the `_smtp._tls` TXT record, the `_mta-sts` record
    /// and policy file, the policy against the live MX hosts, TLSA, and (--starttls) each MX
    /// host's certificate. Every problem comes with its fix. See the end of --help for the
    /// exit status.
    #[command(after_long_help = check::AFTER_HELP)]
    Check(check::CheckArgs),
    /// Write stored reports as flat rows (CSV or NDJSON): one row per failure detail or per
    /// policy, each carrying its report and policy context (policy domain included).
    Export(export::ExportArgs),
    /// Alerts: `alerts list` shows open ones (--all: resolved too), `alerts ack ID`
    /// acknowledges one, `alerts mute ID --for 7d` silences one, `alerts test --channel NAME`
    /// sends a sample alert through a configured channel.
    Alerts(alerts::AlertsArgs),
}

/// Runs the chosen command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match Config::resolve(&args) {
        Ok(config) => config,
        Err(error) if matches!(args.command, Command::IngestMail) => {
            return Ok(ingest_mail::config_error(&error));
        }
        Err(error) => return Err(error),
    };
    match args.command {
        Command::Show(show) => show::run(&config, show),
        Command::Import(import) => import::run(&config, import),
        Command::Reprocess(reprocess) => reprocess::run(&config, reprocess),
        Command::Serve(serve) => serve::run(config, &serve),
        Command::IngestMail => ingest_mail::run(&config),
        Command::Record(record) => record::run(record),
        Command::Migrate(migrate) => migrate::run(migrate),
        Command::Prune(prune) => prune::run(&config, prune),
        Command::ImapPoll => imap_poll::run(&config),
        Command::Check(check) => check::run(check),
        Command::Export(export) => export::run(&config, export),
        Command::Alerts(alerts) => alerts::run(&config, alerts),
    }
}
