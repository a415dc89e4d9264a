//! The normalised report model, in RFC 8460 §4.4 vocabulary.
//!
//! This is what every later stage (store, analysis, web, alerts) sees. It is deliberately
//! *normalised* rather than a mirror of the JSON: type drift from real senders (SPEC §2.6, §6)
//! has already been resolved by the parser, and each such repair is recorded as a
//! [`Diagnostic`](crate::Diagnostic) next to the report instead of being hidden.
//!
//! Serialised with serde this is the stable `--format json` model documented in
//! `docs/report-model.md`; field names there are the RFC's kebab-case keys.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// One TLS-RPT report (RFC 8460 §4.4 top level).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// `organization-name`: who produced the report. Absent in some broken reports.
    pub organization_name: Option<String>,
    pub date_range: DateRange,
    /// `contact-info`: RFC 5322 addr-spec; `null` in Stalwart reports (corpus).
    pub contact_info: Option<String>,
    /// `report-id`: free-form, only unique per sender (SPEC §6.1).
    pub report_id: Option<String>,
    /// `policies`: one entry per applied policy (§4: always an array).
    pub policies: Vec<PolicyResult>,
}

/// `date-range`, normalised to a half-open UTC interval `[start, end)`.
///
/// Senders disagree on the end: RFC 8460 App. B and Google end at `T23:59:59Z`, Mail.ru and
/// Stalwart at the next day's `T00:00:00Z` (SPEC §2.4). Both become the same `end` here; the
/// strings as sent are kept in `start_raw` / `end_raw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DateRange {
    #[serde(serialize_with = "serialize_utc")]
    pub start: DateTime<Utc>,
    /// Exclusive end.
    #[serde(serialize_with = "serialize_utc")]
    pub end: DateTime<Utc>,
    /// `start-datetime` exactly as sent.
    pub start_raw: String,
    /// `end-datetime` exactly as sent.
    pub end_raw: String,
}

/// One element of `policies[]`: the applied policy, its summary and its failure details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyResult {
    pub policy: Policy,
    pub summary: Summary,
    /// Empty when the sender omitted the key (Microsoft, Google with no failures).
    pub failure_details: Vec<FailureDetail>,
}

/// The `policy` object (§4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Policy {
    pub policy_type: PolicyType,
    /// `policy-string`: for `sts` one policy line per element, for `tlsa` one TLSA RR per
    /// element (§4.5). Microsoft's single JSON-encoded string is already unpacked here.
    pub policy_string: Vec<String>,
    /// `policy-domain`, lower-cased, without a trailing dot. Missing for some no-policy-found.
    pub policy_domain: Option<String>,
    /// `mx-host` patterns (only defined for `sts`).
    pub mx_host: Vec<String>,
}

/// The `summary` object (§4.4). Counts are u64: real counts exceed 2^32 (SPEC §6.7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    pub total_successful_session_count: u64,
    pub total_failure_session_count: u64,
}

/// One element of `failure-details[]` (§4.4). Every field but the count and result type is
/// optional in practice (SPEC §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureDetail {
    pub result_type: ResultType,
    pub sending_mta_ip: Option<IpValue>,
    pub receiving_mx_hostname: Option<String>,
    pub receiving_mx_helo: Option<String>,
    pub receiving_ip: Option<IpValue>,
    pub failed_session_count: u64,
    pub additional_information: Option<String>,
    pub failure_reason_code: Option<String>,
}

/// An IP address field: parsed when it parses, else the string as sent (SPEC §6.8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpValue {
    Addr(IpAddr),
    Unparsed(String),
}

impl fmt::Display for IpValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpValue::Addr(addr) => addr.fmt(f),
            IpValue::Unparsed(raw) => f.write_str(raw),
        }
    }
}

impl Serialize for IpValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Defines an RFC vocabulary enum whose unknown values are kept verbatim in `Other`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value outside the registry, kept exactly as the sender wrote it.
            Other(String),
        }

        impl $name {
            /// Every registered value, in registry order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant,)*];

            /// Maps the wire string to the enum; unknown strings are kept, never dropped.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The wire string (the kept string for `Other`).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(other) => other,
                }
            }

            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// `policy-type` (§4.4).
    PolicyType {
        Sts => "sts",
        Tlsa => "tlsa",
        NoPolicyFound => "no-policy-found",
    }
}

vocabulary! {
    /// `result-type` (§4.3, IANA "STARTTLS Validation Result Types", §6.6).
    ///
    /// A failure detail without any `result-type` key (tlsrpt-reporter does this for failure
    /// codes it does not know, REAL-SENDER.md) becomes `Other("")`.
    ResultType {
        /// §4.3.1
        StarttlsNotSupported => "starttls-not-supported",
        CertificateHostMismatch => "certificate-host-mismatch",
        CertificateExpired => "certificate-expired",
        CertificateNotTrusted => "certificate-not-trusted",
        ValidationFailure => "validation-failure",
        /// §4.3.2.1
        TlsaInvalid => "tlsa-invalid",
        DnssecInvalid => "dnssec-invalid",
        DaneRequired => "dane-required",
        /// §4.3.2.2
        StsPolicyFetchError => "sts-policy-fetch-error",
        StsPolicyInvalid => "sts-policy-invalid",
        StsWebpkiInvalid => "sts-webpki-invalid",
    }
}

/// Serialises a UTC instant as RFC 3339 with a `Z` suffix and whole seconds when possible.
pub fn serialize_utc<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_utc(at))
}

/// RFC 3339, `Z` suffix, fractional seconds only when present. Used for display and storage.
pub fn format_utc(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

impl Report {
    /// Total successful sessions over all policies.
    pub fn total_successful(&self) -> u64 {
        self.policies
            .iter()
            .map(|p| p.summary.total_successful_session_count)
            .fold(0, u64::saturating_add)
    }

    /// Total failed sessions over all policies.
    pub fn total_failed(&self) -> u64 {
        self.policies
            .iter()
            .map(|p| p.summary.total_failure_session_count)
            .fold(0, u64::saturating_add)
    }

    /// Distinct policy domains, sorted.
    pub fn policy_domains(&self) -> Vec<&str> {
        let mut domains: Vec<&str> = self
            .policies
            .iter()
            .filter_map(|p| p.policy.policy_domain.as_deref())
            .collect();
        domains.sort_unstable();
        domains.dedup();
        domains
    }

    /// Domain part of `contact-info`, lower-cased: the submitter per §5.3.
    pub fn contact_domain(&self) -> Option<String> {
        let contact = self.contact_info.as_deref()?;
        let (_, domain) = contact.rsplit_once('@')?;
        let domain = domain.trim().trim_end_matches('>').trim_end_matches('.');
        (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
    }
}
