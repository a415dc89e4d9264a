//! DNS discovery records as published in the wild, broken in the ways people break them,
//! with the verdict `check` must give and the exact column of every problem.
//!
//! Rows are the mistakes seen in public record checkers' bug trackers and in DMARC habits
//! carried over to TLSRPT (SPEC §1): spaces after commas, `!10m` size limits, `http:`,
//! quoted values, misplaced versions, policy-file keys in the TXT record.

use proptest::prelude::*;
use serde_json::json;
use tlsrpt_core::policy::{StsMode, StsPolicy};
use tlsrpt_core::record::generate::{
    character_strings, mta_sts_id_from_unix_time, mta_sts_policy, mta_sts_txt, tlsrpt_txt,
};
use tlsrpt_core::record::{
    NoRecordReason, Outcome, ProblemCode, RecordProblem, RuaUri, StsRecord, TlsrptRecord, Verdict,
};

use ProblemCode::*;
use Verdict::{Invalid, Valid, ValidWithWarnings};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Tlsrpt,
    Sts,
}

/// Every error and then every warning as (column, code), each list in column order.
type Found = Vec<(usize, ProblemCode)>;

/// Record type, record text, its verdict and what [`Found`] must be.
type Row = (Kind, &'static str, Verdict, &'static [(usize, ProblemCode)]);

