//! Which policy domains this hub collects for, and the per-domain submission tokens.
//!
//! HTTPS reports carry no authentication (RFC 8460 §3, §7): anyone can POST a fabricated
//! report. Refusing reports about domains we do not serve keeps strangers from using the
//! database as free storage; a token URL (like hosted services' per-customer rua URLs) also
//! ties an endpoint to one domain.

use std::collections::{HashMap, HashSet};

use crate::config::{Config, UnknownDomains};

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

    /// Why a report with these policy domains may not be stored, if it may not.
    ///
    /// `bound` is the domain of the token URL it was posted to: the report must be about it.
    /// With `unknown_domains = "reject"`, every policy domain must be listed, so a report
    /// cannot smuggle a stranger's data in beside ours; a report without any policy domain
    /// cannot be attributed and is refused too.
    pub fn refusal(&self, policy_domains: &[&str], bound: Option<&str>) -> Option<String> {
        if let Some(bound) = bound
            && !policy_domains.contains(&bound)
        {
            return Some(format!(
                "report is not about {bound} (policy domains: {})",
                list(policy_domains)
            ));
        }
        if self.unknown == UnknownDomains::Accept {
            return None;
        }
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
        assert_eq!(d.refusal(&["example.com"], None), None);
        assert_eq!(d.refusal(&["example.com", "example.net"], None), None);
        let refusal = d.refusal(&["example.com", "other.org"], None).unwrap();
        assert!(refusal.contains("other.org"), "{refusal}");
        assert!(d.refusal(&[], None).is_some());
    }

    #[test]
    fn accept_mode_stores_anything_but_tokens_still_bind() {
        let d = domains(UnknownDomains::Accept);
        assert_eq!(d.refusal(&["other.org"], None), None);
        assert_eq!(d.refusal(&[], None), None);
        assert_eq!(d.by_token("t0k"), Some("example.com"));
        assert!(d.refusal(&["other.org"], Some("example.com")).is_some());
        assert_eq!(d.refusal(&["example.com"], Some("example.com")), None);
    }

    #[test]
    fn built_from_config() {
        let args = <crate::cli::Args as clap::Parser>::parse_from(["tlsrpt-hub", "serve"]);
        let mut config = crate::config::Config::resolve(&args).unwrap();
        assert!(Domains::from_config(&config).refuses_everything());
        config.domains.push(DomainConfig {
            name: "example.com".into(),
            token: Some("s3cret".into()),
        });
        let d = Domains::from_config(&config);
        assert!(!d.refuses_everything());
        assert_eq!(d.by_token("s3cret"), Some("example.com"));
        assert_eq!(d.by_token("other"), None);
    }
}
