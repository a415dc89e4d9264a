//! `tlsrpt-hub ingest-mail`: the real binary fed one message on stdin, as an MTA's pipe
//! transport does, with a real SQLite file; the exit status is what the MTA acts on.
//!
//! "Store unavailable" is a database path in a directory that does not exist: SQLite cannot
//! open it (SQLITE_CANTOPEN, temporary like a locked database) and, unlike file permissions,
//! that holds when the tests run as root. The locked-database case of the same
//! `StoreError::Unavailable` is covered through `serve` in serve_http.rs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tlsrpt_store::Origin;

use crate::{corpus, hub, stderr, with_store};

const EX_DATAERR: i32 = 65;
const EX_TEMPFAIL: i32 = 75;

const MAILED_REPORTS: &[&str] = &[
    "google-2022.eml",
    "google-2024-gateway-banner.eml",
    "microsoft-2023-no-timezone.eml",
    "synthetic-rpt01.eml",
];

/// A tempdir with a config accepting every domain, and the database beside it.
struct Hub {
    dir: tempfile::TempDir,
}

impl Hub {
    fn new(config: &str) -> Hub {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hub.toml"), config).unwrap();
        Hub { dir }
    }

    fn accepting() -> Hub {
        Hub::new("unknown_domains = \"accept\"\n")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("hub.db")
    }

    /// Pipes `message` into `ingest-mail` with this hub's config and `db`.
    fn ingest_into(&self, db: &Path, message: &[u8]) -> Output {
        let mut child = hub()
            .args(["-v", "ingest-mail", "--db"])
            .arg(db)
            .arg("--config")
            .arg(self.dir.path().join("hub.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running tlsrpt-hub");
        child.stdin.take().unwrap().write_all(message).unwrap();
        child.wait_with_output().unwrap()
    }

    fn ingest(&self, message: &[u8]) -> Output {
        self.ingest_into(&self.db(), message)
    }
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(corpus(name)).unwrap()
}

#[track_caller]
fn assert_exit(output: &Output, code: i32, log: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{err}");
    assert!(err.contains(log), "expected {log:?} in the log: {err}");
    assert_eq!(err.lines().count(), 1, "one log line per message: {err}");
}

#[test]
fn every_mailed_corpus_report_is_stored_and_a_resend_is_a_duplicate() {
    let hub = Hub::accepting();
    for name in MAILED_REPORTS {
        assert_exit(&hub.ingest(&read(name)), 0, "\"stored\"");
    }
    let again = hub.ingest(&read(MAILED_REPORTS[0]));
    assert_exit(&again, 0, "\"duplicate\"");
    let (counts, submissions) = with_store(&hub.db(), async |store| {
        store.check_integrity().await.unwrap();
        let submissions = store.submissions(None, 100).await.unwrap();
        (store.counts().await.unwrap(), submissions)
    });
    let n = MAILED_REPORTS.len() as u64;
    assert_eq!((counts.submissions, counts.reports), (n, n));
    assert_eq!(counts.duplicates_seen, 1);
    for submission in submissions {
        assert_eq!(submission.origin, Origin::Pipe);
        assert_eq!(submission.source_name.as_deref(), Some("stdin"));
    }
}

#[test]
fn a_mail_without_a_report_bounces() {
    let hub = Hub::accepting();
    let mail = b"From: alice@example.net\r\nTo: tlsrpt@example.com\r\nSubject: hello\r\n\
        Message-ID: <1@example.net>\r\n\r\nJust saying hi, no report attached.\r\n";
    assert_exit(&hub.ingest(mail), EX_DATAERR, "NotAReport");
}

#[test]
fn an_empty_stdin_bounces() {
    assert_exit(&Hub::accepting().ingest(b""), EX_DATAERR, "NotAReport");
}

#[test]
fn a_truncated_gzip_attachment_bounces() {
    let eml = String::from_utf8(read("google-2022.eml")).unwrap();
    // Drop the second half of the base64 body: a gzip stream cut short.
    let start = eml.find("H4sI").unwrap();
    let end = start + eml[start..].find("\r\n--").unwrap();
    let lines: Vec<&str> = eml[start..end].split("\r\n").collect();
    let truncated = format!(
        "{}{}{}",
        &eml[..start],
        lines[..lines.len() / 2].join("\r\n"),
        &eml[end..]
    );
    let hub = Hub::accepting();
    assert_exit(&hub.ingest(truncated.as_bytes()), EX_DATAERR, "Unreadable");
    assert!(counts_are_zero(&hub.db()));
}

fn counts_are_zero(db: &Path) -> bool {
    with_store(db, async |store| store.counts().await.unwrap().reports == 0)
}

#[test]
fn a_report_for_a_domain_not_served_bounces() {
    let hub = Hub::new("unknown_domains = \"reject\"\n[[domains]]\nname = \"example.com\"\n");
    let refused = hub.ingest(&read("google-2022.eml"));
    assert_exit(&refused, EX_DATAERR, "test.xmox.nl");
    assert!(counts_are_zero(&hub.db()));
}

#[test]
fn an_unavailable_store_asks_the_mta_to_retry() {
    let hub = Hub::accepting();
    let missing = hub.dir.path().join("no-such-dir").join("hub.db");
    let output = hub.ingest_into(&missing, &read("google-2022.eml"));
    assert_exit(&output, EX_TEMPFAIL, "database unavailable");
    // The retry, once the database is reachable, stores it.
    assert_exit(&hub.ingest(&read("google-2022.eml")), 0, "\"stored\"");
}

#[test]
fn a_broken_config_file_asks_the_mta_to_retry_instead_of_bouncing() {
    let hub = Hub::new("unknown_domains = \"maybe\"\n");
    let output = hub.ingest(&read("google-2022.eml"));
    // Not assert_exit: the TOML error quotes the bad line over several lines.
    assert_eq!(
        output.status.code(),
        Some(EX_TEMPFAIL),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("unknown variant `maybe`"));
}
