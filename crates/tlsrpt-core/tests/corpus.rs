//! Golden tests over `tests/fixtures/` (origins in `tests/fixtures/README.md`).
//!
//! Every real-sender report in `corpus/` and every crafted one in `crafted/` is parsed
//! (`.eml` files through container extraction first) and compared with a reviewed insta
//! snapshot of the `--format json` model, diagnostics included. Every file in `rejects/`
//! must be rejected with exactly the message listed here. Guards make sure each directory
//! actually ran, so an empty or misplaced fixture folder cannot pass silently.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tlsrpt_core::ParseErrorKind::{self, Invalid, NotAReport, NotJson};
use tlsrpt_core::extract::{ContainerKind, Limits, MessageMeta, cross_check, extract};
use tlsrpt_core::report::parse_report;
use tlsrpt_core::{Diagnostic, ParsedReport};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// Every file in a fixture directory, sorted by name.
fn fixture_files(name: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(fixture_dir(name))
        .unwrap_or_else(|error| panic!("fixture directory {name}: {error}"))
        .map(|entry| entry.expect("readable directory entry").path())
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|name| name.to_str())
        .expect("UTF-8 file name")
}

/// A parse result as snapshotted: the model and its diagnostics (the `--format json`
/// shape, in model field order), or the error.
#[derive(Serialize)]
#[serde(untagged)]
enum Outcome {
    Parsed(ParsedReport),
    Rejected {
        error: ParseErrorKind,
        message: String,
    },
}

fn parsed(json: &[u8]) -> Outcome {
    match parse_report(json) {
        Ok(parsed) => Outcome::Parsed(parsed),
        Err(error) => Outcome::Rejected {
            error: error.kind,
            message: error.to_string(),
        },
    }
}

/// One report found in a mailed fixture: where it was found, the message headers, how those
/// headers compare with the report (RFC 8460 §5.6), and the parse.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Found {
    file_name: Option<String>,
    layers: Vec<ContainerKind>,
    message: Option<MessageMeta>,
    container_diagnostics: Vec<Diagnostic>,
    header_check: Vec<Diagnostic>,
    parsed: Outcome,
}

fn extracted(message: &[u8]) -> Vec<Found> {
    let reports = extract(message, &Limits::default()).expect("extractable message");
    reports
        .into_iter()
        .map(|found| {
            let header_check = match (&found.message, parse_report(&found.json)) {
                (Some(meta), Ok(parsed)) => {
                    cross_check(meta, found.file_name.as_deref(), &parsed.report)
                }
                _ => Vec::new(),
            };
            Found {
                parsed: parsed(&found.json),
                file_name: found.file_name,
                layers: found.layers,
                message: found.message,
                container_diagnostics: found.diagnostics,
                header_check,
            }
        })
        .collect()
}

/// Snapshots every file of a fixture directory; returns how many ran.
fn snapshot_all(directory: &str) -> usize {
    let files = fixture_files(directory);
    let mut ran = 0;
    for path in &files {
        let bytes = fs::read(path).expect("readable fixture");
        let name = file_name(path);
        let snapshot = format!("{directory}-{name}");
        match path.extension().and_then(|ext| ext.to_str()) {
            Some("json") => insta::assert_json_snapshot!(snapshot, parsed(&bytes)),
            Some("eml") => insta::assert_json_snapshot!(snapshot, extracted(&bytes)),
            _ => panic!("{directory}/{name}: no rule for this kind of fixture"),
        }
        ran += 1;
    }
    assert!(ran > 0, "no fixtures in {directory}/");
    assert_eq!(ran, files.len(), "every file in {directory}/ must run");
    ran
}

#[test]
fn real_sender_corpus_matches_snapshots() {
    snapshot_all("corpus");
}

#[test]
fn crafted_reports_match_snapshots() {
    snapshot_all("crafted");
}

/// Each crafted reject, its error class, and the exact error text.
const REJECTS: &[(&str, ParseErrorKind, &str)] = &[
    (
        "dmarc-not-tlsrpt.json",
        NotAReport,
        "none of the RFC 8460 report keys (organization-name, date-range, contact-info, \
         report-id, policies) in the top-level object",
    ),
    (
        "empty.json",
        NotJson,
        "not valid JSON: EOF while parsing a value at line 1 column 0",
    ),
    (
        "end-before-start.json",
        Invalid,
        "date-range.end-datetime: `2026-03-13T00:00:00Z` is not after start-datetime \
         `2026-03-14T00:00:00Z`",
    ),
    (
        "fractional-count.json",
        Invalid,
        "policies[0].summary.total-failure-session-count: count must be a whole number, \
         found 2.5 at line 8 column 88",
    ),
    (
        "negative-count.json",
        Invalid,
        "policies[0].summary.total-failure-session-count: count must not be negative, \
         found -3 at line 8 column 87",
    ),
    (
        "no-date-range.json",
        Invalid,
        "date-range: required field is missing",
    ),
    (
        "not-utf8.json",
        NotJson,
        "not valid JSON: invalid unicode code point at line 2 column 33",
    ),
    (
        "policies-not-array.json",
        Invalid,
        "policies: invalid type: map, expected an array of policy entry objects at line 6 \
         column 14",
    ),
    (
        "policy-without-summary.json",
        Invalid,
        "policies[0].summary: required field is missing",
    ),
    (
        "top-level-array.json",
        NotAReport,
        "invalid type: sequence, expected a TLS-RPT report object at line 1 column 0",
    ),
    (
        "truncated.json",
        NotJson,
        "not valid JSON: EOF while parsing an object at line 23 column 44",
    ),
    (
        "unparseable-date.json",
        Invalid,
        "date-range.start-datetime: `14/03/2026 00:00` is not an RFC 3339 date-time",
    ),
];

#[test]
fn rejects_fail_with_their_exact_message() {
    let files = fixture_files("rejects");
    let mut ran = 0;
    for path in &files {
        let name = file_name(path);
        let &(_, kind, message) = REJECTS
            .iter()
            .find(|(file, _, _)| *file == name)
            .unwrap_or_else(|| panic!("rejects/{name} has no expected error in REJECTS"));
        let bytes = fs::read(path).expect("readable fixture");
        let error = parse_report(&bytes).expect_err(name);
        assert_eq!(
            (error.kind, error.to_string().as_str()),
            (kind, message),
            "{name}"
        );
        ran += 1;
    }
    assert!(ran > 0, "no fixtures in rejects/");
    assert_eq!(
        ran,
        REJECTS.len(),
        "REJECTS lists a file that does not exist"
    );
}
