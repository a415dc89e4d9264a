//! `tlsrpt-hub ingest-mail`: one e-mail message on stdin, from an MTA's pipe transport,
//! procmail or sieve — the mailto: `rua` delivery of RFC 8460 §5.3.
//!
//! The message takes the receivers' path ([`Intake`]: parse, domain check, store), and the
//! [`Outcome`] becomes a sysexits code, because that is the one answer an MTA reads from a
//! pipe: 0 delivered, `EX_TEMPFAIL` keep it queued and retry, anything else bounce. Senders
//! get no second chance after a bounce, so only faults in the message itself bounce; every
//! fault on our side keeps the report in the MTA's queue until it can be stored.

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use tlsrpt_store::{Origin, Store};

use crate::config::Config;
use crate::ingest::Submission;
use crate::serve::{Intake, Outcome};

/// sysexits.h: the message is not a (readable) report or is about a domain we refuse. MTAs
/// bounce it (Postfix pipe(8): 5.6.0).
const EX_DATAERR: u8 = 65;
/// sysexits.h: try again later. MTAs keep the message queued (Postfix pipe(8): 4.3.0).
const EX_TEMPFAIL: u8 = 75;

/// `--help` text after the options: what the MTA does with each exit code, and how to wire
/// it up.
pub const AFTER_HELP: &str = "\
Exit status (sysexits.h, which MTAs map to deliver / bounce / retry):
  0   stored, or already stored (a re-sent message is counted, not stored twice)
  65  EX_DATAERR: not a report, an unreadable report, too large, a policy domain refused
      by unknown_domains = \"reject\", or no passing DKIM signature by the submitter under
      dkim = \"require\" — permanent, the MTA bounces the message
  75  EX_TEMPFAIL: the database is unavailable, locked or failing, stdin could not be read,
      the DKIM keys could not be fetched (dkim = \"require\"), or the config file is
      broken — the MTA keeps the message queued and retries
Exit 0 is only given after the report is committed to the database. One log line per
message on stderr (-v to log successes too).

Postfix, master.cf (route the rua address to it with transport_maps,
e.g. `tlsrpt@example.com tlsrpt:`):
  tlsrpt  unix  -  n  n  -  2  pipe
    user=tlsrpt argv=/usr/local/bin/tlsrpt-hub -v ingest-mail --config /etc/tlsrpt-hub.toml

procmail (`w` waits for the exit status; on failure procmail goes on with later recipes):
  :0 w
  * ^TO_tlsrpt@example\\.com
  | /usr/local/bin/tlsrpt-hub ingest-mail --config /etc/tlsrpt-hub.toml

sieve (Dovecot Pigeonhole, vnd.dovecot.pipe with tlsrpt-hub in sieve_pipe_bin_dir):
  require \"vnd.dovecot.pipe\";
  if address :is \"to\" \"tlsrpt@example.com\" {
    pipe \"tlsrpt-hub\" [\"ingest-mail\", \"--config\", \"/etc/tlsrpt-hub.toml\"]; stop;
  }";

/// Reads the message on stdin, stores its reports and answers with the exit code.
pub fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let mut raw = Vec::new();
    if let Err(error) = std::io::stdin().lock().read_to_end(&mut raw) {
        // A half-read message must not be judged (nor bounced) as "not a report".
        tracing::error!(%error, "reading the message from stdin failed: exit 75, the MTA retries");
        return Ok(ExitCode::from(EX_TEMPFAIL));
    }
    let submission = Submission {
        raw,
        origin: Origin::Pipe,
        // The Message-ID is stored with each report from the parsed headers already.
        source_name: "stdin".to_owned(),
        received_at: Utc::now(),
    };
    let outcome = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(take(config, submission)),
        Err(error) => Outcome::Failed(format!("starting the async runtime: {error}")),
    };
    Ok(ExitCode::from(answer(&outcome)))
}

/// A broken config file is the operator's to fix: the message waits in the queue rather
/// than bouncing with the generic exit status 2.
pub fn config_error(error: &anyhow::Error) -> ExitCode {
    tracing::error!("configuration (exit 75, the MTA retries): {error:#}");
    ExitCode::from(EX_TEMPFAIL)
}

/// Opens the store for this one message and hands the submission to the shared intake.
async fn take(config: &Config, submission: Submission) -> Outcome {
    let store = match Store::open(&config.database).await {
        Ok(store) => Arc::new(store),
        Err(error) => return error.into(),
    };
    let intake = Intake::for_config(Arc::clone(&store), config);
    let outcome = intake.take(submission, None).await;
    drop(intake);
    // Insert has committed; closing only checkpoints the WAL, so its failure loses nothing.
    if let Ok(store) = Arc::try_unwrap(store)
        && let Err(error) = store.close().await
    {
        tracing::warn!(%error, "closing the database");
    }
    outcome
}

/// Logs the one line for this message and picks its exit code.
///
/// `Failed` (a corrupt database, a bug) also exits 75, not `EX_SOFTWARE` (70): Postfix
/// bounces 70, which would throw a good report away for our fault; queued, it is stored once
/// the operator has fixed the cause (senders retry mail per SMTP, RFC 8460 §5.3, §5.5).
fn answer(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Stored {
            stored,
            duplicates,
            unreadable,
        } => {
            tracing::info!(
                outcome = "stored",
                report_ids = ?stored.iter().map(|id| id.0).collect::<Vec<_>>(),
                duplicates = duplicates.len(),
                ?unreadable,
                "message stored"
            );
            0
        }
        Outcome::Duplicate { existing } => {
            tracing::info!(
                outcome = "duplicate",
                report_ids = ?existing.iter().map(|id| id.0).collect::<Vec<_>>(),
                "message already stored"
            );
            0
        }
        Outcome::Refused(refusal) => {
            tracing::warn!(
                outcome = "refused",
                kind = ?refusal.kind,
                "{}: exit 65, the MTA bounces the message",
                refusal.reason
            );
            EX_DATAERR
        }
        Outcome::Unavailable(error) | Outcome::Failed(error) => {
            tracing::error!(
                outcome = "tempfail",
                "{error}: exit 75, the MTA retries later"
            );
            EX_TEMPFAIL
        }
    }
}
