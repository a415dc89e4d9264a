//! Container extraction against the real-sender corpus and crafted hostile inputs.
//!
//! Real messages come from `tests/fixtures/corpus/` (origins in /work/shared/corpus/SOURCES.md
//! and that folder), crafted ones from `tests/fixtures/extract/` (see its README). Binary
//! containers (zip, bombs) are built here, so each test shows exactly what it feeds in.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::sample::Index;
use tlsrpt_core::extract::{
    ContainerKind, ExtractError, ExtractErrorKind, ExtractedReport, Limits, MessageMeta,
    cross_check, extract, split_mbox,
};
use tlsrpt_core::{DiagnosticCode, report::parse_report};
use zip::write::{SimpleFileOptions, ZipWriter};

use ContainerKind::{Gzip, Mbox, Message, Zip};

const REPORT: &[u8] = br#"{"organization-name":"T","report-id":"r1","policies":[]}"#;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("corpus").join(name)).unwrap()
}

fn crafted(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("extract").join(name)).unwrap()
}

fn limited(max_decompressed: u64) -> Limits {
    Limits { max_decompressed }
}

fn one(input: &[u8]) -> ExtractedReport {
    let mut reports = extract(input, &Limits::default()).unwrap();
    assert_eq!(reports.len(), 1, "expected exactly one report");
    reports.pop().unwrap()
}

fn failure(input: &[u8], limits: &Limits) -> ExtractError {
    extract(input, limits).expect_err("expected extraction to fail")
}

fn report_id(report: &ExtractedReport) -> String {
    let json: serde_json::Value = serde_json::from_slice(&report.json).unwrap();
    json["report-id"].as_str().unwrap().to_owned()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in entries {
        if let Some(directory) = name.strip_suffix('/') {
            writer
                .add_directory(directory, SimpleFileOptions::default())
                .unwrap();
        } else {
            writer
                .start_file(*name, SimpleFileOptions::default())
                .unwrap();
            writer.write_all(content).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}

/// A multipart/report message whose report part has `content_type`, `name` and base64 body.
fn mail_with_part(content_type: &str, name: &str, body: &[u8]) -> Vec<u8> {
    let encoded = base64_lines(body);
    format!(
        "From: r@sender.example\r\nSubject: Report Domain: example.net Submitter: \
         sender.example Report-ID: <r1@sender.example>\r\n\
         Content-Type: multipart/report; report-type=tlsrpt; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nA report.\r\n\
         --b\r\nContent-Type: {content_type}\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b--\r\n"
    )
    .into_bytes()
}

/// Base64 (RFC 4648) in 76-character lines, as MIME writes it; small enough to not need a crate.
fn base64_lines(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in data.chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |bits, (i, &b)| bits | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            let symbol = if i <= chunk.len() {
                ALPHABET[(bits >> (18 - 6 * i) & 63) as usize]
            } else {
                b'='
            };
            text.push(char::from(symbol));
        }
    }
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(76)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    lines.join("\r\n")
}

/// A gzip member that inflates to `1 + 258 * runs` zero bytes, written by hand: compressing
/// 200 MB with the unoptimised test build of zlib-rs would take over a minute. It is one
/// fixed-Huffman deflate block (RFC 1951 §3.2.6): a literal 0, then `runs` copies of
/// <length 258, distance 1>, then end-of-block. The trailer's CRC is a dummy: a correct
/// reader gives up long before it gets there, so a wrong one fails with BadGzip instead.
fn zero_bomb(runs: usize) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.value(1, 1); // BFINAL
    bits.value(0b01, 2); // BTYPE: fixed Huffman codes
    bits.code(0b0011_0000, 8); // literal 0
    for _ in 0..runs {
        bits.code(0b1100_0101, 8); // length code 285: 258 bytes
        bits.code(0b00000, 5); // distance code 0: distance 1
    }
    bits.code(0b000_0000, 7); // end of block
    let size = (1 + 258 * runs as u64) as u32;
    let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    member.extend(bits.finish());
    member.extend([0; 4]);
    member.extend(size.to_le_bytes());
    member
}

