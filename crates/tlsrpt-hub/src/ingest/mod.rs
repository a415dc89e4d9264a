//! Ingest front ends. Each one turns what it receives into [`Submission`]s for the one
//! pipeline (ARCHITECTURE: Submission → Outcome); none of them parses reports itself.

pub mod files;
pub mod http;
pub mod imap;
pub mod smtp;

use chrono::{DateTime, Utc};
use tlsrpt_store::Origin;

/// Bytes as received, with where and when they came from.
#[derive(Debug, Clone)]
pub struct Submission {
    pub raw: Vec<u8>,
    pub origin: Origin,
    /// File path (`path/to/file`, `mbox#3` for the third message of an mbox), peer address or
    /// mailbox: shown in errors and stored with the submission.
    pub source_name: String,
    pub received_at: DateTime<Utc>,
}
