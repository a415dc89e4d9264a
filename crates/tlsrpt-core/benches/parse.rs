//! Parse throughput of `parse_report` against a bare serde_json typed deserialisation of the
//! same bytes, in one run so that machine noise cancels (docs/PERFORMANCE.md).
//!
//! `cargo bench -p tlsrpt-core --bench parse`
//!
//! The target: parsing within 1.5× of the bare baseline. The lenient parser does more (keeps
//! going past type drift, records diagnostics, canonicalises dates, IPs and domains), so some
//! overhead is expected; more than half again would mean it wastes work.

use std::hint::black_box;
use std::io::Read;
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use tlsrpt_core::report::parse_report;

/// Reports in the benchmark corpus: the figure quoted in the issue.
const COUNT: usize = tlsrpt_synth::DEFAULT_COUNT;
/// Rounds per variant; the median is reported.
const ROUNDS: usize = 9;
/// Most parse_report may cost relative to the bare baseline.
const TARGET_RATIO: f64 = 1.5;

/// The baseline: RFC 8460 §4.4 as plain derived structs with every member optional, the least
/// a typed reader does. Owned strings, like the real model, so both allocate alike.
mod bare {
    #![expect(
        dead_code,
        reason = "the fields are the deserialisation work being measured"
    )]

    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub struct Report {
        pub organization_name: Option<String>,
        pub date_range: Option<DateRange>,
        pub contact_info: Option<String>,
        pub report_id: Option<String>,
        pub policies: Vec<PolicyResult>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub struct DateRange {
        pub start_datetime: Option<String>,
        pub end_datetime: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub struct PolicyResult {
        pub policy: Policy,
        pub summary: Summary,
        pub failure_details: Option<Vec<FailureDetail>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub struct Policy {
        pub policy_type: String,
        pub policy_string: Option<Vec<String>>,
        pub policy_domain: Option<String>,
        pub mx_host: Option<Vec<String>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub struct Summary {
        pub total_successful_session_count: Option<u64>,
        pub total_failure_session_count: Option<u64>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub struct FailureDetail {
        pub result_type: String,
        pub sending_mta_ip: Option<String>,
        pub receiving_mx_hostname: Option<String>,
        pub receiving_mx_helo: Option<String>,
        pub receiving_ip: Option<String>,
        pub failed_session_count: Option<u64>,
        pub additional_information: Option<String>,
        pub failure_reason_code: Option<String>,
    }
}

/// The JSON of one file, gunzipped into `buffer` when it starts with the gzip magic (content
/// is sniffed, as the importer does, rather than trusting the name).
fn json<'a>(file: &'a [u8], buffer: &'a mut Vec<u8>) -> &'a [u8] {
    if file.starts_with(&[0x1f, 0x8b]) {
        buffer.clear();
        GzDecoder::new(file)
            .read_to_end(buffer)
            .expect("the generator writes valid gzip");
        buffer
    } else {
        file
    }
}

/// Sessions counted over the corpus: a checksum that both readers saw the same reports.
type Checksum = (u64, u64);

fn gunzip_only(files: &[Vec<u8>]) -> Checksum {
    let mut buffer = Vec::new();
    let bytes = files
        .iter()
        .map(|file| json(file, &mut buffer).len() as u64)
        .sum();
    (bytes, 0)
}

fn bare(files: &[Vec<u8>]) -> Checksum {
    let mut buffer = Vec::new();
    let mut sum = (0, 0);
    for file in files {
        let report: bare::Report =
            serde_json::from_slice(json(file, &mut buffer)).expect("the generator writes JSON");
        for entry in &report.policies {
            sum.0 += entry.summary.total_successful_session_count.unwrap_or(0);
            sum.1 += entry.summary.total_failure_session_count.unwrap_or(0);
        }
        black_box(report);
    }
    sum
}

fn parse(files: &[Vec<u8>]) -> Checksum {
    let mut buffer = Vec::new();
    let mut sum = (0, 0);
    for file in files {
        let parsed = parse_report(json(file, &mut buffer)).expect("generated reports parse");
        sum.0 += parsed.report.total_successful();
        sum.1 += parsed.report.total_failed();
        black_box(parsed);
    }
    sum
}

struct Variant {
    name: &'static str,
    run: fn(&[Vec<u8>]) -> Checksum,
    times: Vec<Duration>,
    checksum: Checksum,
}

impl Variant {
    fn new(name: &'static str, run: fn(&[Vec<u8>]) -> Checksum) -> Variant {
        Variant {
            name,
            run,
            times: Vec::with_capacity(ROUNDS),
            checksum: (0, 0),
        }
    }

    fn median(&self) -> Duration {
        median(self.times.clone())
    }
}

fn median<T: PartialOrd>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    values.swap_remove(values.len() / 2)
}

fn main() {
    let started = Instant::now();
    let files: Vec<Vec<u8>> = tlsrpt_synth::corpus(tlsrpt_synth::DEFAULT_SEED, COUNT)
        .map(|file| file.bytes)
        .collect();
    let bytes: usize = files.iter().map(Vec::len).sum();
    let gzipped = files
        .iter()
        .filter(|f| f.starts_with(&[0x1f, 0x8b]))
        .count();
    println!(
        "corpus: {COUNT} reports, {:.1} MB ({gzipped} gzip, {} plain), seed {}, generated in {:.1} s",
        bytes as f64 / 1e6,
        COUNT - gzipped,
        tlsrpt_synth::DEFAULT_SEED,
        started.elapsed().as_secs_f64()
    );

    let mut variants = [
        Variant::new("gunzip only", gunzip_only),
        Variant::new("gunzip + bare serde_json typed", bare),
        Variant::new("gunzip + parse_report", parse),
    ];
    // Interleaved rounds: a slow patch of the machine hits every variant alike.
    for _ in 0..ROUNDS {
        for variant in &mut variants {
            let start = Instant::now();
            variant.checksum = black_box((variant.run)(black_box(&files)));
            variant.times.push(start.elapsed());
        }
    }
    let [gunzip, bare, parse] = &variants;
    assert_eq!(
        bare.checksum, parse.checksum,
        "both readers must see the same session counts"
    );

    println!("one thread, median of {ROUNDS} interleaved rounds:");
    for variant in [gunzip, bare, parse] {
        let median = variant.median();
        println!(
            "  {:<32} {:>7.3} s  {:>9.0} reports/s",
            variant.name,
            median.as_secs_f64(),
            COUNT as f64 / median.as_secs_f64()
        );
    }
    // Each round's two runs are seconds apart, so their ratio is steadier than the ratio of
    // medians when other work shares the machine.
    let ratio = median(
        (bare.times.iter().zip(&parse.times))
            .map(|(bare, parse)| parse.as_secs_f64() / bare.as_secs_f64())
            .collect(),
    );
    let verdict = if ratio <= TARGET_RATIO {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "parse_report / bare = {ratio:.2}, median of per-round ratios (target <= {TARGET_RATIO}: \
         {verdict})"
    );
}
