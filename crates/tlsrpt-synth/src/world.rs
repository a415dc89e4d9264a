//! The simulated population: who sends reports and which domains they report about.
//!
//! Realism lives here as data. Each [`Reporter`] carries the habits seen in public samples of
//! that sender (SPEC §2.6, /work/shared/corpus): how it ends the date range, how it builds
//! `report-id`, which keys it leaves out, whether it validates DANE. Each [`Domain`] has a
//! fixed mail set-up (MX hosts, MTA-STS policy, TLSA records) and fixed problems, so that a
//! multi-month dataset shows the same domain failing the same way day after day, the way a
//! dashboard user would see it.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fastrand::Rng;
use tlsrpt_core::ResultType;

/// How a reporter writes `end-datetime` (SPEC §2.4: both conventions occur in the wild).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayEnd {
    /// `…T23:59:59Z`, as RFC 8460 App. B, Google and Microsoft do.
    LastSecond,
    /// The next day's `…T00:00:00Z`, as Mail.ru and Stalwart do.
    NextMidnight,
}

/// How a reporter builds `report-id` (free-form per §4.4; each scheme copies a real sender).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdScheme {
    /// `2026-01-05T00:00:00Z_example.net` (Google).
    DateDomain,
    /// `133925885310113267+example.net`: a Windows FILETIME of generation time (Microsoft).
    FiletimeDomain,
    /// A random UUID, optionally `@suffix` (Mail.ru uses `…@mail.ru`).
    Uuid(Option<&'static str>),
    /// `2026-01-05T00:00:00Z_idx1_example.net` (Postfix's tlsrpt-reporter).
    DateIdxDomain,
    /// `8213412341_17`: two numbers (Stalwart).
    NumberPair,
}

/// How a reporter lays out its JSON on the wire; see [`crate::wire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireStyle {
    /// Indentation of pretty-printed output; `None` for one compact line.
    pub indent: Option<&'static [u8]>,
    /// Object keys in alphabetical order (Mail.ru), else in RFC §4.4 order.
    pub sorted_keys: bool,
    /// Leave out empty `failure-details`, `mx-host` and `policy-string` instead of writing `[]`
    /// (Microsoft, Google, Mail.ru).
    pub omit_empty: bool,
    /// Write a TLSA `policy-string` as one string holding a JSON array (Microsoft, SPEC §2.6).
    pub tlsa_as_json_string: bool,
}

/// One organisation that sends TLS-RPT reports.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub organization_name: String,
    /// `None` writes `"contact-info": null` (Stalwart).
    pub contact_info: Option<String>,
    /// The sender domain in §5.1 file names.
    pub submitter: String,
    /// The `unique-id` part of §5.1 file names.
    pub file_id: &'static str,
    /// Relative share of all reports in a corpus.
    pub weight: f64,
    /// Fraction of a domain's inbound sessions that come from this sender; scales counts.
    pub traffic_share: f64,
    pub day_end: DayEnd,
    pub id_scheme: IdScheme,
    /// Reports `tlsa` policies for DANE domains (Google does not validate DANE).
    pub validates_dane: bool,
    /// One `tlsa` entry for the recipient domain with all TLSA records, instead of one per MX
    /// host named by the host (Microsoft, SPEC §2.6).
    pub tlsa_per_recipient: bool,
    /// Copies the MTA-STS `mx` patterns into `mx-host` (Microsoft never does).
    pub sends_mx_host: bool,
    /// Adds `failure-reason-code` to failure details.
    pub reason_codes: bool,
    /// Adds `receiving-mx-helo` and sometimes `additional-information`.
    pub helo_and_info: bool,
    /// MTA-STS failures carry only result type, count and maybe a reason: no IPs, no host
    /// (Microsoft, Mail.ru).
    pub bare_sts_failures: bool,
    /// Sends `no-policy-found` without `policy-domain` half of the time (tlsrpt-reporter).
    pub drops_no_policy_domain: bool,
    /// Leaves out `policy-string` when it could not fetch the MTA-STS policy (Mail.ru).
    pub drops_unfetched_policy: bool,
    pub wire: WireStyle,
    /// The sender's outbound MTAs: `sending-mta-ip` values.
    pub sending_ips: Vec<IpAddr>,
}

/// One receiving MX host of a [`Domain`].
#[derive(Debug, Clone)]
pub struct Mx {
    pub host: String,
    pub ipv4: Ipv4Addr,
    pub ipv6: Option<Ipv6Addr>,
    /// TLSA records at `_25._tcp.<host>`, `usage selector mtype hex` (§4.5); empty without DANE.
    pub tlsa: Vec<String>,
    /// Share of the domain's inbound sessions this host receives (primary MX gets most).
    pub share: f64,
}

