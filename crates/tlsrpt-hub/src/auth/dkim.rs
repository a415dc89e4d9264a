//! DKIM for mailed reports (RFC 8460 §3, §5.3), on `mail-auth`.
//!
//! §3: reports sent by mail "MUST" carry a valid DKIM signature by the reporting domain, the
//! signature MUST NOT use `l=` (a body length limit lets anyone append to a signed report),
//! and the key record SHOULD list the `tlsrpt` service type. mail-auth checks the signature
//! itself; the `l=` and `s=` rules and the alignment with the report's submitter are ours.
//!
//! [`DkimVerifier::verify`] does the DNS work and yields a [`DkimVerdict`] per signature;
//! [`DkimVerdict::authentication`] then judges it against the submitter domains of a parsed
//! report. Every mail front end (SMTP, LMTP, `ingest-mail`, IMAP) gets this through
//! [`crate::serve::Intake`], which runs it for every submission of a mail origin.

use std::net::SocketAddr;

use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator};
use tlsrpt_store::{AuthResult, Authentication};

/// What to do with a mailed report's DKIM result (config `dkim`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DkimPolicy {
    /// Refuse mail without a passing, aligned signature (§3: such reports "MUST be ignored").
    Require,
    /// Store every report and record whether it was authenticated. The default: many real
    /// senders' signatures break on the way (gateway banners, list footers), and a refused
    /// report is lost for good.
    #[default]
    Flag,
    /// Do not check.
    Off,
}

/// Checks DKIM signatures with its own DNS resolver.
#[derive(Clone)]
pub struct DkimVerifier {
    authenticator: MessageAuthenticator,
}

impl std::fmt::Debug for DkimVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimVerifier").finish_non_exhaustive()
    }
}

/// The outcome of one DKIM signature, after our §3 checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The signing domain (`d=`), lower-cased; empty when the signature did not parse.
    pub domain: String,
    pub result: SignatureResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureResult {
    /// Valid, no `l=`, and the key serves `tlsrpt`.
    Pass,
    /// Invalid or unacceptable for TLS-RPT; the reason in words.
    Fail(String),
    /// The key could not be fetched now (DNS trouble): worth retrying later.
    TempError(String),
}

/// Every DKIM signature of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DkimVerdict {
    pub signatures: Vec<SignatureCheck>,
}

impl DkimVerifier {
    /// A verifier asking `nameservers` (UDP and TCP), or the system's resolvers
    /// (`/etc/resolv.conf`) when the list is empty.
    pub fn new(nameservers: &[SocketAddr]) -> Result<Self, String> {
        let authenticator = if nameservers.is_empty() {
            MessageAuthenticator::new_system_conf()
        } else {
            let servers = nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            MessageAuthenticator::new(
                ResolverConfig::from_name_servers(servers),
                ResolverOpts::default(),
            )
        };
        authenticator
            .map(|authenticator| DkimVerifier { authenticator })
            .map_err(|error| format!("cannot set up a DNS resolver for DKIM: {error}"))
    }

    /// Verifies every DKIM signature of the message `raw`.
    pub async fn verify(&self, raw: &[u8]) -> DkimVerdict {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return DkimVerdict::default();
        };
        let outputs = self.authenticator.verify_dkim(&message).await;
        let mut signatures = Vec::with_capacity(outputs.len());
        for output in &outputs {
            let domain = output
                .signature()
                .map(|s| s.d.to_ascii_lowercase())
                .unwrap_or_default();
            let result = match (output.result(), output.signature()) {
                (DkimResult::Pass, Some(signature)) => self.tlsrpt_rules(signature).await,
                (DkimResult::Pass, None) => SignatureResult::Fail("no signature".into()),
                (DkimResult::TempError(error), _) => SignatureResult::TempError(error.to_string()),
                (
                    DkimResult::Fail(error)
                    | DkimResult::Neutral(error)
                    | DkimResult::PermError(error),
                    _,
                ) => SignatureResult::Fail(error.to_string()),
                (DkimResult::None, _) => continue,
            };
            signatures.push(SignatureCheck { domain, result });
        }
        DkimVerdict { signatures }
    }

    /// RFC 8460 §3's rules on top of a valid signature: no `l=`, and a key whose service
    /// list (RFC 6376 §3.6.1 `s=`, default `*`) allows `tlsrpt`. mail-auth does not look at
    /// `s=`, so the key record is read again here.
    async fn tlsrpt_rules(&self, signature: &mail_auth::dkim::Signature) -> SignatureResult {
        if signature.l != 0 {
            return SignatureResult::Fail(format!(
                "the signature limits the signed body length (l={}), which RFC 8460 §3 forbids",
                signature.l
            ));
        }
        let name = format!("{}._domainkey.{}", signature.s, signature.d);
        match self.authenticator.txt_raw_lookup(name.as_str()).await {
            Ok(record) => match key_services(&String::from_utf8_lossy(&record)) {
                Some(services) if !services.iter().any(|s| s == "*" || s == "tlsrpt") => {
                    SignatureResult::Fail(format!(
                        "key {name} is for services {} only, not tlsrpt (RFC 8460 §3)",
                        services.join(":")
                    ))
                }
                _ => SignatureResult::Pass,
            },
            Err(error) => SignatureResult::TempError(format!("re-reading key {name}: {error}")),
        }
    }
}

