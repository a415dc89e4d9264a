//! Which policy domains this hub collects for, and the per-domain submission tokens.
//!
//! HTTPS reports carry no authentication (RFC 8460 §3, §7): anyone can POST a fabricated
//! report. Refusing reports about domains we do not serve keeps strangers from using the
//! database as free storage; a token URL (like hosted services' per-customer rua URLs) also
//! ties an endpoint to one domain.

use std::collections::{HashMap, HashSet};

use crate::config::{Config, UnknownDomains};

/// What may become of a report, by its policy domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainCheck {
    Served,
    /// Store it marked quarantined (`unknown_domains = "quarantine"`), for this reason.
    Quarantine(String),
    Refuse(String),
}

#[derive(Debug, Default)]
pub struct Domains {
    served: HashSet<String>,
    by_token: HashMap<String, String>,
    unknown: UnknownDomains,
}

impl Domains {
    pub fn from_config(config: &Config) -> Self {
        Domains {
            served: config.domains.iter().map(|d| d.name.clone()).collect(),
            by_token: config
                .domains
                .iter()
                .filter_map(|d| Some((d.token.clone()?, d.name.clone())))
                .collect(),
            unknown: config.unknown_domains,
        }
    }

    /// Whether every report would be refused (no domains listed, unknown ones rejected).
    pub fn refuses_everything(&self) -> bool {
        self.served.is_empty() && self.unknown == UnknownDomains::Reject
    }

    /// The domain a submission token stands for.
    pub fn by_token(&self, token: &str) -> Option<&str> {
        self.by_token.get(token).map(String::as_str)
    }

    /// Whether a report with these policy domains may be stored, and how.
    ///
    /// `bound` is the domain of the token URL it was posted to: the report must be about it,
    /// in every mode. Otherwise the domains not served decide, per `unknown_domains`.
    pub fn check(&self, policy_domains: &[&str], bound: Option<&str>) -> DomainCheck {
        if let Some(bound) = bound
            && !policy_domains.contains(&bound)
        {
            return DomainCheck::Refuse(format!(
                "report is not about {bound} (policy domains: {})",
                list(policy_domains)
            ));
        }
        match (self.unknown, self.refusal(policy_domains)) {
            (_, None) | (UnknownDomains::Accept, Some(_)) => DomainCheck::Served,
            (UnknownDomains::Quarantine, Some(reason)) => DomainCheck::Quarantine(reason),
            (UnknownDomains::Reject, Some(reason)) => DomainCheck::Refuse(reason),
        }
    }

    /// Why a report with these policy domains is not ours, if it is not: every policy
    /// domain must be listed, so a report cannot smuggle a stranger's data in beside ours;
    /// a report without any policy domain cannot be attributed.
    fn refusal(&self, policy_domains: &[&str]) -> Option<String> {
        let unserved: Vec<&str> = policy_domains
            .iter()
            .copied()
            .filter(|domain| !self.served.contains(*domain))
            .collect();
        if policy_domains.is_empty() {
            Some("report names no policy domain".to_owned())
        } else if !unserved.is_empty() {
            Some(format!(
                "policy domain not served here: {}",
                list(&unserved)
            ))
        } else {
            None
        }
    }
}

fn list(domains: &[&str]) -> String {
    if domains.is_empty() {
        "none".to_owned()
    } else {
        domains.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DomainConfig;

    fn domains(unknown: UnknownDomains) -> Domains {
        Domains {
            served: ["example.com".to_owned(), "example.net".to_owned()].into(),
            by_token: [("t0k".to_owned(), "example.com".to_owned())].into(),
            unknown,
        }
    }

    #[test]
    fn reject_mode_needs_every_policy_domain_served() {
        let d = domains(UnknownDomains::Reject);
        assert_eq!(d.check(&["example.com"], None), DomainCheck::Served);
        assert_eq!(
            d.check(&["example.com", "example.net"], None),
            DomainCheck::Served
        );
        let DomainCheck::Refuse(refusal) = d.check(&["example.com", "other.org"], None) else {
            panic!("not refused");
        };
        assert!(refusal.contains("other.org"), "{refusal}");
        assert!(matches!(d.check(&[], None), DomainCheck::Refuse(_)));
    }

    #[test]
    fn accept_mode_stores_anything_but_tokens_still_bind() {
        let d = domains(UnknownDomains::Accept);
        assert_eq!(d.check(&["other.org"], None), DomainCheck::Served);
        assert_eq!(d.check(&[], None), DomainCheck::Served);
        assert_eq!(d.by_token("t0k"), Some("example.com"));
        assert!(matches!(
            d.check(&["other.org"], Some("example.com")),
            DomainCheck::Refuse(_)
        ));
        assert_eq!(
            d.check(&["example.com"], Some("example.com")),
            DomainCheck::Served
        );
    }

    #[test]
    fn quarantine_mode_stores_unknown_domains_aside_but_tokens_still_bind() {
        let d = domains(UnknownDomains::Quarantine);
        assert_eq!(d.check(&["example.com"], None), DomainCheck::Served);
        let DomainCheck::Quarantine(reason) = d.check(&["other.org"], None) else {
            panic!("not quarantined");
        };
        assert!(reason.contains("other.org"), "{reason}");
        assert!(matches!(
            d.check(&["other.org"], Some("example.com")),
            DomainCheck::Refuse(_)
        ));
        assert!(!d.refuses_everything());
    }

    #[test]
    fn built_from_config() {
        let args = <crate::cli::Args as clap::Parser>::parse_from(["tlsrpt-hub", "serve"]);
        let mut config = crate::config::Config::resolve(&args).unwrap();
        assert!(Domains::from_config(&config).refuses_everything());
        config.domains.push(DomainConfig {
            name: "example.com".into(),
            token: Some("s3cret".into()),
            mta_sts: None,
        });
        let d = Domains::from_config(&config);
        assert!(!d.refuses_everything());
        assert_eq!(d.by_token("s3cret"), Some("example.com"));
        assert_eq!(d.by_token("other"), None);
    }
}