/// A published MTA-STS policy (RFC 8461 §3.2).
#[derive(Debug, Clone)]
pub struct Sts {
    pub mode: &'static str,
    pub max_age: u32,
    pub mx_patterns: Vec<String>,
}

impl Sts {
    /// The policy as reports copy it into `policy-string`: one element per line (§4.5).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec!["version: STSv1".to_owned(), format!("mode: {}", self.mode)];
        lines.extend(self.mx_patterns.iter().map(|mx| format!("mx: {mx}")));
        lines.push(format!("max_age: {}", self.max_age));
        lines
    }
}

/// A lasting fault of a domain's set-up that reporters see as failures.
#[derive(Debug, Clone)]
pub struct Problem {
    pub result_type: ResultType,
    /// Index into [`Domain::mx`] of the affected host.
    pub mx: usize,
    /// Chance that a given report shows this problem (intermittent faults are common).
    pub chance: f64,
    /// Upper bound of failed sessions per sending IP and report.
    pub intensity: u64,
}

/// A recipient domain that publishes a TLSRPT record.
#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    pub mx: Vec<Mx>,
    pub sts: Option<Sts>,
    /// Inbound sessions per day from a sender with `traffic_share` 1.0 (log-uniform, so most
    /// domains are small and a few get millions).
    pub volume: f64,
    /// Relative chance of appearing in a day's reports.
    pub popularity: f64,
    pub problems: Vec<Problem>,
}

impl Domain {
    pub fn has_dane(&self) -> bool {
        self.mx.iter().any(|mx| !mx.tlsa.is_empty())
    }
}

/// Reporters and domains of one corpus, derived from its seed.
#[derive(Debug, Clone)]
pub struct World {
    pub reporters: Vec<Reporter>,
    pub domains: Vec<Domain>,
}

/// Number of small self-hosted senders (Stalwart and Postfix installations).
const SMALL_SENDERS: usize = 24;
/// Their combined share of reports.
const SMALL_SENDERS_WEIGHT: f64 = 0.20;

impl World {
    pub fn new(rng: &mut Rng, domains: usize) -> World {
        // One name space for senders and recipients: a clash would merge two reporters into
        // one duplicate-detection identity.
        let mut names = HashSet::new();
        let mut reporters = big_reporters(rng);
        reporters.extend((0..SMALL_SENDERS).map(|i| small_sender(rng, &mut names, i)));
        let domains = (0..domains)
            .map(|_| {
                let name = unique_name(rng, &mut names);
                domain(rng, name)
            })
            .collect();
        World { reporters, domains }
    }
}

fn compact(omit_empty: bool) -> WireStyle {
    WireStyle {
        indent: None,
        sorted_keys: false,
        omit_empty,
        tlsa_as_json_string: false,
    }
}

fn big_reporters(rng: &mut Rng) -> Vec<Reporter> {
    let base = Reporter {
        organization_name: String::new(),
        contact_info: None,
        submitter: String::new(),
        file_id: "001",
        weight: 0.0,
        traffic_share: 0.0,
        day_end: DayEnd::LastSecond,
        id_scheme: IdScheme::Uuid(None),
        validates_dane: false,
        tlsa_per_recipient: false,
        sends_mx_host: true,
        reason_codes: false,
        helo_and_info: false,
        bare_sts_failures: false,
        drops_no_policy_domain: false,
        drops_unfetched_policy: false,
        wire: compact(false),
        sending_ips: Vec::new(),
    };
    vec![
        Reporter {
            organization_name: "Google LLC".into(),
            contact_info: Some("smtp-tls-reporting@google.com".into()),
            submitter: "google.com".into(),
            weight: 0.36,
            traffic_share: 1.0,
            id_scheme: IdScheme::DateDomain,
            wire: compact(true),
            sending_ips: ips(rng, 40, [209, 85], [0x2a00, 0x1450, 0x4864]),
            ..base.clone()
        },
        Reporter {
            organization_name: "Microsoft Corporation".into(),
            contact_info: Some("tlsrpt-noreply@microsoft.com".into()),
            submitter: "microsoft.com".into(),
            file_id: "1",
            weight: 0.26,
            traffic_share: 0.5,
            id_scheme: IdScheme::FiletimeDomain,
            validates_dane: true,
            tlsa_per_recipient: true,
            sends_mx_host: false,
            reason_codes: true,
            bare_sts_failures: true,
            wire: WireStyle {
                tlsa_as_json_string: true,
                ..compact(true)
            },
            sending_ips: ips(rng, 40, [40, 107], [0x2a01, 0x111, 0xf403]),
            ..base.clone()
        },
        Reporter {
            organization_name: "Yahoo".into(),
            contact_info: Some("smtp-tls-reporting@yahooinc.com".into()),
            submitter: "yahooinc.com".into(),
            weight: 0.08,
            traffic_share: 0.08,
            sending_ips: ips(rng, 12, [98, 136], [0x2001, 0x4998, 0x44]),
            ..base.clone()
        },
        Reporter {
            organization_name: "Mail.ru".into(),
            contact_info: Some("tls_support@corp.mail.ru".into()),
            submitter: "corp.mail.ru".into(),
            weight: 0.05,
            traffic_share: 0.03,
            day_end: DayEnd::NextMidnight,
            id_scheme: IdScheme::Uuid(Some("mail.ru")),
            reason_codes: true,
            bare_sts_failures: true,
            drops_unfetched_policy: true,
            wire: WireStyle {
                indent: Some(b"   "),
                sorted_keys: true,
                omit_empty: true,
                tlsa_as_json_string: false,
            },
            sending_ips: ips(rng, 8, [94, 100], [0x2a00, 0x1148, 0x1]),
            ..base.clone()
        },
        Reporter {
            organization_name: "Comcast Cable Communications, LLC".into(),
            contact_info: Some("tlsrpt@comcast.net".into()),
            submitter: "comcast.net".into(),
            weight: 0.05,
            traffic_share: 0.04,
            reason_codes: true,
            sending_ips: ips(rng, 8, [96, 114], [0x2001, 0x558, 0xfc00]),
            ..base
        },
    ]
}

