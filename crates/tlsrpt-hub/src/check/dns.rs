//! DNS lookups for `check`, through hickory's resolver: the system's resolvers, or the one
//! named by `--resolver`. Answers become [`super::facts`]; nothing is judged here.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::op::{Edns, Message, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::facts::{HostAddresses, MxAnswer, MxHost, TlsaAnswer, TlsaRrset, TxtAnswer};

pub struct Dns {
    resolver: TokioResolver,
    /// The server TLSA queries go to directly (see [`Dns::tlsa`]).
    server: SocketAddr,
    timeout: Duration,
}

impl Dns {
    /// `server`: one resolver (or authoritative server) to ask; `None` reads the system's
    /// configuration (`/etc/resolv.conf`).
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> anyhow::Result<Dns> {
        let (config, mut options) = match server {
            Some(address) => {
                let mut name_server = NameServerConfig::udp_and_tcp(address.ip());
                for connection in &mut name_server.connections {
                    connection.port = address.port();
                }
                (
                    ResolverConfig::from_name_servers(vec![name_server]),
                    ResolverOpts::default(),
                )
            }
            None => hickory_resolver::system_conf::read_system_conf()
                .context("reading the system's DNS configuration (use --resolver IP:PORT)")?,
        };
        let server = server
            .or_else(|| {
                config
                    .name_servers()
                    .first()
                    .map(|ns| SocketAddr::new(ns.ip, 53))
            })
            .context("no DNS server configured (use --resolver IP:PORT)")?;
        options.timeout = timeout;
        // Every answer is wanted fresh: a check after a fix must see the fix.
        options.cache_size = 0;
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .context("building the DNS resolver")?;
        Ok(Dns {
            resolver,
            server,
            timeout,
        })
    }

    pub async fn txt(&self, name: &str) -> TxtAnswer {
        match self.resolver.lookup(fqdn(name), RecordType::TXT).await {
            Ok(lookup) => TxtAnswer::Records(
                lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::TXT(txt) => Some(txt.txt_data.iter().map(|s| s.to_vec()).collect()),
                        _ => None,
                    })
                    .collect(),
            ),
            Err(error) if error.is_no_records_found() => TxtAnswer::NoRecords,
            Err(error) => TxtAnswer::Failed(error.to_string()),
        }
    }

    pub async fn mx(&self, domain: &str) -> MxAnswer {
        match self.resolver.lookup(fqdn(domain), RecordType::MX).await {
            Ok(lookup) => {
                let mut hosts: Vec<MxHost> = lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::MX(mx) => Some(MxHost {
                            preference: mx.preference,
                            host: host_name(&mx.exchange),
                        }),
                        _ => None,
                    })
                    .collect();
                hosts.sort_by(|a, b| (a.preference, &a.host).cmp(&(b.preference, &b.host)));
                MxAnswer::Hosts(hosts)
            }
            Err(error) if error.is_no_records_found() => MxAnswer::NoRecords,
            Err(error) => MxAnswer::Failed(error.to_string()),
        }
    }

    pub async fn addresses(&self, host: &str) -> HostAddresses {
        let addresses = match self.resolver.lookup_ip(fqdn(host)).await {
            Ok(lookup) => Ok(lookup.iter().collect()),
            Err(error) if error.is_no_records_found() => Ok(Vec::new()),
            Err(error) => Err(error.to_string()),
        };
        HostAddresses {
            host: host.to_owned(),
            addresses,
        }
    }

    /// TLSA at `_25._tcp.<host>` (RFC 7672 §2.2), asked directly of the server with the DO
    /// and AD bits set: the resolver library never sets them, and a validating resolver
    /// only reports the AD bit to a query that asks (RFC 6840 §5.7). Over TCP, so a large
    /// signed answer is never truncated.
    pub async fn tlsa(&self, host: &str) -> TlsaAnswer {
        let lookup = tokio::time::timeout(self.timeout, self.tlsa_query(host))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no answer from {} within {:?}",
                    self.server, self.timeout
                ))
            });
        TlsaAnswer {
            host: host.to_owned(),
            lookup,
        }
    }

    async fn tlsa_query(&self, host: &str) -> Result<TlsaRrset, String> {
        let name = Name::from_ascii(fqdn(&format!("_25._tcp.{host}")))
            .map_err(|e| format!("bad name: {e}"))?;
        let mut query = Message::query();
        query.metadata.recursion_desired = true;
        query.metadata.authentic_data = true;
        query.add_query(Query::query(name, RecordType::TLSA));
        let mut edns = Edns::new();
        edns.set_dnssec_ok(true);
        edns.set_max_payload(4096);
        query.set_edns(edns);
        let bytes = query.to_vec().map_err(|e| e.to_string())?;
        let io = |e: std::io::Error| format!("{}: {e}", self.server);
        let mut stream = TcpStream::connect(self.server).await.map_err(io)?;
        let length = u16::try_from(bytes.len()).map_err(|_| "query too long".to_owned())?;
        stream.write_all(&length.to_be_bytes()).await.map_err(io)?;
        stream.write_all(&bytes).await.map_err(io)?;
        let length = stream.read_u16().await.map_err(io)?;
        let mut answer = vec![0; usize::from(length)];
        stream.read_exact(&mut answer).await.map_err(io)?;
        let answer = Message::from_vec(&answer).map_err(|e| format!("bad answer: {e}"))?;
        match answer.metadata.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => Ok(TlsaRrset {
                records: answer
                    .answers
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::TLSA(tlsa) => Some(tlsa.to_string()),
                        _ => None,
                    })
                    .collect(),
                authentic_data: answer.metadata.authentic_data,
            }),
            code => Err(format!("{} answered {code}", self.server)),
        }
    }
}

/// Absolute, so search domains from resolv.conf are never appended.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// Lower-case without the root dot, the form policies and certificates compare against.
/// The root name itself (a null MX, RFC 7505) becomes the empty string.
fn host_name(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}
