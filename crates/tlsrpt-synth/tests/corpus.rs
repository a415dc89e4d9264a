//! The generator's promises: reproducible bytes, reports the real parser reads back exactly,
//! and the shape the benchmark and demo datasets rely on.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use chrono::{Days, NaiveDate};
use flate2::read::GzDecoder;
use tlsrpt_core::report::parse_report;
use tlsrpt_core::{IpValue, PolicyType, ResultType};
use tlsrpt_synth::{MAX_DETAILS, Options, OptionsError, SynthFile};

fn json_of(file: &SynthFile) -> Vec<u8> {
    if file.file_name.ends_with(".json.gz") {
        let mut json = Vec::new();
        GzDecoder::new(&file.bytes[..])
            .read_to_end(&mut json)
            .expect("valid gzip");
        json
    } else {
        assert!(file.file_name.ends_with(".json"), "{}", file.file_name);
        file.bytes.clone()
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let digest = |seed| -> Vec<(String, Vec<u8>)> {
        tlsrpt_synth::corpus(seed, 400)
            .map(|f| (f.file_name, f.bytes))
            .collect()
    };
    let first = digest(1);
    assert_eq!(first, digest(1));
    assert_ne!(first, digest(2));
}

#[test]
fn every_report_parses_back_to_the_generated_model() {
    let mut checked = 0;
    for seed in [1, 2, 3] {
        let options = Options {
            seed,
            count: 2_000,
            days: 7,
            ..Options::default()
        };
        for file in options.corpus().expect("valid options") {
            let parsed =
                parse_report(&json_of(&file)).unwrap_or_else(|e| panic!("{}: {e}", file.file_name));
            assert_eq!(parsed.report, file.report, "{}", file.file_name);
            checked += 1;
        }
    }
    assert_eq!(checked, 6_000);
}

/// File names follow RFC 8460 §5.1 and agree with the JSON, which is authoritative (§5.6).
#[test]
fn file_names_follow_rfc8460_5_1_and_are_unique() {
    let mut names = HashSet::new();
    for file in tlsrpt_synth::corpus(5, 3_000) {
        let (stem, _) = file.file_name.split_once(".json").expect("json extension");
        let parts: Vec<&str> = stem.split('!').collect();
        assert_eq!(parts.len(), 5, "{}", file.file_name);
        let [sender, domain, begin, end, id] = parts[..] else {
            unreachable!()
        };
        if let Some(contact) = file.report.contact_domain() {
            assert_eq!(sender, contact);
        }
        // The recipient domain, or for DANE its MX hosts, the TLSA base domains (§1.1).
        let suffix = format!(".{domain}");
        assert!(
            file.report
                .policy_domains()
                .iter()
                .all(|d| *d == domain || d.ends_with(&suffix)),
            "{}",
            file.file_name
        );
        assert_eq!(
            begin.parse::<i64>().unwrap(),
            file.report.date_range.start.timestamp()
        );
        assert!(end.parse::<i64>().unwrap() >= file.report.date_range.end.timestamp() - 1);
        assert!(!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(
            names.insert(file.file_name.clone()),
            "duplicate {}",
            file.file_name
        );
    }
}

#[test]
fn default_corpus_has_the_documented_shape() {
    let options = Options::default();
    let start = options.start;
    let mut bytes = 0usize;
    let mut gzipped = 0usize;
    let mut orgs: BTreeMap<String, usize> = BTreeMap::new();
    let mut days: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    let mut policy_counts = [0usize; 5];
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    let (mut max_details, mut ipv6, mut millions, mut tlsa, mut no_policy) = (0, 0, 0, 0, 0);
    let mut keys = HashSet::new();
    for file in options.corpus().expect("defaults are valid") {
        bytes += file.bytes.len();
        gzipped += usize::from(file.file_name.ends_with(".gz"));
        let report = &file.report;
        *orgs
            .entry(report.organization_name.clone().unwrap())
            .or_default() += 1;
        *days
            .entry(report.date_range.start.date_naive())
            .or_default() += 1;
        policy_counts[report.policies.len()] += 1;
        assert!(keys.insert(tlsrpt_core::report::dedup_key(report)));
        for entry in &report.policies {
            tlsa += usize::from(entry.policy.policy_type == PolicyType::Tlsa);
            no_policy += usize::from(entry.policy.policy_type == PolicyType::NoPolicyFound);
            millions += usize::from(entry.summary.total_successful_session_count >= 1_000_000);
            max_details = max_details.max(entry.failure_details.len());
            for detail in &entry.failure_details {
                *types
                    .entry(detail.result_type.as_str().to_owned())
                    .or_default() += 1;
                ipv6 += usize::from(matches!(
                    detail.sending_mta_ip,
                    Some(IpValue::Addr(ip)) if ip.is_ipv6()
                ));
            }
        }
    }
    let count = options.count;
    // "About 14 MB on disk" (docs/PERFORMANCE.md).
    assert!((12_000_000..16_000_000).contains(&bytes), "{bytes} bytes");
    assert!(
        gzipped.abs_diff(count / 2) < count / 20,
        "{gzipped} gzipped"
    );
    // 30 consecutive days, evenly filled.
    let expected: Vec<NaiveDate> = (0..30).map(|d| start + Days::new(d)).collect();
    assert_eq!(days.keys().copied().collect::<Vec<_>>(), expected);
    assert!(days.values().all(|&n| n.abs_diff(count / 30) <= 1));
    // Google sends most, then Microsoft; small senders exist.
    let share = |org: &str| orgs[org] as f64 / count as f64;
    assert!((0.25..0.45).contains(&share("Google LLC")), "{orgs:?}");
    assert!(
        (0.15..0.35).contains(&share("Microsoft Corporation")),
        "{orgs:?}"
    );
    assert!(orgs.len() > 20, "{orgs:?}");
    // 1–4 policies, mostly one; every policy type occurs.
    assert_eq!(policy_counts[0], 0);
    assert!(
        policy_counts[1] > count * 8 / 10 && policy_counts[4] > 0,
        "{policy_counts:?}"
    );
    assert!(tlsa > 0 && no_policy > 0);
    // 0–20 failure details, mostly certificate, STARTTLS and policy-fetch trouble.
    assert_eq!(max_details, MAX_DETAILS);
    let total: usize = types.values().sum();
    let common: usize = [
        ResultType::CertificateExpired,
        ResultType::CertificateHostMismatch,
        ResultType::CertificateNotTrusted,
        ResultType::StarttlsNotSupported,
        ResultType::StsPolicyFetchError,
    ]
    .iter()
    .map(|t| types.get(t.as_str()).copied().unwrap_or(0))
    .sum();
    assert!(common * 10 > total * 6, "{types:?}");
    assert_eq!(types.len(), ResultType::KNOWN.len(), "{types:?}");
    assert!(ipv6 > 0 && millions > 0);
}

#[test]
fn refuses_more_reports_a_day_than_reporters_times_domains() {
    let options = Options {
        count: 10_000,
        days: 1,
        domains: Some(5),
        ..Options::default()
    };
    assert!(matches!(
        options.corpus().err(),
        Some(OptionsError::TooFewDomains {
            per_day: 10_000,
            ..
        })
    ));
}

#[test]
fn months_of_few_domains_for_dashboards() {
    let options = Options {
        count: 3_000,
        days: 180,
        domains: Some(12),
        ..Options::default()
    };
    let files: Vec<SynthFile> = options.corpus().expect("valid options").collect();
    let domains: HashSet<&str> = files
        .iter()
        .map(|f| f.file_name.split('!').nth(1).unwrap())
        .collect();
    assert_eq!(domains.len(), 12, "{domains:?}");
    let first = files.first().unwrap().report.date_range.start;
    let last = files.last().unwrap().report.date_range.start;
    assert_eq!((last - first).num_days(), 179);
}
