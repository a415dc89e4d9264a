//! Address fields (`sending-mta-ip`, `receiving-ip`; RFC 8460 §4.4, SPEC §6.8).
//!
//! Every failure detail carries up to two addresses, so this is the parser's hottest
//! normalisation: it reads from the borrowed JSON text and allocates nothing for an address
//! that parses.

use std::net::{IpAddr, Ipv6Addr};

use super::IpValue;
use super::path::{Path, Sink};
use crate::DiagnosticCode;

/// Parses an address field. §4.4 asks for RFC 5952 text; RFC 8460 App. B itself writes
/// `2001:db8:abcd:0012::1`, and bracketed `[::1]` URI-style literals occur. Anything that
/// parses is kept as an address (and re-serialised canonically); the rest as text.
pub(super) fn read_ip(text: &str, path: &Path, sink: &mut Sink) -> IpValue {
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(text);
    let Ok(addr) = unbracketed.parse::<IpAddr>() else {
        sink.note(
            DiagnosticCode::UnparsedIp,
            path,
            format!("`{text}` is not an IP address; kept as text"),
        );
        return IpValue::Unparsed(text.to_owned());
    };
    if !is_canonical(&addr, text) {
        sink.note(
            DiagnosticCode::NonCanonicalIp,
            path,
            format!("`{text}` is not in canonical form (RFC 5952); read as `{addr}`"),
        );
    }
    IpValue::Addr(addr)
}

/// Whether `text` is exactly how `addr` displays.
fn is_canonical(addr: &IpAddr, text: &str) -> bool {
    match addr {
        // std's IPv4 parser already rejects every other spelling (leading zeros, fewer
        // parts), so only the brackets can differ.
        IpAddr::V4(_) => !text.starts_with('['),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            // `::ffff:192.0.2.1`: rare enough for the general formatter.
            Some(_) => v6.to_string() == text,
            None => Rfc5952::new(v6).as_bytes() == text.as_bytes(),
        },
    }
}

/// The RFC 5952 §4 text of an IPv6 address that is not IPv4-mapped: lowercase hex without
/// leading zeros, the longest run (first if tied) of two or more zero groups as `::`.
///
/// Byte for byte what `Ipv6Addr`'s `Display` writes (a property test holds them together),
/// built on the stack: formatting through `core::fmt` cost more than parsing the JSON around it.
struct Rfc5952 {
    text: [u8; 39],
    len: usize,
}

impl Rfc5952 {
    fn new(addr: &Ipv6Addr) -> Self {
        let groups = addr.segments();
        let (start, run) = longest_zero_run(&groups);
        let mut out = Rfc5952 {
            text: [0; 39],
            len: 0,
        };
        if run > 1 {
            out.push_groups(&groups[..start]);
            out.push(b"::");
            out.push_groups(&groups[start + run..]);
        } else {
            out.push_groups(&groups);
        }
        out
    }

    fn push(&mut self, bytes: &[u8]) {
        self.text[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn push_groups(&mut self, groups: &[u16]) {
        for (index, &group) in groups.iter().enumerate() {
            if index > 0 {
                self.push(b":");
            }
            let digits = (16 - group.leading_zeros()).div_ceil(4).max(1);
            for shift in (0..digits).rev() {
                let nibble = (group >> (shift * 4)) & 0xf;
                self.push(&[b"0123456789abcdef"[usize::from(nibble)]]);
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.text[..self.len]
    }
}

/// Start and length of the first longest run of zero groups.
fn longest_zero_run(groups: &[u16; 8]) -> (usize, usize) {
    let (mut best_start, mut best_len) = (0, 0);
    let mut index = 0;
    while index < groups.len() {
        let start = index;
        while index < groups.len() && groups[index] == 0 {
            index += 1;
        }
        if index - start > best_len {
            (best_start, best_len) = (start, index - start);
        }
        index += 1;
    }
    (best_start, best_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn canonical(text: &str) -> String {
        let addr: Ipv6Addr = text.parse().expect("valid");
        String::from_utf8(Rfc5952::new(&addr).as_bytes().to_vec()).expect("ASCII")
    }

    #[test]
    fn rfc5952_examples() {
        for (sent, expected) in [
            ("2001:db8:abcd:0012::1", "2001:db8:abcd:12::1"),
            ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("0:0:0:0:0:0:0:0", "::"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("1:0:0:0:0:0:0:0", "1::"),
            ("fe80:0000:0000:0000:0000:0000:0000:0abc", "fe80::abc"),
        ] {
            assert_eq!(canonical(sent), expected);
        }
    }

    proptest! {
        #[test]
        fn matches_std_display(segments in any::<[u16; 8]>(), zeros in any::<u8>()) {
            // Zero out some groups so that runs of zeros are common.
            let segments: [u16; 8] =
                std::array::from_fn(|i| if zeros & (1 << i) != 0 { 0 } else { segments[i] });
            let addr = Ipv6Addr::from(segments);
            prop_assume!(addr.to_ipv4_mapped().is_none());
            let ours = Rfc5952::new(&addr);
            let std = addr.to_string();
            prop_assert_eq!(ours.as_bytes(), std.as_bytes());
        }
    }
}
