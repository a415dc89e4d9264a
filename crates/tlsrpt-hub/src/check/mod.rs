//! `check`: is a domain's TLSRPT and MTA-STS set-up right, as senders will see it?
//!
//! IO at the edges ([`dns`], [`fetch`], [`starttls`]) gathers [`facts`]; the pure
//! functions in [`judge`] turn them into [`Finding`]s with fixes; [`render`] prints them.
//! `serve` runs the same [`Checker`] daily.

pub mod daily;
pub mod dns;
pub mod facts;
pub mod fetch;
pub mod finding;
pub mod judge;
pub mod render;
pub mod snapshot;
pub mod starttls;
pub mod trust;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;

pub use finding::{DomainReport, Finding, Status};

use facts::{FetchFailure, MxAnswer, PolicyFetch};

/// The default SMTP port probed with `--starttls`.
pub const SMTP_PORT: u16 = 25;

/// How `check` reaches the network.
#[derive(Debug, Clone)]
pub struct Options {
    /// One DNS server for every lookup; `None` uses the system's resolvers.
    pub resolver: Option<SocketAddr>,
    /// Each network step (DNS query, policy fetch, SMTP session) gets this long.
    pub timeout: Duration,
    /// Connect here for `mta-sts.DOMAIN` instead of its DNS addresses; the certificate
    /// must still name `mta-sts.DOMAIN`.
    pub policy_host_override: Option<SocketAddr>,
    /// Extra trusted CA certificates (PEM), beside the system's.
    pub ca_files: Vec<PathBuf>,
    /// Probe each MX host with STARTTLS.
    pub starttls: bool,
    pub smtp_port: u16,
}

pub struct Checker {
    dns: dns::Dns,
    fetcher: fetch::Fetcher,
    trust: trust::Trust,
    options: Options,
}

impl Checker {
    pub fn new(options: Options) -> anyhow::Result<Checker> {
        let trust = trust::Trust::new(&options.ca_files)?;
        Ok(Checker {
            dns: dns::Dns::new(options.resolver, options.timeout)?,
            fetcher: fetch::Fetcher::new(trust.clone(), options.timeout),
            trust,
            options,
        })
    }

    pub async fn domain(&self, domain: &str) -> DomainReport {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let (tlsrpt_name, sts_name) =
            (format!("_smtp._tls.{domain}"), format!("_mta-sts.{domain}"));
        let (tlsrpt, sts, mx) = tokio::join!(
            self.dns.txt(&tlsrpt_name),
            self.dns.txt(&sts_name),
            self.dns.mx(&domain),
        );
        let mut findings = judge::records::tlsrpt(&domain, &tlsrpt);
        let (sts_findings, id) = judge::records::sts(&domain, &sts);
        findings.extend(sts_findings);
        // RFC 8461 §3.3: senders fetch the policy only after finding a valid record.
        let mut policy = None;
        if id.is_some() {
            let fetch = self.policy(&domain).await;
            let (policy_findings, usable) = judge::policy::fetched(&domain, &fetch);
            findings.extend(policy_findings);
            if let Some(usable) = &usable {
                findings.extend(judge::policy::mx_sync(&domain, usable, &mx));
            }
            policy = usable;
        }
        findings.extend(judge::mx::mx(&domain, &mx));
        if let MxAnswer::Hosts(hosts) = &mx {
            for host in hosts.iter().filter(|mx| !mx.host.is_empty()) {
                findings.extend(self.mx_host(&host.host).await);
            }
        }
        let observed = snapshot::Snapshot::of(&tlsrpt, id, policy.as_ref(), &mx, &findings);
        DomainReport::new(domain, findings, observed)
    }

    async fn policy(&self, domain: &str) -> PolicyFetch {
        let host = format!("mta-sts.{domain}");
        let addresses: Vec<SocketAddr> = match self.options.policy_host_override {
            Some(address) => vec![address],
            None => match self.dns.addresses(&host).await.addresses {
                Ok(ips) => ips.into_iter().map(|ip| SocketAddr::new(ip, 443)).collect(),
                Err(error) => {
                    return PolicyFetch::Failed {
                        kind: FetchFailure::Connect,
                        message: format!("{host}: {error}"),
                    };
                }
            },
        };
        if addresses.is_empty() {
            return PolicyFetch::Failed {
                kind: FetchFailure::Connect,
                message: format!("{host} has no A or AAAA record"),
            };
        }
        self.fetcher.policy(domain, &addresses).await
    }

    async fn mx_host(&self, host: &str) -> Vec<Finding> {
        let (resolved, tlsa) = tokio::join!(self.dns.addresses(host), self.dns.tlsa(host));
        let mut findings = vec![judge::mx::addresses(&resolved)];
        findings.extend(judge::mx::tlsa(&tlsa));
        if self.options.starttls
            && let Ok(addresses) = &resolved.addresses
            && let Some(ip) = addresses.first()
        {
            let address = SocketAddr::new(*ip, self.options.smtp_port);
            let probe = starttls::probe(&self.trust, host, address, self.options.timeout).await;
            findings.extend(judge::mx::starttls(&probe, Utc::now()));
        }
        findings
    }
}
