//! Deterministic, realistic TLS-RPT (RFC 8460) reports for benchmarks, tests and demo
//! dashboards.
//!
//! Real reports cannot be shared (they reveal mail set-ups, RFC 8460 §8), yet performance
//! figures and dashboards are only meaningful on data shaped like the real thing: a few big
//! senders with their own quirks, many small domains, a few broken ones, counts in the
//! millions next to handfuls of failures. This crate simulates that population ([`World`])
//! and lets it report day after day. The same seed always gives the same bytes, so a
//! benchmark run or a test failure can be reproduced anywhere.
//!
//! ```
//! let files: Vec<_> = tlsrpt_synth::corpus(7, 3).collect();
//! assert_eq!(files.len(), 3);
//! assert!(files[0].file_name.contains('!'));
//! ```

mod report;
mod wire;
mod world;

pub use fastrand::Rng;
pub use report::{MAX_DETAILS, end_as_sent, report};
pub use wire::{file_name, gzip, render};
pub use world::{
    DayEnd, Domain, IdScheme, Mx, PolicyKind, Problem, Reporter, Sts, WireStyle, World,
};

use chrono::{Days, NaiveDate};
use thiserror::Error;
use tlsrpt_core::Report;

/// The seed of the benchmark corpus (the RFC's number, so nobody wonders why).
pub const DEFAULT_SEED: u64 = 8460;
/// The benchmark corpus size (docs/PERFORMANCE.md).
pub const DEFAULT_COUNT: usize = 20_000;
/// Days a corpus spans unless told otherwise.
pub const DEFAULT_DAYS: u32 = 30;
/// Fewest domains a corpus draws from, so small corpora still look like many domains.
pub const MIN_DOMAINS: usize = 20;

/// What to generate. Reports are spread evenly over `days` consecutive UTC days from `start`.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub seed: u64,
    pub count: usize,
    pub start: NaiveDate,
    pub days: u32,
    /// Size of the recipient-domain pool; `None` picks one domain per report and day, enough
    /// for every reporter to reach a domain at most once a day.
    pub domains: Option<usize>,
    /// Fraction of files written gzip-compressed (`.json.gz`); the rest are plain `.json`.
    pub gzip_ratio: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: DEFAULT_SEED,
            count: DEFAULT_COUNT,
            start: NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date"),
            days: DEFAULT_DAYS,
            domains: None,
            gzip_ratio: 0.5,
        }
    }
}

/// Options that cannot produce the requested corpus.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OptionsError {
    #[error("--days must be at least 1")]
    NoDays,
    #[error("--gzip-ratio must be between 0 and 1, not {0}")]
    GzipRatio(f64),
    #[error("--domains must be at least 1")]
    NoDomains,
    /// Each reporter sends one report per domain and day (§4.1), so a day holds at most
    /// reporters × domains reports; more would be duplicates.
    #[error(
        "{per_day} reports a day need at least {needed} domains ({reporters} reporters send one \
         report per domain and day); raise --domains or --days"
    )]
    TooFewDomains {
        per_day: usize,
        reporters: usize,
        needed: usize,
    },
}

impl Options {
    pub fn domain_count(&self) -> usize {
        self.domains
            .unwrap_or_else(|| self.max_per_day().max(MIN_DOMAINS))
    }

    fn max_per_day(&self) -> usize {
        self.count.div_ceil(self.days.max(1) as usize)
    }

    /// The corpus these options describe, as a lazy iterator (nothing is held in memory
    /// beyond one day's plan).
    pub fn corpus(&self) -> Result<Corpus, OptionsError> {
        if self.days == 0 {
            return Err(OptionsError::NoDays);
        }
        if !(0.0..=1.0).contains(&self.gzip_ratio) {
            return Err(OptionsError::GzipRatio(self.gzip_ratio));
        }
        if self.domains == Some(0) {
            return Err(OptionsError::NoDomains);
        }
        let mut rng = Rng::with_seed(self.seed);
        let world = World::new(&mut rng, self.domain_count());
        let reporters = world.reporters.len();
        let per_day = self.max_per_day();
        if per_day > reporters * world.domains.len() {
            return Err(OptionsError::TooFewDomains {
                per_day,
                reporters,
                needed: per_day.div_ceil(reporters),
            });
        }
        Ok(Corpus {
            rng,
            world,
            options: self.clone(),
            next_index: 0,
            day: 0,
            planned: Vec::new().into_iter(),
        })
    }
}

/// One generated report file.
#[derive(Debug, Clone)]
pub struct SynthFile {
    /// RFC 8460 §5.1 name, `.json` or `.json.gz`.
    pub file_name: String,
    /// The file's contents (gzip-compressed for `.json.gz`).
    pub bytes: Vec<u8>,
    /// What a correct parser must read from `bytes`.
    pub report: Report,
}

/// The default corpus for `seed`: `count` reports over [`DEFAULT_DAYS`] days.
pub fn corpus(seed: u64, count: usize) -> Corpus {
    Options {
        seed,
        count,
        ..Options::default()
    }
    .corpus()
    .expect("the default options fit any count")
}

/// Iterator over a corpus, in date order. See [`Options::corpus`].
pub struct Corpus {
    rng: Rng,
    world: World,
    options: Options,
    next_index: usize,
    /// The day after the one `planned` belongs to, counted from `options.start`.
    day: u32,
    /// (reporter, domain) pairs still to report for the current day.
    planned: std::vec::IntoIter<(usize, usize)>,
}

impl Corpus {
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Index of the first report of day `day`: reports are spread evenly over the days.
    fn first_of_day(&self, day: u32) -> usize {
        let count = self.options.count as u128;
        (u128::from(day) * count).div_ceil(u128::from(self.options.days)) as usize
    }

    /// Draws the day's (reporter, domain) pairs without repetition, weighted by reporter
    /// weight × domain popularity (Efraimidis–Spirakis: keep the k largest `ln(u) / w`).
    fn plan_day(&mut self) {
        let wanted = self.first_of_day(self.day + 1) - self.first_of_day(self.day);
        self.day += 1;
        let mut keyed = Vec::with_capacity(self.world.reporters.len() * self.world.domains.len());
        for (r, reporter) in self.world.reporters.iter().enumerate() {
            for (d, domain) in self.world.domains.iter().enumerate() {
                let key = self.rng.f64().ln() / (reporter.weight * domain.popularity);
                keyed.push((key, r, d));
            }
        }
        if wanted > 0 && wanted < keyed.len() {
            keyed.select_nth_unstable_by(wanted - 1, |a, b| b.0.total_cmp(&a.0));
        }
        keyed.truncate(wanted);
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        self.planned = keyed
            .into_iter()
            .map(|(_, r, d)| (r, d))
            .collect::<Vec<_>>()
            .into_iter();
    }
}

impl Iterator for Corpus {
    type Item = SynthFile;

    fn next(&mut self) -> Option<SynthFile> {
        if self.next_index == self.options.count {
            return None;
        }
        let (r, d) = loop {
            match self.planned.next() {
                Some(pair) => break pair,
                None => self.plan_day(),
            }
        };
        self.next_index += 1;
        let day = self.options.start + Days::new(u64::from(self.day - 1));
        let reporter = &self.world.reporters[r];
        let domain = &self.world.domains[d];
        let report = report(&mut self.rng, reporter, domain, day);
        let json = render(&report, &reporter.wire);
        let gzipped = self.rng.f64() < self.options.gzip_ratio;
        Some(SynthFile {
            file_name: file_name(&report, reporter, &domain.name, gzipped),
            bytes: if gzipped { gzip(&json) } else { json },
            report,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.options.count - self.next_index;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Corpus {}