/// The `s=` service types of a DKIM key record, lower-cased; `None` when absent (= all).
fn key_services(record: &str) -> Option<Vec<String>> {
    record.split(';').find_map(|tag| {
        let (name, value) = tag.split_once('=')?;
        (name.trim() == "s").then(|| {
            value
                .split(':')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
    })
}

/// Whether signing domain `signer` vouches for `submitter` (relaxed alignment): equal, or
/// one a subdomain of the other within one organisation. Without a public-suffix list the
/// parent must have at least two labels; a signature by a public suffix itself would need
/// a key published at that suffix, which nobody but its registry can do.
pub fn aligned(signer: &str, submitter: &str) -> bool {
    let signer = normalise(signer);
    let submitter = normalise(submitter);
    if signer.is_empty() || submitter.is_empty() {
        return false;
    }
    let within = |child: &str, parent: &str| {
        child
            .strip_suffix(parent)
            .is_some_and(|rest| rest.ends_with('.'))
            && parent.contains('.')
    };
    signer == submitter || within(&submitter, &signer) || within(&signer, &submitter)
}

fn normalise(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl DkimVerdict {
    /// Whether any signature's key could not be fetched (and none passed): the mail may
    /// pass when retried.
    pub fn is_temporary(&self, submitters: &[&str]) -> bool {
        self.authentication(submitters).result != AuthResult::Pass
            && self
                .signatures
                .iter()
                .any(|s| matches!(s.result, SignatureResult::TempError(_)))
    }

    /// The verdict for a report submitted by `submitters` (the `TLS-Report-Submitter`
    /// header and the `contact-info` domain, which §5.3 says must match): `pass` needs one
    /// passing signature aligned with one of them.
    pub fn authentication(&self, submitters: &[&str]) -> Authentication {
        if self.signatures.is_empty() {
            return Authentication {
                result: AuthResult::None,
                domain: None,
                reason: Some("no DKIM signature".into()),
            };
        }
        let passing = self
            .signatures
            .iter()
            .filter(|s| s.result == SignatureResult::Pass);
        for signature in passing.clone() {
            if submitters.iter().any(|s| aligned(&signature.domain, s)) {
                return Authentication {
                    result: AuthResult::Pass,
                    domain: Some(signature.domain.clone()),
                    reason: None,
                };
            }
        }
        let (domain, reason) = match passing.clone().next() {
            Some(signature) => (
                signature.domain.clone(),
                if submitters.is_empty() {
                    "the report names no submitter domain to align the signature with".into()
                } else {
                    format!(
                        "signed by {}, not aligned with the submitter {}",
                        signature.domain,
                        submitters.join(", ")
                    )
                },
            ),
            None => {
                let first = &self.signatures[0];
                let reason = match &first.result {
                    SignatureResult::Fail(reason) | SignatureResult::TempError(reason) => {
                        reason.clone()
                    }
                    SignatureResult::Pass => unreachable!("no signature passed"),
                };
                (first.domain.clone(), reason)
            }
        };
        Authentication {
            result: AuthResult::Fail,
            domain: (!domain.is_empty()).then_some(domain),
            reason: Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(domain: &str, result: SignatureResult) -> SignatureCheck {
        SignatureCheck {
            domain: domain.into(),
            result,
        }
    }

    #[test]
    fn alignment_is_relaxed_within_an_organisation() {
        assert!(aligned("google.com", "google.com"));
        assert!(aligned("Google.COM.", "google.com"));
        assert!(aligned("google.com", "mail.google.com"));
        assert!(aligned("mail.google.com", "google.com"));
        assert!(!aligned("evilgoogle.com", "google.com"));
        assert!(!aligned("google.com", "google.net"));
        assert!(!aligned("com", "google.com"));
        assert!(!aligned("", "google.com"));
    }

    #[test]
    fn service_list_is_read_from_the_key_record() {
        assert_eq!(key_services("v=DKIM1; k=rsa; p=AAAA"), None);
        assert_eq!(
            key_services("v=DKIM1; s=email:TLSRPT; p=AAAA"),
            Some(vec!["email".into(), "tlsrpt".into()])
        );
        assert_eq!(key_services("v=DKIM1;s=*;p="), Some(vec!["*".into()]));
    }

    #[test]
    fn pass_needs_a_passing_aligned_signature() {
        let verdict = DkimVerdict {
            signatures: vec![
                check("1e100.net", SignatureResult::Pass),
                check("google.com", SignatureResult::Pass),
            ],
        };
        let auth = verdict.authentication(&["google.com"]);
        assert_eq!(auth.result, AuthResult::Pass);
        assert_eq!(auth.domain.as_deref(), Some("google.com"));

        let auth = verdict.authentication(&["example.org"]);
        assert_eq!(auth.result, AuthResult::Fail);
        assert_eq!(auth.domain.as_deref(), Some("1e100.net"));
        assert!(auth.reason.unwrap().contains("not aligned"));
    }

    #[test]
    fn failures_and_temporary_errors_are_told_apart() {
        let failed = DkimVerdict {
            signatures: vec![check(
                "google.com",
                SignatureResult::Fail("body hash mismatch".into()),
            )],
        };
        let auth = failed.authentication(&["google.com"]);
        assert_eq!(auth.result, AuthResult::Fail);
        assert_eq!(auth.reason.as_deref(), Some("body hash mismatch"));
        assert!(!failed.is_temporary(&["google.com"]));

        let dns = DkimVerdict {
            signatures: vec![check(
                "google.com",
                SignatureResult::TempError("timeout".into()),
            )],
        };
        assert!(dns.is_temporary(&["google.com"]));
        assert_eq!(
            DkimVerdict::default()
                .authentication(&["google.com"])
                .result,
            AuthResult::None
        );
    }
}