/// A self-hosted mail server: even `i` a Stalwart installation, odd `i` Postfix with
/// tlsrpt-reporter (REAL-SENDER.md). Both validate DANE and send few sessions.
fn small_sender(rng: &mut Rng, names: &mut HashSet<String>, i: usize) -> Reporter {
    let org_domain = unique_name(rng, names);
    let host = format!("mail.{org_domain}");
    let (count, v4_prefix, v6_prefix) = (
        1 + rng.usize(0..2),
        pick(rng, HOSTING_V4),
        pick(rng, HOSTING_V6),
    );
    let own_ips = ips(rng, count, v4_prefix, v6_prefix);
    let shared = Reporter {
        organization_name: String::new(),
        contact_info: None,
        submitter: org_domain.clone(),
        file_id: "1",
        weight: SMALL_SENDERS_WEIGHT / SMALL_SENDERS as f64,
        traffic_share: 0.0005 + rng.f64() * 0.005,
        day_end: DayEnd::LastSecond,
        id_scheme: IdScheme::DateIdxDomain,
        validates_dane: true,
        tlsa_per_recipient: false,
        sends_mx_host: true,
        reason_codes: true,
        helo_and_info: true,
        bare_sts_failures: false,
        drops_no_policy_domain: false,
        drops_unfetched_policy: false,
        wire: compact(false),
        sending_ips: own_ips,
    };
    if i.is_multiple_of(2) {
        Reporter {
            // Stalwart names the organisation after its host and may leave contact-info null.
            organization_name: host,
            contact_info: (rng.u8(0..3) > 0).then(|| format!("postmaster@{org_domain}")),
            day_end: DayEnd::NextMidnight,
            id_scheme: IdScheme::NumberPair,
            wire: WireStyle {
                indent: Some(b"    "),
                ..compact(false)
            },
            ..shared
        }
    } else {
        Reporter {
            organization_name: format!("{} Mail", capitalise(&org_domain)),
            contact_info: Some(format!("tlsrpt@{org_domain}")),
            drops_no_policy_domain: true,
            ..shared
        }
    }
}

/// Where a domain's MX hosts live; decides host names, IPs, MTA-STS patterns and DANE.
#[derive(Clone, Copy)]
enum Hosting {
    Own,
    GoogleWorkspace,
    Microsoft365,
    Provider,
}

