//! The raw bytes of a submission, kept so any report can be re-parsed later (`reprocess`).
//!
//! Compression is CPU work, so it happens in [`RawBlob::compress`], which callers run on their
//! parsing threads; the single database writer only copies finished blobs.

use std::cell::RefCell;
use std::io::Read;

use flate2::read::GzDecoder;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// How [`RawBlob`] holds the received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawEncoding {
    /// We gzip-compressed the received bytes.
    Gzip,
    /// Stored exactly as received: they already were gzip or zip, and compressing compressed
    /// data again only costs CPU.
    AsReceived,
}

impl RawEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            RawEncoding::Gzip => "gzip",
            RawEncoding::AsReceived => "as-received",
        }
    }

    pub fn from_wire(text: &str) -> Option<Self> {
        match text {
            "gzip" => Some(RawEncoding::Gzip),
            "as-received" => Some(RawEncoding::AsReceived),
            _ => None,
        }
    }
}

/// Received bytes ready for storage, with the size and SHA-256 of the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlob {
    stored: Vec<u8>,
    encoding: RawEncoding,
    original_size: u64,
    sha256: [u8; 32],
}

impl RawBlob {
    /// Prepares `original` for storage: gzip at the fastest level, unless it already is a gzip
    /// stream or zip archive (sniffed by magic bytes, as senders mislabel content).
    pub fn compress(original: &[u8]) -> RawBlob {
        let sha256 = Sha256::digest(original).into();
        let original_size = original.len() as u64;
        if is_compressed(original) {
            return RawBlob {
                stored: original.to_vec(),
                encoding: RawEncoding::AsReceived,
                original_size,
                sha256,
            };
        }
        let stored = gzip(original);
        RawBlob {
            stored,
            encoding: RawEncoding::Gzip,
            original_size,
            sha256,
        }
    }

    /// Rebuilds a blob read back from storage; [`RawBlob::decompress`] verifies it.
    pub(crate) fn from_stored(
        stored: Vec<u8>,
        encoding: RawEncoding,
        original_size: u64,
        sha256: [u8; 32],
    ) -> RawBlob {
        RawBlob {
            stored,
            encoding,
            original_size,
            sha256,
        }
    }

    /// The bytes as received, checked against the recorded size and SHA-256 so a damaged
    /// blob is reported instead of being re-parsed into wrong reports.
    pub fn decompress(&self) -> Result<Vec<u8>, StoreError> {
        let original = match self.encoding {
            RawEncoding::AsReceived => self.stored.clone(),
            RawEncoding::Gzip => {
                let mut out = Vec::with_capacity(usize::try_from(self.original_size).unwrap_or(0));
                // Cap at the recorded size + 1 so a damaged length cannot expand without bound.
                GzDecoder::new(self.stored.as_slice())
                    .take(self.original_size.saturating_add(1))
                    .read_to_end(&mut out)
                    .map_err(|e| StoreError::corrupt(format!("raw blob does not inflate: {e}")))?;
                out
            }
        };
        if original.len() as u64 != self.original_size
            || <[u8; 32]>::from(Sha256::digest(&original)) != self.sha256
        {
            return Err(StoreError::corrupt(
                "raw blob does not match its recorded size and SHA-256",
            ));
        }
        Ok(original)
    }

    /// The bytes as stored (compressed unless [`RawEncoding::AsReceived`]).
    pub fn stored(&self) -> &[u8] {
        &self.stored
    }

    pub fn encoding(&self) -> RawEncoding {
        self.encoding
    }

    /// Length of the bytes as received.
    pub fn original_size(&self) -> u64 {
        self.original_size
    }

    /// SHA-256 of the bytes as received.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }
}

thread_local! {
    /// A deflate state is a few hundred KiB; allocating and zeroing a fresh one per call
    /// (what `GzEncoder::new` does) cost more than compressing a typical 4 KiB report, so
    /// each thread keeps one and resets it.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
}

/// A gzip member (RFC 1952): fixed header, raw deflate, CRC-32 and length trailer.
fn gzip(original: &[u8]) -> Vec<u8> {
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=unknown
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut out = Vec::with_capacity(original.len() / 3 + 64);
    out.extend_from_slice(&HEADER);
    DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        loop {
            let consumed = usize::try_from(deflate.total_in()).unwrap_or(usize::MAX);
            out.reserve(original.len().saturating_sub(consumed) / 2 + 64);
            // Deflating into memory has no failure mode besides a broken state, which a
            // fresh reset rules out.
            let status = deflate
                .compress_vec(&original[consumed..], &mut out, FlushCompress::Finish)
                .expect("deflate into memory");
            if status == Status::StreamEnd {
                break;
            }
        }
    });
    let mut crc = Crc::new();
    crc.update(original);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32 by definition.
    out.extend_from_slice(&(original.len() as u32).to_le_bytes());
    out
}

/// gzip (RFC 1952) or zip local-file / empty-archive signatures.
fn is_compressed(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
        || bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
}
