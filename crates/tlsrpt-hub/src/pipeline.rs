//! The one path every submission takes (ARCHITECTURE: Submission → Outcome):
//! extract + parse + cross-check (pure, CPU) → compress raw bytes → store.
//!
//! The CPU half ([`prepare`]) runs on worker threads; the store half is one writer doing group
//! commits. Front ends only translate the result into their own answer (exit status, HTTP
//! status, SMTP reply).

use thiserror::Error;
use tlsrpt_core::extract::{ExtractError, Limits};
use tlsrpt_core::read::{ReadReport, ReportPartError, read_reports};
use tlsrpt_store::{AuthResult, Authentication, NewReport, NewSubmission, RawBlob};

use crate::ingest::Submission;

/// Why (part of) a submission was not stored.
#[derive(Debug, Clone, Error)]
pub enum Rejection {
    /// No report could be found in the submission at all.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// A report part was found but could not be read.
    #[error(transparent)]
    Report(#[from] ReportPartError),
}

/// A submission after the CPU-side work.
#[derive(Debug)]
pub struct Prepared {
    pub source_name: String,
    /// What to store; `None` when no part of the submission was a readable report.
    pub new: Option<NewSubmission>,
    /// Parts that were not readable; a submission can have both readable and bad parts.
    pub rejections: Vec<Rejection>,
}

/// Reads every report in the submission and readies the readable ones for the store.
pub fn prepare(submission: Submission, limits: &Limits) -> Prepared {
    let source_name = submission.source_name;
    let reading = match read_reports(&submission.raw, limits) {
        Ok(reading) => reading,
        Err(error) => {
            return Prepared {
                source_name,
                new: None,
                rejections: vec![error.into()],
            };
        }
    };
    let mut reports = Vec::new();
    let mut rejections = Vec::new();
    for part in reading {
        match part {
            Ok(read) => reports.push(new_report(read)),
            Err(error) => rejections.push(error.into()),
        }
    }
    let new = (!reports.is_empty()).then(|| NewSubmission {
        raw: RawBlob::compress(&submission.raw),
        origin: submission.origin,
        source_name: Some(source_name.clone()),
        received_at: submission.received_at,
        // Judged by the intake after parsing, which knows the submitter (RFC 8460 §3).
        authentication: Authentication::bare(AuthResult::NotChecked),
        quarantined: false,
        reports,
    });
    Prepared {
        source_name,
        new,
        rejections,
    }
}

/// A read report as the store takes it, stamped with the parser that read it.
pub fn new_report(read: ReadReport) -> NewReport {
    NewReport {
        parsed: read.parsed,
        message: read.message,
        file_name: read.file_name,
        parser_version: tlsrpt_core::PARSER_VERSION.to_owned(),
    }
}