/// One record per line, so the table reads as a table.
#[rustfmt::skip]
const ROWS: &[Row] = &[
    (Kind::Tlsrpt, "v=TLSRPTv1;rua=mailto:reports@example.com", Valid, &[]),
    (Kind::Tlsrpt, "v=TLSRPTv1;rua=https://reports.example.com/v1/tlsrpt;", Valid, &[]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=https://reports.example.com:8443/tlsrpt", Valid, &[]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto:tlsrpt@example.com, mailto:b@example.com", ValidWithWarnings, &[(43, SpaceAroundComma)]),
    (Kind::Tlsrpt, "v=TLSRPTv1;rua=mailto:a@example.com!10m", Invalid, &[(36, SizeSuffix)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=http://example.com/r", Invalid, &[(17, UnsupportedScheme)]),
    (Kind::Tlsrpt, "rua=mailto:a@example.com; v=TLSRPTv1", Invalid, &[(27, VersionNotFirst)]),
    (Kind::Tlsrpt, "v=TLSRPTv1", Invalid, &[(11, MissingRua)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=", Invalid, &[(17, EmptyValue)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua = mailto:a@b.c", Invalid, &[(16, SpaceAroundEquals)]),
    (Kind::Tlsrpt, "v=TLSRPT1; rua=mailto:a@example.com", Invalid, &[(3, WrongVersion)]),
    (Kind::Tlsrpt, "v=tlsrptv1; rua=mailto:a@example.com", Invalid, &[(3, VersionCase)]),
    (Kind::Tlsrpt, "v=TLSRPTv1 ; rua=mailto:a@example.com", Invalid, &[(11, SpaceAfterVersion)]),
    (Kind::Tlsrpt, "v=TLSRPTv1 rua=mailto:a@example.com", Invalid, &[(11, MissingDelimiter)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto:a@b.c; ruf=mailto:x@y.z", ValidWithWarnings, &[(31, DmarcTag)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; p=none; rua=mailto:a@example.com", ValidWithWarnings, &[(13, DmarcTag)]),
    (Kind::Tlsrpt, "v=DMARC1; p=none; rua=mailto:dmarc@example.com", Invalid, &[(3, WrongVersion), (11, DmarcTag)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=tlsrpt@example.com", Invalid, &[(17, MissingScheme)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto:a@example.com mailto:b@example.com", Invalid, &[(37, SpaceInUri)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto:tls rpt@example.com", Invalid, &[(27, SpaceInUri)]),
    (Kind::Tlsrpt, "\"v=TLSRPTv1; rua=mailto:a@example.com\"", Invalid, &[(1, QuotedRecord)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto://tlsrpt@example.com", Invalid, &[(24, InvalidAddress)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=https:/reports.example.com", Invalid, &[(23, MissingHost)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto:tlsrpt@example.com?subject=TLS", ValidWithWarnings, &[(42, MailtoQuery)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", ValidWithWarnings, &[(39, MultipleRua)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto:a@example.com,", Invalid, &[(38, EmptyUri)]),
    (Kind::Tlsrpt, "v=TLSRPTv1;; rua=mailto:a@example.com", Invalid, &[(12, EmptyField)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=MAILTO:a@example.com", ValidWithWarnings, &[(17, UppercaseScheme)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; rua=mailto:a@example.com ", Invalid, &[(37, TrailingWhitespace)]),
    (Kind::Tlsrpt, "v=TLSRPTv1; RUA=mailto:a@example.com", Invalid, &[(37, MissingRua), (13, FieldNameCase)]),
    (Kind::Tlsrpt, "v=TLSRPTv1;\u{a0}rua=mailto:a@example.com", Invalid, &[(12, InvalidCharacter), (12, InvalidFieldName), (38, MissingRua)]),
    (Kind::Sts, "v=STSv1; id=20190429T010101;", Valid, &[]),
    (Kind::Sts, "v=STSv1; id=20160831085700Z;", Valid, &[]),
    (Kind::Sts, "v=STSv1; id=;", Invalid, &[(13, EmptyValue)]),
    (Kind::Sts, "v=STSv1; id=abc-123;", Invalid, &[(16, InvalidId)]),
    (Kind::Sts, "v=STSv1; id=2019-04-29T01:01:01Z;", Invalid, &[(17, InvalidId)]),
    (Kind::Sts, "v=STSv1;", Invalid, &[(9, MissingId)]),
    (Kind::Sts, "v=STSv1 id=20190429", Invalid, &[(8, MissingDelimiter)]),
    (Kind::Sts, "v=STSV1; id=1", Invalid, &[(3, VersionCase)]),
    (Kind::Sts, "v=STSv1; id=20190429T010101; mode=enforce", ValidWithWarnings, &[(30, UnknownField)]),
    (Kind::Sts, "id=20190429T010101; v=STSv1", Invalid, &[(21, VersionNotFirst)]),
];

fn problems(errors: &[RecordProblem], warnings: &[RecordProblem]) -> Found {
    errors
        .iter()
        .chain(warnings)
        .map(|p| (p.column, p.code))
        .collect()
}

fn verdict_and_problems(kind: Kind, text: &str) -> (Verdict, Found, Vec<RecordProblem>) {
    match kind {
        Kind::Tlsrpt => {
            let r = TlsrptRecord::parse(text);
            (
                r.verdict(),
                problems(&r.errors, &r.warnings),
                [r.errors, r.warnings].concat(),
            )
        }
        Kind::Sts => {
            let r = StsRecord::parse(text);
            (
                r.verdict(),
                problems(&r.errors, &r.warnings),
                [r.errors, r.warnings].concat(),
            )
        }
    }
}

#[test]
fn real_world_records() {
    assert!(ROWS.len() >= 20);
    let mut failures = Vec::new();
    for &(kind, text, verdict, expected) in ROWS {
        let (found_verdict, found, all) = verdict_and_problems(kind, text);
        if (found_verdict, found.as_slice()) != (verdict, expected) {
            failures.push(format!("{text:?}\n  expected {verdict:?} {expected:?}\n  found    {found_verdict:?} {found:?}"));
        }
        for problem in all {
            assert!(
                !problem.message.is_empty() && !problem.fix.is_empty(),
                "{problem:?}"
            );
            assert!(
                (1..=text.len() + 1).contains(&problem.column),
                "{text:?}: {problem:?}"
            );
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn space_after_version_is_explained_as_the_prefix_rule() {
    let record = TlsrptRecord::parse("v=TLSRPTv1 ; rua=mailto:a@example.com");
    let message = &record.errors[0].message;
    assert!(
        message.contains("discard") && message.contains("RFC 8460 §3"),
        "{message}"
    );
    assert_eq!(
        record.errors[0].fix,
        "write \"v=TLSRPTv1;\" with no space before ';'"
    );
}

#[test]
fn selection_among_several_rrs() {
    let mixed = TlsrptRecord::select(&[
        vec!["v=spf1 include:_spf.example.com -all"],
        vec!["v=TLSRPTv1; rua=mailto:tls@exa", "mple.com"],
    ]);
    assert_eq!(mixed.outcome, Outcome::Selected { index: 1 });
    assert_eq!(
        mixed.selected().unwrap().rua[0].uri,
        "mailto:tls@example.com"
    );
    assert!(!mixed.records[0].candidate);

    let provider_split = TlsrptRecord::select(&[vec![
        "v=TLSRPTv1; rua=mailto:a@example.com,",
        " mailto:b@example.com",
    ]]);
    let selected = provider_split.selected().unwrap();
    assert_eq!(
        selected.verdict(),
        ValidWithWarnings,
        "strings join with no space added"
    );

    let two = TlsrptRecord::select(&[
        vec!["v=TLSRPTv1; rua=mailto:a@example.com"],
        vec!["v=TLSRPTv1; rua=mailto:b@example.com"],
    ]);
    let Outcome::NoRecord { reason, message } = &two.outcome else {
        panic!("{two:?}")
    };
    assert_eq!(*reason, NoRecordReason::SeveralCandidates);
    assert!(
        message.contains("mailto:a@example.com") && message.contains("mailto:b@example.com"),
        "{message}"
    );

    for near_miss in [
        "v=TLSRPTv1",
        "v=TLSRPTv1 ; rua=mailto:a@example.com",
        "v=tlsrptv1; rua=mailto:a@example.com",
    ] {
        let lookup = TlsrptRecord::select(&[[near_miss]]);
        assert!(lookup.selected().is_none(), "{near_miss}");
        assert_eq!(lookup.records[0].parsed.verdict(), Invalid, "{near_miss}");
    }

    let sts = StsRecord::select(&[vec!["v=STSv1; id=1;"], vec!["v=STSv1; id=2;"]]);
    assert!(sts.selected().is_none());
    let sts = StsRecord::select(&[vec![b"v=STSv1; id=\xff;".to_vec()]]);
    assert_eq!(sts.records[0].parsed.errors[0].code, InvalidCharacter);
}

#[test]
fn json_shape_is_stable() {
    let lookup = TlsrptRecord::select(&[["v=TLSRPTv1;rua=mailto:a@example.com!10m"]]);
    let value = serde_json::to_value(&lookup).unwrap();
    assert_eq!(
        value,
        json!({
            "records": [{
                "text": "v=TLSRPTv1;rua=mailto:a@example.com!10m",
                "candidate": true,
                "parsed": {
                    "rua": [],
                    "extensions": [],
                    "errors": [{
                        "column": 36,
                        "code": "size-suffix",
                        "message": "\"!10m\" is a DMARC-style size limit; TLSRPT has none, and RFC 8460 §3 requires '!' in a URI to be percent-encoded",
                        "fix": "remove \"!10m\"",
                    }],
                    "warnings": [],
                },
            }],
            "outcome": "selected",
            "index": 0,
        })
    );
    let ok = TlsrptRecord::parse("v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.com/x");
    assert_eq!(
        serde_json::to_value(&ok.rua).unwrap(),
        json!([
            {"uri": "mailto:a@example.com", "scheme": "mailto", "addresses": ["a@example.com"]},
            {"uri": "https://r.example.com/x", "scheme": "https", "host": "r.example.com"},
        ])
    );
}

#[test]
fn generated_records_and_policy_round_trip() {
    let rua: Vec<RuaUri> = ["mailto:tlsrpt@example.com", "https://r.example.com/tlsrpt"]
        .iter()
        .map(|uri| RuaUri::parse(uri).unwrap())
        .collect();
    let txt = tlsrpt_txt(&rua).unwrap();
    assert_eq!(TlsrptRecord::parse(&txt).verdict(), Valid);
    assert_eq!(
        TlsrptRecord::select(&[character_strings(&txt)]).outcome,
        Outcome::Selected { index: 0 }
    );

    let sts = mta_sts_txt(&mta_sts_id_from_unix_time(1_795_435_200)).unwrap();
    assert_eq!(sts, "v=STSv1; id=20261123T120000;");
    assert_eq!(StsRecord::parse(&sts).verdict(), Valid);

    let policy =
        mta_sts_policy(&StsMode::Testing, &["mx.example.com.".to_owned()], 86_400).unwrap();
    assert_eq!(
        policy,
        "version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 86400\r\n"
    );
    assert_eq!(StsPolicy::parse(&policy).errors, []);
}

/// Percent-encodes what a mailto URI cannot carry bare: `atext` outside RFC 3986's
/// unreserved and sub-delims (`{`, `|`, `^`, …); `?`, `#` and `/`, which RFC 3986 gives
/// meanings; and `!`, which RFC 8460 §3 requires encoded.
fn encode(local: &str) -> String {
    local
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~$&'*+=".contains(c) {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
}

proptest! {
    #[test]
    fn any_generated_tlsrpt_record_parses_clean(
        locals in prop::collection::vec("[a-zA-Z0-9!#$&'*+/=?^_`{|}~-]{1,12}(\\.[a-z0-9]{1,5}){0,2}", 1..4),
        hosts in prop::collection::vec(prop::collection::vec(label(), 1..4), 1..4),
        https in any::<bool>(),
    ) {
        let uris: Vec<String> = locals
            .iter()
            .zip(hosts.iter().cycle())
            .map(|(local, host)| {
                let host = host.join(".");
                if https { format!("https://{host}/{}", local.len()) } else {
                    format!("mailto:{}@{host}", encode(local))
                }
            })
            .collect();
        let rua: Vec<RuaUri> = uris.iter().map(|uri| RuaUri::parse(uri).unwrap()).collect();
        let txt = tlsrpt_txt(&rua).unwrap();
        let parsed = TlsrptRecord::parse(&txt);
        prop_assert_eq!(parsed.verdict(), Valid, "{} {:?}", txt, parsed);
    }

    #[test]
    fn parsing_never_panics_and_columns_stay_in_the_record(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        let tlsrpt = TlsrptRecord::parse(&bytes);
        let sts = StsRecord::parse(&bytes);
        for problem in tlsrpt.errors.iter().chain(&tlsrpt.warnings).chain(&sts.errors).chain(&sts.warnings) {
            prop_assert!((1..=bytes.len() + 1).contains(&problem.column), "{:?}", problem);
        }
    }

    #[test]
    fn near_valid_records_never_panic(
        prefix in prop::sample::select(vec!["v=TLSRPTv1;", "v=TLSRPTv1 ;", "v=STSv1;", "\"v=TLSRPTv1;", ""]),
        body in "[ \\t;,=!%a-zA-Z0-9:/@.?\"-]{0,60}",
    ) {
        let text = format!("{prefix}{body}");
        let tlsrpt = TlsrptRecord::parse(&text);
        prop_assert_eq!(tlsrpt.verdict() == Invalid, !tlsrpt.errors.is_empty());
        let sts = StsRecord::parse(&text);
        prop_assert_eq!(sts.verdict() == Invalid, !sts.errors.is_empty());
    }
}
