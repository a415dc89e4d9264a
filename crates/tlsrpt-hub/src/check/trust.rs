//! Which certificates `check` trusts: the system's CAs (through rustls-platform-verifier,
//! as senders use their system store) plus any `--ca-file`, for private test CAs. The same
//! verifier judges the policy host (RFC 8461 §3.3) and the MX hosts' STARTTLS certificates.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::ClientConfig;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls_platform_verifier::Verifier;

#[derive(Clone)]
pub struct Trust {
    pub provider: Arc<CryptoProvider>,
    pub verifier: Arc<dyn ServerCertVerifier>,
}

impl Trust {
    pub fn new(ca_files: &[impl AsRef<Path>]) -> anyhow::Result<Trust> {
        let mut extra = Vec::new();
        for path in ca_files {
            let path = path.as_ref();
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .with_context(|| format!("reading CA certificates from {}", path.display()))?;
            anyhow::ensure!(
                !certificates.is_empty(),
                "{}: no PEM certificate in the file",
                path.display()
            );
            extra.extend(certificates);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Verifier::new_with_extra_roots(extra, Arc::clone(&provider))
            .context("loading the system's trusted CAs")?;
        Ok(Trust {
            provider,
            verifier: Arc::new(verifier),
        })
    }

    /// A client configuration that verifies with [`Trust::verifier`].
    pub fn client_config(&self) -> anyhow::Result<ClientConfig> {
        Ok(
            ClientConfig::builder_with_provider(Arc::clone(&self.provider))
                .with_safe_default_protocol_versions()
                .context("TLS protocol versions")?
                .dangerous()
                .with_custom_certificate_verifier(Arc::clone(&self.verifier))
                .with_no_client_auth(),
        )
    }
}
