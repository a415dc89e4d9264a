//! What the network said, as plain data: the IO half of `check` produces these, the pure
//! judgements in [`super::judge`] read them. Tests build them by hand.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

/// The TXT RRs at one name, each as its character-strings (RFC 1035 §3.3.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtAnswer {
    Records(Vec<Vec<Vec<u8>>>),
    /// NXDOMAIN or no TXT RRs: the same to a sender looking for a record.
    NoRecords,
    /// SERVFAIL, timeout or refusal: nothing can be said about the record.
    Failed(String),
}

/// One MX RR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxHost {
    pub preference: u16,
    /// Lower-case, without the root dot.
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxAnswer {
    Hosts(Vec<MxHost>),
    NoRecords,
    Failed(String),
}

/// The addresses an MX host name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddresses {
    pub host: String,
    pub addresses: Result<Vec<IpAddr>, String>,
}

/// The TLSA RRset at `_25._tcp.<host>` and whether the resolver vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsaAnswer {
    pub host: String,
    pub lookup: Result<TlsaRrset, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsaRrset {
    /// Each RR in presentation form (`3 1 1 <hex>`); empty when there is none.
    pub records: Vec<String>,
    /// The AD bit of the answer (RFC 4035 §3.2.3): the resolver validated it with DNSSEC.
    pub authentic_data: bool,
}

/// What fetching the policy file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyFetch {
    /// A 200 answer.
    Body {
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// Any other status; `location` when it was a redirect.
    Status {
        code: u16,
        location: Option<String>,
    },
    /// The body went past the cap; the fetch was abandoned.
    TooLarge {
        limit: usize,
    },
    Failed {
        kind: FetchFailure,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchFailure {
    /// No address for the policy host, or the connection was refused.
    Connect,
    /// The certificate was not valid for `mta-sts.DOMAIN` or not trusted.
    Certificate,
    Timeout,
    Other,
}

/// One STARTTLS probe of an MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarttlsProbe {
    pub host: String,
    pub outcome: Result<PresentedCertificate, String>,
}

/// The certificate an MX host presented, and the verifier's verdict on it for that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedCertificate {
    /// `None` when the chain verifies for the MX host name; else the verifier's reason.
    pub verify_error: Option<CertificateProblem>,
    pub not_after: Option<DateTime<Utc>>,
    /// DNS names in the subjectAltName extension.
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateProblem {
    Expired,
    NotYetValid,
    /// Not valid for the MX host name (what senders report as `certificate-host-mismatch`).
    HostMismatch,
    /// Not issued by a trusted CA (`certificate-not-trusted`).
    NotTrusted,
    Other(String),
}