fn domain(rng: &mut Rng, name: String) -> Domain {
    let hosting = weighted(
        rng,
        &[
            (Hosting::Own, 50),
            (Hosting::GoogleWorkspace, 20),
            (Hosting::Microsoft365, 20),
            (Hosting::Provider, 10),
        ],
    );
    let (hosts, patterns): (Vec<String>, Vec<String>) = match hosting {
        Hosting::Own => {
            let hosts: Vec<String> = (1..=1 + rng.usize(0..3))
                .map(|n| format!("mx{n}.{name}"))
                .collect();
            let patterns = if rng.bool() {
                hosts.clone()
            } else {
                vec![format!("*.{name}")]
            };
            (hosts, patterns)
        }
        Hosting::GoogleWorkspace => (
            [
                "aspmx.l.google.com",
                "alt1.aspmx.l.google.com",
                "alt2.aspmx.l.google.com",
            ]
            .map(String::from)
            .to_vec(),
            ["aspmx.l.google.com", "*.aspmx.l.google.com"]
                .map(String::from)
                .to_vec(),
        ),
        Hosting::Microsoft365 => (
            vec![format!(
                "{}.mail.protection.outlook.com",
                name.replace('.', "-")
            )],
            vec!["*.mail.protection.outlook.com".to_owned()],
        ),
        Hosting::Provider => {
            let provider = format!("{}{}.net", pick(rng, WORDS), pick(rng, WORDS));
            let hosts = vec![format!("mx01.{provider}"), format!("mx02.{provider}")];
            (hosts, vec![format!("*.{provider}")])
        }
    };
    let dane = matches!(hosting, Hosting::Own) && rng.f64() < 0.4;
    let host_count = hosts.len();
    let mx = hosts
        .into_iter()
        .enumerate()
        .map(|(i, host)| Mx {
            host,
            ipv4: hosting_v4(rng),
            ipv6: rng.bool().then(|| hosting_v6(rng)),
            tlsa: if dane { tlsa_records(rng) } else { Vec::new() },
            share: if i == 0 {
                0.9
            } else {
                0.1 / (host_count - 1) as f64
            },
        })
        .collect();
    let sts = (rng.f64() < 0.75).then(|| Sts {
        mode: weighted(rng, &[("enforce", 6), ("testing", 3), ("none", 1)]),
        max_age: pick(rng, &[86_400, 604_800, 1_209_600, 2_592_000, 31_557_600]),
        mx_patterns: patterns,
    });
    let mut domain = Domain {
        name,
        mx,
        sts,
        volume: (2.0f64.ln() + rng.f64() * (2.0e6f64 / 2.0).ln()).exp(),
        popularity: 0.3 + rng.f64() * 2.7,
        problems: Vec::new(),
    };
    let fitting: Vec<(ResultType, u32)> = PROBLEM_TYPES
        .iter()
        .filter(|(result_type, _)| fits(&domain, result_type))
        .cloned()
        .collect();
    // Without any policy only DANE-demanding senders complain (dane-required): rare.
    let problems = if fitting.is_empty() {
        0
    } else if domain.sts.is_none() && !domain.has_dane() {
        weighted(rng, &[(0usize, 9), (1, 1)])
    } else {
        weighted(rng, &[(0usize, 40), (1, 30), (2, 18), (3, 12)])
    };
    domain.problems = (0..problems)
        .map(|_| Problem {
            result_type: weighted(rng, &fitting),
            mx: rng.usize(0..domain.mx.len()),
            chance: 0.4 + rng.f64() * 0.6,
            intensity: pick(rng, &[2, 5, 20, 100]),
        })
        .collect();
    domain
}

/// Result types by how often they show up in real reports: mostly certificate, STARTTLS and
/// policy-fetch trouble (SPEC §2.3).
const PROBLEM_TYPES: &[(ResultType, u32)] = &[
    (ResultType::CertificateExpired, 15),
    (ResultType::CertificateHostMismatch, 15),
    (ResultType::CertificateNotTrusted, 15),
    (ResultType::StarttlsNotSupported, 15),
    (ResultType::StsPolicyFetchError, 15),
    (ResultType::ValidationFailure, 8),
    (ResultType::StsPolicyInvalid, 4),
    (ResultType::StsWebpkiInvalid, 4),
    (ResultType::TlsaInvalid, 5),
    (ResultType::DnssecInvalid, 2),
    (ResultType::DaneRequired, 2),
];

/// Whether a failure of this type can occur with the domain's set-up: TLSA failures need
/// DANE, MTA-STS failures a policy whose mode makes senders validate (RFC 8461 §5).
fn fits(domain: &Domain, result_type: &ResultType) -> bool {
    match PolicyKind::of(result_type) {
        PolicyKind::Sts => domain.sts.as_ref().is_some_and(|sts| sts.mode != "none"),
        PolicyKind::Tlsa => domain.has_dane(),
        PolicyKind::NoPolicy => domain.sts.is_none() && !domain.has_dane(),
    }
}

/// Which policy entry of a report a result type is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Sts,
    Tlsa,
    NoPolicy,
}

