//! Plain-English cause and action for each result type (RFC 8460 §4.3).
//!
//! Raw result types mean little to most mail admins. Every front end (`show`, the dashboard,
//! alerts) renders these same sentences so the advice is written once and stays consistent.

use crate::{PolicyType, ResultType};

/// What a result type means and what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// One line: what the sending server ran into.
    pub cause: &'static str,
    /// One line: what the domain owner should do.
    pub action: &'static str,
}

/// Explains a result type; unknown values get a generic but honest explanation.
pub fn explain(result: &ResultType) -> Explanation {
    use ResultType::*;
    let (cause, action) = match result {
        StarttlsNotSupported => (
            "The receiving MX did not offer STARTTLS, so the sender could not encrypt the \
             session (or something on the path stripped the STARTTLS offer).",
            "Enable STARTTLS on that MX host; if it is already enabled, look for a firewall or \
             middlebox that rewrites the SMTP greeting (a possible downgrade attack).",
        ),
        CertificateHostMismatch => (
            "The MX presented a certificate whose names do not cover the MX host name the \
             sender connected to.",
            "Reissue the certificate with the MX host name in its subjectAltName, or make the MX \
             record / MTA-STS mx: lines point at the name the certificate covers.",
        ),
        CertificateExpired => (
            "The certificate presented by the MX has expired.",
            "Renew the MX certificate now and reload the mail server; check that automatic \
             renewal (e.g. ACME) also restarts the SMTP service.",
        ),
        CertificateNotTrusted => (
            "The MX certificate does not chain to a CA the sender trusts (self-signed, private \
             CA or missing intermediate certificate).",
            "Install a publicly trusted certificate and serve the full chain, including \
             intermediates, on port 25.",
        ),
        ValidationFailure => (
            "The sender could not validate the MX certificate or the TLS session for a reason \
             not covered by a more specific type (see the failure reason code).",
            "Check the failure reason code and test the MX with an SMTP TLS checker; typical \
             causes are weak protocols or ciphers and malformed certificates.",
        ),
        TlsaInvalid => (
            "None of the published TLSA records (DANE) matched the certificate the MX presented.",
            "Update the TLSA records at _25._tcp.<mx-host> to match the current certificate or \
             key; after a certificate change publish the new TLSA record before switching.",
        ),
        DnssecInvalid => (
            "DNSSEC validation of the MX's TLSA records failed, so the sender got no usable \
             DANE records.",
            "Fix the DNSSEC chain of the MX host's zone (expired signatures, DS mismatch at the \
             parent, broken key rollover).",
        ),
        DaneRequired => (
            "The sender requires DANE for this destination but found no DNSSEC-validated TLSA \
             records for the MX.",
            "Publish TLSA records at _25._tcp.<mx-host> in a DNSSEC-signed zone, or ask the \
             sender why it requires DANE for your domain.",
        ),
        StsPolicyFetchError => (
            "The sender found an _mta-sts TXT record but could not fetch the MTA-STS policy \
             over HTTPS.",
            "Check that https://mta-sts.<domain>/.well-known/mta-sts.txt answers 200 with a \
             valid certificate, without redirects, from the whole internet.",
        ),
        StsPolicyInvalid => (
            "The MTA-STS policy was fetched but is invalid, or the MX host is not covered by \
             its mx: lines.",
            "Fix the policy syntax and make sure every MX host matches an mx: line; then change \
             the id in the _mta-sts TXT record so senders refetch.",
        ),
        StsWebpkiInvalid => (
            "The certificate of the mta-sts.<domain> policy web server failed validation.",
            "Serve the policy host with a publicly trusted, unexpired certificate that covers \
             mta-sts.<domain>.",
        ),
        Other(_) => (
            "The sender reported a result type that is not in the IANA registry (or none at \
             all), so its meaning is not standardised.",
            "Look at the failure reason code and contact the reporting organization if the \
             failures persist.",
        ),
    };
    Explanation { cause, action }
}

/// One-line reading of what a policy type means for the sessions it counts.
pub fn describe_policy_type(policy_type: &PolicyType) -> &'static str {
    match policy_type {
        PolicyType::Sts => "MTA-STS policy (RFC 8461)",
        PolicyType::Tlsa => "DANE TLSA records (RFC 7672)",
        PolicyType::NoPolicyFound => {
            "no MTA-STS or DANE policy found: TLS was opportunistic and unauthenticated"
        }
        PolicyType::Other(_) => "policy type outside RFC 8460",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_result_type_has_its_own_explanation() {
        let generic = explain(&ResultType::Other("x".into()));
        let causes: std::collections::HashSet<&str> =
            ResultType::KNOWN.iter().map(|r| explain(r).cause).collect();
        assert!(!causes.contains(generic.cause));
        assert_eq!(
            causes.len(),
            ResultType::KNOWN.len(),
            "two result types share a cause"
        );
    }

    #[test]
    fn advice_matches_the_classic_fixes() {
        assert!(
            explain(&ResultType::CertificateExpired)
                .action
                .contains("Renew")
        );
        assert!(
            explain(&ResultType::StsPolicyFetchError)
                .action
                .contains("https://mta-sts.")
        );
        assert!(explain(&ResultType::TlsaInvalid).action.contains("TLSA"));
    }
}