/// Deflate's bit order: values are packed least-significant bit first, Huffman codes most
/// significant bit first (RFC 1951 §3.1.1).
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    used: u32,
}

impl Bits {
    fn value(&mut self, value: u32, width: u32) {
        (0..width).for_each(|i| self.bit(value >> i & 1));
    }

    fn code(&mut self, code: u32, width: u32) {
        (0..width).rev().for_each(|i| self.bit(code >> i & 1));
    }

    fn bit(&mut self, bit: u32) {
        if self.used.is_multiple_of(8) {
            self.bytes.push(0);
        }
        *self.bytes.last_mut().unwrap() |= (bit as u8) << (self.used % 8);
        self.used += 1;
    }

    fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Counts live heap bytes, so the bomb test can show that memory follows the limit, not
/// the bomb. Other tests in this binary allocate too; their share is small and bounded.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: u64 = 1024 * 1024;

/// What each corpus message must yield: the report's id and the message's metadata.
struct Expected {
    file: &'static str,
    report_id: &'static str,
    file_name: &'static str,
    meta: MessageMeta,
}

fn meta(fields: [Option<&str>; 7]) -> MessageMeta {
    let [
        domain,
        submitter,
        subject_report_id,
        message_id,
        from,
        subject,
        date,
    ] = fields.map(|field| field.map(str::to_owned));
    MessageMeta {
        tls_report_domain: domain,
        tls_report_submitter: submitter,
        subject_report_id,
        message_id,
        from,
        subject,
        date,
    }
}

fn corpus_expectations() -> Vec<Expected> {
    vec![
        Expected {
            file: "google-2022.eml",
            report_id: "2022-09-15T00:00:00Z_test.xmox.nl",
            file_name: "google.com!test.xmox.nl!1663200000!1663286399!001.json.gz",
            meta: meta([
                Some("test.xmox.nl"),
                Some("google.com"),
                Some("2022.09.15T00.00.00Z+test.xmox.nl@google.com"),
                Some("000000000000f47cc505e8c8905c@google.com"),
                Some("noreply-smtp-tls-reporting@google.com"),
                Some(
                    "Report Domain: test.xmox.nl Submitter: google.com \
                     Report-ID: <2022.09.15T00.00.00Z+test.xmox.nl@google.com>",
                ),
                Some("Fri, 16 Sep 2022 03:10:06 -0700"),
            ]),
        },
        Expected {
            file: "google-2024-gateway-banner.eml",
            report_id: "2024-09-03T00:00:00Z_cardinalhealth.ca",
            file_name: "google.com!cardinalhealth.ca!1725321600!1725407999!001.json.gz",
            meta: meta([
                Some("cardinalhealth.ca"),
                Some("google.com"),
                Some("2024.09.03T00.00.00Z+cardinalhealth.ca@google.com"),
                Some("66d83c20.050a0220.a0566.1e8dtls@google.com"),
                Some("noreply-smtp-tls-reporting@google.com"),
                Some(
                    "Report Domain: cardinalhealth.ca Submitter: google.com \
                     Report-ID: <2024.09.03T00.00.00Z+cardinalhealth.ca@google.com>",
                ),
                Some("Wed, 04 Sep 2024 03:53:20 -0700"),
            ]),
        },
        Expected {
            file: "microsoft-2023-no-timezone.eml",
            report_id: "133198585438131172+test.xmox.nl",
            file_name: "microsoft.com!test.xmox.nl!1673308800!1673395199!133198585438131172.json.gz",
            meta: meta([
                Some("test.xmox.nl"),
                Some("microsoft.com"),
                Some("133198585438131172+test.xmox.nl"),
                Some("133198585438131172+test.xmox.nl@test.xmox.nl"),
                Some("tlsrpt-noreply@microsoft.com"),
                Some(
                    "Report Domain: test.xmox.nl Submitter: microsoft.com Report-ID: \
                     133198585438131172+test.xmox.nl",
                ),
                Some("Fri, 3 Feb 2023 05:09:22 +0000"),
            ]),
        },
        Expected {
            file: "synthetic-rpt01.eml",
            report_id: "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
            file_name: "mail.sender.example!example.com!1013662812!1013749130.json.gz",
            meta: meta([
                Some("example.net"),
                Some("mail.sender.example.com"),
                Some("735ff.e317+bf22029@example.net"),
                None,
                Some("tlsrpt@mail.sender.example.com"),
                Some(
                    "Report Domain: example.net Submitter: mail.sender.example.com \
                     Report-ID: <735ff.e317+bf22029@example.net>",
                ),
                Some("Fri, May 09 2017 16:54:30 -0800"),
            ]),
        },
    ]
}

#[test]
fn every_corpus_message_yields_its_report_and_headers() {
    let expectations = corpus_expectations();
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures().join("corpus"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    on_disk.sort();
    let mut expected: Vec<&str> = expectations.iter().map(|e| e.file).collect();
    expected.sort();
    assert_eq!(
        on_disk, expected,
        "every corpus message needs an expectation"
    );

    for case in &expectations {
        let report = one(&corpus(case.file));
        assert_eq!(report_id(&report), case.report_id, "{}", case.file);
        assert_eq!(
            report.file_name.as_deref(),
            Some(case.file_name),
            "{}",
            case.file
        );
        assert_eq!(report.layers, [Message, Gzip], "{}", case.file);
        assert_eq!(report.message.as_ref(), Some(&case.meta), "{}", case.file);
        assert_eq!(report.diagnostics, [], "{}", case.file);
    }
}

/// Google and Microsoft agree with themselves once the Report-ID re-spelling is allowed
/// for; the synthetic sample (RFC 8460 §5.3.1-like) disagrees in all four places.
#[test]
fn corpus_cross_check() {
    for case in corpus_expectations() {
        let found = one(&corpus(case.file));
        let parsed = parse_report(&found.json).unwrap();
        let mismatches = cross_check(
            found.message.as_ref().unwrap(),
            found.file_name.as_deref(),
            &parsed.report,
        );
        let paths: Vec<&str> = mismatches.iter().map(|d| d.path.as_str()).collect();
        let expected: &[&str] = match case.file {
            "synthetic-rpt01.eml" => &[
                "TLS-Report-Domain",
                "TLS-Report-Submitter",
                "Subject",
                "filename",
            ],
            _ => &[],
        };
        assert_eq!(paths, expected, "{}", case.file);
        assert!(
            mismatches
                .iter()
                .all(|d| d.code == DiagnosticCode::HeaderMismatch)
        );
    }
}

/// Google 2024 through a Cisco gateway: `application/tlsrpt+gzip; ` with a trailing `;`.
#[test]
fn trailing_semicolon_in_content_type() {
    let raw = corpus("google-2024-gateway-banner.eml");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Content-Type: application/tlsrpt+gzip; \n"));
    assert_eq!(one(&raw).layers, [Message, Gzip]);
}

#[test]
fn truncated_report_part_names_the_part() {
    let input = gz(REPORT);
    let name = "sender.example!example.net!1773446400!1773532799!001.json.gz";
    let mail = mail_with_part("application/tlsrpt+gzip", name, &input[..input.len() - 6]);
    let error = failure(&mail, &Limits::default());
    assert!(
        matches!(error.kind, ExtractErrorKind::BadGzip(_)),
        "{error}"
    );
    assert_eq!(error.location, format!("part 2 {name:?}"));
}

#[test]
fn bare_json_keeps_its_byte_order_mark() {
    let with_bom = [b"\xef\xbb\xbf".as_slice(), REPORT].concat();
    let report = one(&with_bom);
    assert_eq!(report.json, with_bom);
    assert_eq!(report.layers, []);
    assert_eq!(report.message, None);
}

#[test]
fn gzip_with_trailing_garbage_is_read_with_a_diagnostic() {
    let mut input = gz(REPORT);
    input.extend_from_slice(b"garbage\n");
    let report = one(&input);
    assert_eq!(report.json, REPORT);
    assert_eq!(report.layers, [Gzip]);
    assert_eq!(report.diagnostics.len(), 1);
    assert_eq!(report.diagnostics[0].code, DiagnosticCode::TrailingData);
}

#[test]
fn truncated_gzip_is_an_error() {
    let input = gz(REPORT);
    let error = failure(&input[..input.len() - 6], &Limits::default());
    assert!(
        matches!(error.kind, ExtractErrorKind::BadGzip(_)),
        "{error}"
    );
    assert_eq!(error.location, "");
}

#[test]
fn zero_bomb_is_a_valid_deflate_stream() {
    let bomb = zero_bomb(3);
    let mut decoder = flate2::read::DeflateDecoder::new(&bomb[10..]);
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut decoder, &mut out).unwrap();
    assert_eq!(out, vec![0; 1 + 258 * 3]);
}

#[test]
fn gzip_bomb_stops_at_a_small_limit() {
    let bomb = zero_bomb(200_000_000 / 258);
    assert!(bomb.len() < 2 * MIB as usize);
    assert_eq!(
        failure(&bomb, &limited(MIB)).kind,
        ExtractErrorKind::TooLarge { limit: MIB }
    );
}

/// At the default 50 MiB limit a 200 MB bomb costs memory in proportion to the limit, not
/// the bomb: the output buffer doubles up to 64 MiB while the 32 MiB one is copied over
/// (about 96 MiB). It takes seconds in a debug build unless zlib-rs is optimised in the dev
/// profile.
#[test]
fn gzip_bomb_at_the_default_limit_uses_bounded_memory() {
    let bomb = zero_bomb(200_000_000 / 258);
    let limits = Limits::default();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let error = failure(&bomb, &limits);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(
        error.kind,
        ExtractErrorKind::TooLarge {
            limit: limits.max_decompressed
        }
    );
    assert!(
        (peak as u64) < 2 * limits.max_decompressed + 16 * MIB,
        "peak {peak} bytes"
    );
}

#[test]
fn zip_with_one_report() {
    let report = one(&zip_of(&[("report.json", REPORT)]));
    assert_eq!(report.json, REPORT);
    assert_eq!(report.layers, [Zip]);
    assert_eq!(report.file_name.as_deref(), Some("report.json"));
}

/// Directories, Finder's `__MACOSX/` forks and non-report files are skipped; names are
/// kept as given, never used as paths.
#[test]
fn zip_with_two_reports_and_clutter() {
    let archive = zip_of(&[
        ("reports/", b""),
        ("reports/../../a.json.gz", &gz(REPORT)),
        ("__MACOSX/reports/._a.json.gz", &gz(REPORT)),
        ("README.txt", b"Reports for March"),
        ("reports/b.json", REPORT),
    ]);
    let reports = extract(&archive, &Limits::default()).unwrap();
    let found: Vec<(Option<&str>, &[ContainerKind])> = reports
        .iter()
        .map(|r| (r.file_name.as_deref(), r.layers.as_slice()))
        .collect();
    assert_eq!(
        found,
        [
            (Some("reports/../../a.json.gz"), [Zip, Gzip].as_slice()),
            (Some("reports/b.json"), [Zip].as_slice()),
        ]
    );
}

#[test]
fn zip_bomb_is_stopped_and_named() {
    let archive = zip_of(&[("bomb.json", &vec![b' '; MIB as usize])]);
    let error = failure(&archive, &limited(64 * 1024));
    assert_eq!(error.kind, ExtractErrorKind::TooLarge { limit: 64 * 1024 });
    assert_eq!(error.location, "zip entry \"bomb.json\"");
}

/// The limit is per submission: many entries that each fit still cannot add up past it.
#[test]
fn many_small_entries_share_one_budget() {
    let entry = [REPORT, &[b' '; 40_000]].concat();
    let entries: Vec<(String, &[u8])> = (0..5)
        .map(|i| (format!("{i}.json"), entry.as_slice()))
        .collect();
    let named: Vec<(&str, &[u8])> = entries.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    let archive = zip_of(&named);
    assert_eq!(extract(&archive, &limited(250_000)).unwrap().len(), 5);
    let error = failure(&archive, &limited(150_000));
    assert_eq!(error.kind, ExtractErrorKind::TooLarge { limit: 150_000 });
    assert_eq!(error.location, "zip entry \"3.json\"");
}

#[test]
fn zip_without_report() {
    let archive = zip_of(&[("notes.txt", b"nothing here"), ("empty/", b"")]);
    assert_eq!(
        failure(&archive, &Limits::default()).kind,
        ExtractErrorKind::NoReportInZip
    );
}

#[test]
fn damaged_zip() {
    let mut archive = zip_of(&[("a.json", REPORT)]);
    archive.truncate(archive.len() / 2);
    let error = failure(&archive, &Limits::default());
    assert!(matches!(error.kind, ExtractErrorKind::BadZip(_)), "{error}");
}

#[test]
fn zip_in_a_message() {
    let archive = zip_of(&[("inner.json.gz", &gz(REPORT))]);
    let report = one(&mail_with_part("application/zip", "reports.zip", &archive));
    assert_eq!(report.layers, [Message, Zip, Gzip]);
    assert_eq!(report.file_name.as_deref(), Some("inner.json.gz"));
    let error = failure(
        &mail_with_part(
            "application/zip",
            "reports.zip",
            &zip_of(&[("b.json", &[b' '; 5000])]),
        ),
        &limited(1000),
    );
    assert_eq!(
        error.location,
        "part 2 \"reports.zip\" > zip entry \"b.json\""
    );
}

#[test]
fn non_report_mail() {
    assert_eq!(
        failure(&crafted("non-report.eml"), &Limits::default()).kind,
        ExtractErrorKind::NoReportInMessage
    );
}

#[test]
fn single_part_message_with_base64_gzip_body() {
    let report = one(&crafted("single-part-base64-gzip.eml"));
    assert_eq!(report_id(&report), "single-part@mail.sender.example");
    assert_eq!(report.layers, [Message, Gzip]);
    assert_eq!(report.file_name, None);
    let meta = report.message.unwrap();
    assert_eq!(
        meta.subject_report_id.as_deref(),
        Some("single-part@mail.sender.example")
    );
    assert_eq!(meta.tls_report_domain.as_deref(), Some("example.net"));
}

#[test]
fn octet_stream_part_is_sniffed() {
    let report = one(&crafted("octet-stream-part.eml"));
    assert_eq!(report_id(&report), "octet-stream@mail.sender.example");
    assert_eq!(report.layers, [Message, Gzip]);
    assert_eq!(report.file_name.as_deref(), Some("report"));
}

#[test]
fn labelled_part_that_is_not_a_report() {
    let mail = mail_with_part("application/tlsrpt+gzip", "r.json.gz", b"%PDF-1.4 not gzip");
    let error = failure(&mail, &Limits::default());
    assert_eq!(error.kind, ExtractErrorKind::UnrecognisedContent);
    assert_eq!(error.location, "part 2 \"r.json.gz\"");
}

/// A report forwarded as an attachment: the inner message's headers describe it.
#[test]
fn forwarded_report() {
    let inner = String::from_utf8(corpus("google-2022.eml")).unwrap();
    let outer = format!(
        "From: admin@example.net\r\nSubject: Fwd: TLS report\r\n\
         Content-Type: multipart/mixed; boundary=outer\r\n\r\n\
         --outer\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
         --outer\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--outer--\r\n"
    );
    let report = one(outer.as_bytes());
    assert_eq!(report.layers, [Message, Message, Gzip]);
    let meta = report.message.unwrap();
    assert_eq!(
        meta.from.as_deref(),
        Some("noreply-smtp-tls-reporting@google.com")
    );
}

#[test]
fn mbox_with_three_messages() {
    let mbox = crafted("three-reports.mbox");
    let reports = extract(&mbox, &Limits::default()).unwrap();
    let ids: Vec<String> = reports.iter().map(report_id).collect();
    assert_eq!(
        ids,
        [
            "mbox-1@mail.sender.example",
            "mbox-2@mail.sender.example",
            "mbox-3@mail.sender.example"
        ]
    );
    assert!(reports.iter().all(|r| r.layers == [Mbox, Message, Gzip]));
    let second = String::from_utf8(split_mbox(&mbox).nth(1).unwrap()).unwrap();
    assert!(second.contains("\nFrom the sender: this line was escaped"));
    assert!(!second.contains(">From"));
}

#[test]
fn mbox_skips_messages_without_reports() {
    let mbox = [
        b"From alice@example.org Sun Mar 15 09:00:00 2026\n".as_slice(),
        &crafted("non-report.eml"),
        b"\n",
        &crafted("three-reports.mbox"),
    ]
    .concat();
    assert_eq!(extract(&mbox, &Limits::default()).unwrap().len(), 3);
    let only_non_report = &mbox[..mbox.len() - crafted("three-reports.mbox").len()];
    let error = failure(only_non_report, &Limits::default());
    assert_eq!(error.kind, ExtractErrorKind::NoReportInMessage);
    assert_eq!(error.location, "message 1");
}

#[test]
fn empty_and_unknown_input() {
    assert_eq!(
        failure(b"", &Limits::default()).kind,
        ExtractErrorKind::Empty
    );
    let random = [0x8f, 0x03, 0xd2, 0x5a, 0x00, 0xff, 0x17, 0x42, 0x9c, 0xe1];
    assert_eq!(
        failure(&random, &Limits::default()).kind,
        ExtractErrorKind::UnrecognisedContent
    );
    assert_eq!(
        failure(&gz(b""), &Limits::default()).kind,
        ExtractErrorKind::Empty
    );
}

#[test]
fn nesting_is_bounded() {
    let four = (0..4).fold(REPORT.to_vec(), |inner, _| gz(&inner));
    assert_eq!(one(&four).layers, [Gzip; 4]);
    assert_eq!(
        failure(&gz(&four), &Limits::default()).kind,
        ExtractErrorKind::TooDeep(4)
    );
}

/// Every fixture and a few built containers, for the mutation properties.
static SAMPLES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut samples: Vec<Vec<u8>> = corpus_expectations()
        .iter()
        .map(|case| corpus(case.file))
        .collect();
    for name in [
        "non-report.eml",
        "octet-stream-part.eml",
        "single-part-base64-gzip.eml",
        "three-reports.mbox",
    ] {
        samples.push(crafted(name));
    }
    samples.push(gz(REPORT));
    samples.push(zip_of(&[("a.json.gz", &gz(REPORT)), ("b.json", REPORT)]));
    samples
});

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = extract(&input, &limited(MIB));
    }

    #[test]
    fn never_panics_on_truncations(sample in any::<Index>(), cut in any::<Index>()) {
        let input = sample.get(&SAMPLES);
        let _ = extract(&input[..cut.index(input.len() + 1)], &limited(MIB));
    }

    #[test]
    fn never_panics_on_a_changed_byte(sample in any::<Index>(), at in any::<Index>(), byte in any::<u8>()) {
        let mut input = sample.get(&SAMPLES).clone();
        let at = at.index(input.len());
        input[at] = byte;
        let _ = extract(&input, &limited(MIB));
    }
}
