//! The STARTTLS probe (RFC 3207): greeting, EHLO, STARTTLS, TLS handshake, then the
//! certificate the MX host presented is judged for its name by the same verifier senders'
//! libraries use. The handshake accepts any certificate on purpose: a rejected
//! certificate is exactly what must be examined and reported.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::facts::{CertificateProblem, PresentedCertificate, StarttlsProbe};
use super::trust::Trust;

/// The name we greet with: `.invalid` (RFC 2606) says plainly that this is no mail server.
const EHLO_NAME: &str = "tlsrpt-hub-check.invalid";

/// Longest SMTP reply line read (RFC 5321 §4.5.3.1.5: 512 octets).
const MAX_LINE: usize = 512;

pub async fn probe(
    trust: &Trust,
    host: &str,
    address: SocketAddr,
    timeout: Duration,
) -> StarttlsProbe {
    let outcome = match tokio::time::timeout(timeout, session(trust, host, address)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("{address}: no progress within {timeout:?}")),
    };
    StarttlsProbe {
        host: host.to_owned(),
        outcome,
    }
}

async fn session(
    trust: &Trust,
    host: &str,
    address: SocketAddr,
) -> Result<PresentedCertificate, String> {
    let tcp = TcpStream::connect(address)
        .await
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    let mut smtp = BufReader::new(tcp);
    expect(&mut smtp, "220", "greeting").await?;
    send(&mut smtp, &format!("EHLO {EHLO_NAME}\r\n")).await?;
    let capabilities = expect(&mut smtp, "250", "EHLO").await?;
    if !capabilities.iter().any(|line| {
        line.get(4..)
            .is_some_and(|k| k.eq_ignore_ascii_case("STARTTLS"))
    }) {
        return Err("the server does not offer STARTTLS after EHLO".to_owned());
    }
    send(&mut smtp, "STARTTLS\r\n").await?;
    expect(&mut smtp, "220", "STARTTLS").await?;
    if !smtp.buffer().is_empty() {
        return Err("the server sent data before the TLS handshake".to_owned());
    }
    let recorder = Arc::new(Recorder::new(trust));
    let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))?;
    let mut tls_config = trust.client_config().map_err(|e| format!("{e:#}"))?;
    tls_config
        .dangerous()
        .set_certificate_verifier(Arc::clone(&recorder) as Arc<dyn ServerCertVerifier>);
    let mut tls = TlsConnector::from(Arc::new(tls_config))
        .connect(name.clone(), smtp.into_inner())
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let _ = tls.write_all(b"QUIT\r\n").await;
    let _ = tls.shutdown().await;
    let chain = recorder.chain().ok_or("the server sent no certificate")?;
    Ok(examine(trust, &chain, &name))
}

async fn send(smtp: &mut BufReader<TcpStream>, line: &str) -> Result<(), String> {
    smtp.get_mut()
        .write_all(line.as_bytes())
        .await
        .map_err(|e| format!("sending {}: {e}", line.trim_end()))
}

/// Reads one (possibly multi-line) reply and checks its code; returns its lines.
async fn expect(
    smtp: &mut BufReader<TcpStream>,
    code: &str,
    after: &str,
) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let read = (&mut *smtp)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
            .await
            .map_err(|e| format!("reading the reply to {after}: {e}"))?;
        if read == 0 {
            return Err(format!("the server closed the connection at {after}"));
        }
        let line = line.trim_end().to_owned();
        let last = line.as_bytes().get(3) != Some(&b'-');
        if !line.starts_with(code) {
            return Err(format!("{after}: expected {code}, got {line:?}"));
        }
        lines.push(line);
        if last {
            return Ok(lines);
        }
    }
}

/// The verifier's verdict for the MX host name, the expiry and the names in the leaf.
fn examine(
    trust: &Trust,
    chain: &[CertificateDer<'static>],
    name: &ServerName<'_>,
) -> PresentedCertificate {
    let (leaf, intermediates) = chain.split_first().expect("chain is not empty");
    let verify_error = trust
        .verifier
        .verify_server_cert(leaf, intermediates, name, &[], UnixTime::now())
        .err()
        .map(classify);
    let (not_after, names) = match X509Certificate::from_der(leaf) {
        Ok((_, certificate)) => (
            DateTime::<Utc>::from_timestamp(certificate.validity().not_after.timestamp(), 0),
            dns_names(&certificate),
        ),
        Err(_) => (None, Vec::new()),
    };
    PresentedCertificate {
        verify_error,
        not_after,
        names,
    }
}

fn dns_names(certificate: &X509Certificate<'_>) -> Vec<String> {
    certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn classify(error: rustls::Error) -> CertificateProblem {
    match error {
        rustls::Error::InvalidCertificate(problem) => match problem {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                CertificateProblem::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertificateProblem::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertificateProblem::HostMismatch
            }
            CertificateError::UnknownIssuer => CertificateProblem::NotTrusted,
            other => CertificateProblem::Other(format!("{other:?}")),
        },
        other => CertificateProblem::Other(other.to_string()),
    }
}

/// Accepts any certificate chain and keeps it; handshake signatures are still checked,
/// so the server must hold the key of the certificate it presents.
#[derive(Debug)]
struct Recorder {
    inner: Arc<dyn ServerCertVerifier>,
    chain: Mutex<Option<Vec<CertificateDer<'static>>>>,
}

impl Recorder {
    fn new(trust: &Trust) -> Self {
        Recorder {
            inner: Arc::clone(&trust.verifier),
            chain: Mutex::new(None),
        }
    }

    fn chain(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.chain.lock().expect("recorder lock").clone()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|der| der.clone().into_owned())
            .collect();
        *self.chain.lock().expect("recorder lock") = Some(chain);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