impl PolicyKind {
    pub fn of(result_type: &ResultType) -> PolicyKind {
        match result_type {
            ResultType::TlsaInvalid | ResultType::DnssecInvalid => PolicyKind::Tlsa,
            ResultType::DaneRequired => PolicyKind::NoPolicy,
            _ => PolicyKind::Sts,
        }
    }
}

/// 1–2 TLSA records, mostly DANE-EE SPKI SHA-256 (`3 1 1`), the common choice for SMTP.
fn tlsa_records(rng: &mut Rng) -> Vec<String> {
    (0..1 + rng.usize(0..2))
        .map(|_| {
            let params = weighted(rng, &[("3 1 1", 8), ("2 1 1", 1), ("3 0 1", 1)]);
            let hex: String = (0..64)
                .map(|_| char::from(b"0123456789ABCDEF"[rng.usize(0..16)]))
                .collect();
            format!("{params} {hex}")
        })
        .collect()
}

fn unique_name(rng: &mut Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let mut name = format!("{}{}", pick(rng, WORDS), pick(rng, WORDS));
        if rng.u8(0..4) == 0 {
            name.push_str(&rng.u16(2..100).to_string());
        }
        name.push('.');
        name.push_str(pick(rng, TLDS));
        if taken.insert(name.clone()) {
            return name;
        }
    }
}

fn ips(rng: &mut Rng, count: usize, v4_prefix: [u8; 2], v6_prefix: [u16; 3]) -> Vec<IpAddr> {
    (0..count)
        .map(|_| {
            if rng.u8(0..3) == 0 {
                IpAddr::V6(v6(rng, v6_prefix))
            } else {
                IpAddr::V4(v4(rng, v4_prefix))
            }
        })
        .collect()
}

fn hosting_v4(rng: &mut Rng) -> Ipv4Addr {
    let prefix = pick(rng, HOSTING_V4);
    v4(rng, prefix)
}

fn hosting_v6(rng: &mut Rng) -> Ipv6Addr {
    let prefix = pick(rng, HOSTING_V6);
    v6(rng, prefix)
}

fn v4(rng: &mut Rng, [a, b]: [u8; 2]) -> Ipv4Addr {
    Ipv4Addr::new(a, b, rng.u8(..), rng.u8(1..255))
}

/// Addresses shaped like real server ones (`2a00:1450:4864:20::22c`): a /48, a small subnet
/// number, zeros, a small host number.
fn v6(rng: &mut Rng, [a, b, c]: [u16; 3]) -> Ipv6Addr {
    Ipv6Addr::new(a, b, c, rng.u16(0..0x40), 0, 0, 0, rng.u16(1..0x300))
}

/// Picks an item with probability proportional to its weight.
pub(crate) fn weighted<T: Clone, W: Copy + Into<f64>>(rng: &mut Rng, items: &[(T, W)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| (*w).into()).sum();
    let mut left = rng.f64() * total;
    for (item, w) in items {
        left -= (*w).into();
        if left < 0.0 {
            return item.clone();
        }
    }
    items[items.len() - 1].0.clone()
}

pub(crate) fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(0..items.len())]
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

const WORDS: &[&str] = &[
    "acme", "alpine", "amber", "anchor", "apex", "arrow", "aster", "atlas", "aurora", "beacon",
    "birch", "blue", "bright", "canyon", "cedar", "cinder", "cloud", "cobalt", "coral", "crest",
    "delta", "ember", "falcon", "fern", "fjord", "flint", "forge", "garnet", "glacier", "granite",
    "harbor", "hazel", "helix", "indigo", "iron", "juniper", "kestrel", "lagoon", "lark", "linden",
    "lumen", "maple", "meadow", "mesa", "nimbus", "north", "oak", "onyx", "orbit", "pine", "prism",
    "quartz", "raven", "ridge", "river", "sage", "summit", "tidal", "vertex", "willow",
];

const TLDS: &[&str] = &[
    "com", "com", "com", "net", "org", "de", "nl", "fr", "io", "co.uk", "se", "ch", "eu",
];

/// /16s and /48s of hosting networks, for MX hosts and small senders.
const HOSTING_V4: &[[u8; 2]] = &[
    [5, 9],
    [46, 4],
    [78, 46],
    [88, 99],
    [95, 216],
    [136, 243],
    [144, 76],
    [148, 251],
    [159, 69],
    [176, 9],
    [185, 199],
    [213, 133],
];

const HOSTING_V6: &[[u16; 3]] = &[
    [0x2a01, 0x4f8, 0x10],
    [0x2001, 0x41d0, 0x8],
    [0x2a03, 0xb0c0, 0x3],
    [0x2a02, 0xc207, 0x2],
    [0x2604, 0xa880, 0x4],
];
