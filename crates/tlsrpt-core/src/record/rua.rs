//! `rua` URIs (RFC 8460 §3): `mailto:` (RFC 6068) and `https:` (RFC 3986, RFC 9110), the
//! only two schemes reporters implement.
//!
//! Hand-parsed rather than with the `url` crate: `url` follows the WHATWG URL standard,
//! which repairs input (drops tabs and newlines, accepts `https:host` and backslashes), so
//! it would hide exactly the mistakes this module exists to report, and it gives no byte
//! positions for them. The subset needed here (scheme, authority, `addr-spec`) is small.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::problem::{ProblemCode, Problems, RecordProblem, show};

/// One valid `rua` destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuaUri {
    /// As written in the record.
    pub uri: String,
    #[serde(flatten)]
    pub target: RuaTarget,
}

/// Where reports go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
pub enum RuaTarget {
    /// Percent-decoded `addr-spec`s. RFC 6068 §2 allows several in one URI, separated by a
    /// comma, which RFC 8460 §3 requires to be written `%2C`.
    Mailto { addresses: Vec<String> },
    /// The host, lower-cased: the name the HTTPS certificate must match.
    Https { host: String },
}

impl RuaUri {
    /// Reads one URI for publishing, such as a `record` command's argument. Strict: any
    /// problem, warning included, refuses it, so generated records are clean. Columns count
    /// from the URI's first byte.
    pub fn parse(text: &str) -> Result<RuaUri, Vec<RecordProblem>> {
        let mut problems = Problems::default();
        match read(text.as_bytes(), 1, &mut problems) {
            Some(uri) if problems.is_empty() => Ok(uri),
            _ => Err(problems.into_all()),
        }
    }
}

/// Reads one URI of a record's `rua` list; `column` is the column of its first byte.
/// Returns `None` after reporting an error.
pub(crate) fn read(text: &[u8], column: usize, problems: &mut Problems) -> Option<RuaUri> {
    if let Some(space) = text.iter().position(|&b| b == b' ' || b == b'\t') {
        space_in_uri(column + space, problems);
        return None;
    }
    let Some(colon) = scheme_end(text) else {
        missing_scheme(text, column, problems);
        return None;
    };
    let scheme = text[..colon].to_ascii_lowercase();
    if scheme != b"mailto" && scheme != b"https" {
        unsupported_scheme(&text[..colon], column, problems);
        return None;
    }
    if !valid_characters(text, column, problems) {
        return None;
    }
    if scheme != text[..colon] {
        uppercase_scheme(&text[..colon], column, problems);
    }
    let target = if scheme == b"mailto" {
        mailto(&text[colon + 1..], column + colon + 1, problems)?
    } else {
        https(&text[colon + 1..], column + colon + 1, problems)?
    };
    Some(RuaUri {
        uri: show(text),
        target,
    })
}

/// Index of the `:` ending `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`
/// (RFC 3986 §3.1).
fn scheme_end(text: &[u8]) -> Option<usize> {
    let colon = text.iter().position(|&b| b == b':')?;
    let scheme = &text[..colon];
    (scheme.first()?.is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
    .then_some(colon)
}

fn space_in_uri(column: usize, problems: &mut Problems) {
    problems.add(
        column,
        ProblemCode::SpaceInUri,
        "space inside a URI; several URIs must be separated by ',' (RFC 8460 §3)",
        "separate URIs with ',' and no space; percent-encode a space that belongs to a URI \
         as %20",
    );
}

fn missing_scheme(text: &[u8], column: usize, problems: &mut Problems) {
    let fix = if text.contains(&b'@') {
        format!("write mailto:{}", show(text))
    } else {
        format!("write https://{} or a mailto: address", show(text))
    };
    problems.add(
        column,
        ProblemCode::MissingScheme,
        format!(
            "{:?} is not a URI: it has no scheme (RFC 8460 §3 needs mailto: or https:)",
            show(text)
        ),
        fix,
    );
}

fn unsupported_scheme(scheme: &[u8], column: usize, problems: &mut Problems) {
    let fix = if scheme.eq_ignore_ascii_case(b"http") {
        "use https://; reporters do not send reports over plain HTTP".to_owned()
    } else {
        "use a mailto: or https:// URI".to_owned()
    };
    problems.add(
        column,
        ProblemCode::UnsupportedScheme,
        format!(
            "scheme {:?} is not supported: RFC 8460 §3 defines only mailto and https",
            show(scheme)
        ),
        fix,
    );
}

fn uppercase_scheme(scheme: &[u8], column: usize, problems: &mut Problems) {
    problems.add(
        column,
        ProblemCode::UppercaseScheme,
        format!(
            "scheme {:?} is not lower case; RFC 3986 §3.1 makes case irrelevant, but some \
             senders compare it literally",
            show(scheme)
        ),
        format!("write {}:", show(&scheme.to_ascii_lowercase())),
    );
}

/// Checks RFC 3986 §2 characters and percent-encoding, plus RFC 8460 §3's rule that `!`,
/// `,` and `;` inside a URI are encoded (they separate list items and, in DMARC, sizes).
fn valid_characters(text: &[u8], column: usize, problems: &mut Problems) -> bool {
    let mut index = 0;
    while index < text.len() {
        let byte = text[index];
        let at = column + index;
        match byte {
            b'%' if text.get(index + 1..index + 3).is_some_and(is_hex_pair) => index += 3,
            b'%' => return bad_percent(at, problems),
            b'!' if is_size_suffix(&text[index + 1..]) => {
                return size_suffix(&text[index..], at, problems);
            }
            b'!' | b',' | b';' => return unencoded(byte, at, problems),
            _ if is_uri_byte(byte) => index += 1,
            _ => return not_uri_byte(byte, at, problems),
        }
    }
    true
}

fn is_hex_pair(pair: &[u8]) -> bool {
    pair.iter().all(u8::is_ascii_hexdigit)
}

/// unreserved / gen-delims / sub-delims (RFC 3986 §2.2, §2.3); `%` is handled apart.
fn is_uri_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&byte)
}

/// `10m`, `50k`, `1000`: what follows `!` in a DMARC `rua` (RFC 7489 §6.4).
fn is_size_suffix(rest: &[u8]) -> bool {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0
        && matches!(
            &rest[digits..],
            [] | [b'k' | b'm' | b'g' | b't' | b'K' | b'M' | b'G' | b'T']
        )
}

fn bad_percent(column: usize, problems: &mut Problems) -> bool {
    problems.add(
        column,
        ProblemCode::InvalidPercentEncoding,
        "'%' is not followed by two hex digits (RFC 3986 §2.1)",
        "write a literal '%' as %25",
    );
    false
}

fn size_suffix(suffix: &[u8], column: usize, problems: &mut Problems) -> bool {
    problems.add(
        column,
        ProblemCode::SizeSuffix,
        format!(
            "{:?} is a DMARC-style size limit; TLSRPT has none, and RFC 8460 §3 requires \
             '!' in a URI to be percent-encoded",
            show(suffix)
        ),
        format!("remove {:?}", show(suffix)),
    );
    false
}

fn unencoded(byte: u8, column: usize, problems: &mut Problems) -> bool {
    problems.add(
        column,
        ProblemCode::UnencodedCharacter,
        format!(
            "{:?} inside a URI must be percent-encoded (RFC 8460 §3)",
            char::from(byte)
        ),
        format!("write it as %{byte:02X}, or separate URIs with ',' only between them"),
    );
    false
}

fn not_uri_byte(byte: u8, column: usize, problems: &mut Problems) -> bool {
    problems.add(
        column,
        ProblemCode::InvalidUri,
        format!("byte 0x{byte:02x} is not allowed in a URI (RFC 3986 §2)"),
        format!("percent-encode it as %{byte:02X}"),
    );
    false
}

/// `mailto:` `to` [`?` hfields] (RFC 6068 §2). Returns the decoded addresses.
fn mailto(rest: &[u8], column: usize, problems: &mut Problems) -> Option<RuaTarget> {
    if let Some(address) = rest.strip_prefix(b"//") {
        problems.add(
            column,
            ProblemCode::InvalidAddress,
            "\"mailto:\" is followed by \"//\"; mailto URIs have no authority (RFC 6068 §2)",
            format!("write mailto:{}", show(address)),
        );
        return None;
    }
    if let Some(hash) = rest.iter().position(|&b| b == b'#') {
        problems.add(
            column + hash,
            ProblemCode::InvalidUri,
            "'#' begins a fragment, which mailto URIs do not have (RFC 6068 §2)",
            "write a '#' that belongs to the address as %23",
        );
        return None;
    }
    let to_end = rest.iter().position(|&b| b == b'?').unwrap_or(rest.len());
    if to_end < rest.len() {
        problems.add(
            column + to_end,
            ProblemCode::MailtoQuery,
            "the \"?…\" part of a mailto URI is ignored: reporters write their own subject \
             and body (RFC 8460 §5.3)",
            "remove everything from '?' on",
        );
    }
    let decoded = percent_decode(&rest[..to_end], column);
    let mut addresses = Vec::new();
    for address in decoded.split(|&(byte, _)| byte == b',') {
        addresses.push(addr_spec(address, column + to_end, problems)?);
    }
    Some(RuaTarget::Mailto { addresses })
}

/// Decoded bytes, each with the column of the text it came from, so a problem found after
/// decoding still points into the record. Input is already checked for well-formed `%XX`.
fn percent_decode(text: &[u8], column: usize) -> Vec<(u8, usize)> {
    let mut decoded = Vec::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        if text[index] == b'%' {
            let pair = std::str::from_utf8(&text[index + 1..index + 3]).unwrap_or_default();
            decoded.push((
                u8::from_str_radix(pair, 16).unwrap_or_default(),
                column + index,
            ));
            index += 3;
        } else {
            decoded.push((text[index], column + index));
            index += 1;
        }
    }
    decoded
}

/// `addr-spec = local-part "@" domain` (RFC 5322 §3.4.1), with RFC 5321's length limit on
/// the local part. `end` is the column after the address list, for an empty address.
fn addr_spec(address: &[(u8, usize)], end: usize, problems: &mut Problems) -> Option<String> {
    let bytes: Vec<u8> = address.iter().map(|&(byte, _)| byte).collect();
    let column_of = |offset: usize| address.get(offset).map_or(end, |&(_, column)| column);
    let Some(at) = bytes.iter().rposition(|&b| b == b'@') else {
        problems.add(
            column_of(0),
            ProblemCode::InvalidAddress,
            format!("{:?} is not an e-mail address: it has no '@'", show(&bytes)),
            "write the full address, as in mailto:tlsrpt@example.com",
        );
        return None;
    };
    let problem = local_part_problem(&bytes[..at])
        .or_else(|| domain_problem(&bytes[at + 1..]).map(|(offset, why)| (at + 1 + offset, why)));
    if let Some((offset, why)) = problem {
        problems.add(
            column_of(offset),
            ProblemCode::InvalidAddress,
            format!("{:?} is not a valid e-mail address: {why}", show(&bytes)),
            "correct the address; percent-encode characters that a URI does not allow",
        );
        return None;
    }
    Some(show(&bytes))
}

/// `dot-atom` or `quoted-string`, at most 64 octets (RFC 5321 §4.5.3.1.1).
fn local_part_problem(local: &[u8]) -> Option<(usize, String)> {
    if local.is_empty() {
        return Some((0, "nothing before '@'".to_owned()));
    }
    if local.len() > 64 {
        return Some((64, "the part before '@' is longer than 64 bytes".to_owned()));
    }
    if let [b'"', inner @ .., b'"'] = local {
        return inner
            .iter()
            .position(|&b| !(0x20..=0x7e).contains(&b))
            .map(|i| {
                (
                    i + 1,
                    "a quoted local part holds a non-printable byte".to_owned(),
                )
            });
    }
    dot_atom_problem(local)
}

fn dot_atom_problem(local: &[u8]) -> Option<(usize, String)> {
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
    let bad_dot = |i: usize| i == 0 || i == local.len() - 1 || local[i - 1] == b'.';
    local.iter().enumerate().find_map(|(i, &b)| match b {
        b'.' if bad_dot(i) => Some((i, "a dot at the start or end, or two dots".to_owned())),
        b'.' => None,
        _ if atext(b) => None,
        _ => Some((i, format!("{:?} is not allowed unquoted", char::from(b)))),
    })
}

/// A host name, or an address literal `[192.0.2.1]` / `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3).
fn domain_problem(domain: &[u8]) -> Option<(usize, String)> {
    if let [b'[', inner @ .., b']'] = domain {
        let text = std::str::from_utf8(inner).unwrap_or_default();
        let valid = match text.strip_prefix("IPv6:") {
            Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
            None => text.parse::<Ipv4Addr>().is_ok(),
        };
        return (!valid).then(|| (1, "the address literal is not an IP address".to_owned()));
    }
    host_name_problem(domain)
}

/// Dot-separated labels of letters, digits and inner hyphens, each 1–63 bytes, at most 253
/// in all (RFC 1035 §2.3.1, RFC 1123 §2.1). International names must be in A-label form.
fn host_name_problem(host: &[u8]) -> Option<(usize, String)> {
    if host.is_empty() {
        return Some((0, "the domain is empty".to_owned()));
    }
    if host.len() > 253 {
        return Some((253, "the domain is longer than 253 bytes".to_owned()));
    }
    let mut start: usize = 0;
    for label in host.split(|&b| b == b'.') {
        if label.is_empty() {
            return Some((
                start.saturating_sub(1),
                "an empty label (two dots, or a dot at the start or end)".to_owned(),
            ));
        }
        if let Some((offset, why)) = label_problem(label) {
            return Some((start + offset, why));
        }
        start += label.len() + 1;
    }
    None
}

fn label_problem(label: &[u8]) -> Option<(usize, String)> {
    if label.len() > 63 {
        return Some((63, "a label is longer than 63 bytes".to_owned()));
    }
    if let Some(bad) = label
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Some((
            bad,
            format!(
                "byte {:?} is not allowed in a host name (international names need their \
                 xn-- form)",
                char::from(label[bad])
            ),
        ));
    }
    if label.starts_with(b"-") || label.ends_with(b"-") {
        let offset = if label.starts_with(b"-") {
            0
        } else {
            label.len() - 1
        };
        return Some((offset, "a label begins or ends with '-'".to_owned()));
    }
    None
}

/// `https:` `//` authority path (RFC 3986 §3, RFC 9110 §4.2.2). Returns the host.
fn https(rest: &[u8], column: usize, problems: &mut Problems) -> Option<RuaTarget> {
    let Some(after) = rest.strip_prefix(b"//") else {
        problems.add(
            column,
            ProblemCode::MissingHost,
            "\"https:\" must be followed by \"//\" and a host (RFC 9110 §4.2.2)",
            format!("write https://{}", show(rest)),
        );
        return None;
    };
    let column = column + 2;
    let end = after
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after.len());
    let authority = &after[..end];
    if let Some(at) = authority.iter().position(|&b| b == b'@') {
        problems.add(
            column,
            ProblemCode::InvalidUri,
            "the URI carries a user name or password; RFC 9110 §4.2.4 forbids them in https URIs",
            format!("remove {:?}", show(&authority[..=at])),
        );
        return None;
    }
    let (host, port) = split_port(authority);
    if let Some(port) = port.filter(|port| !port.is_empty() && !is_port(port)) {
        problems.add(
            column + host.len() + 1,
            ProblemCode::InvalidUri,
            format!("port {:?} is not a number from 0 to 65535", show(port)),
            "correct the port, or leave it out for 443",
        );
        return None;
    }
    https_host(host, column, problems)
}

/// Splits `host[:port]`, where an IPv6 literal's colons are inside brackets.
fn split_port(authority: &[u8]) -> (&[u8], Option<&[u8]>) {
    let host_end = match authority.first() {
        Some(b'[') => authority
            .iter()
            .position(|&b| b == b']')
            .map_or(authority.len(), |i| i + 1),
        _ => authority
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(authority.len()),
    };
    let (host, rest) = authority.split_at(host_end);
    (
        host,
        rest.strip_prefix(b":")
            .or((!rest.is_empty()).then_some(rest)),
    )
}

fn is_port(port: &[u8]) -> bool {
    port.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(port).is_ok_and(|port| port.parse::<u16>().is_ok())
}

fn https_host(host: &[u8], column: usize, problems: &mut Problems) -> Option<RuaTarget> {
    if host.is_empty() {
        problems.add(
            column,
            ProblemCode::MissingHost,
            "the https URI has no host",
            "write the host after \"https://\", as in https://reports.example.com/tlsrpt",
        );
        return None;
    }
    let problem = match host {
        [b'[', inner @ .., b']'] => std::str::from_utf8(inner)
            .ok()
            .and_then(|text| text.parse::<Ipv6Addr>().ok())
            .is_none()
            .then(|| (1, "the bracketed host is not an IPv6 address".to_owned())),
        _ => host_name_problem(host),
    };
    if let Some((offset, why)) = problem {
        problems.add(
            column + offset,
            ProblemCode::InvalidHost,
            format!("host {:?} is not valid: {why}", show(host)),
            "correct the host name",
        );
        return None;
    }
    Some(RuaTarget::Https {
        host: show(&host.to_ascii_lowercase()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProblemCode::*;

    fn first(text: &str) -> (usize, ProblemCode) {
        let problems = RuaUri::parse(text).expect_err(text);
        (problems[0].column, problems[0].code)
    }

    fn addresses(text: &str) -> Vec<String> {
        match RuaUri::parse(text).unwrap().target {
            RuaTarget::Mailto { addresses } => addresses,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn valid_mailto_uris() {
        assert_eq!(
            addresses("mailto:tlsrpt@example.com"),
            ["tlsrpt@example.com"]
        );
        assert_eq!(
            addresses("mailto:a.b+tag@sub.example.co.uk"),
            ["a.b+tag@sub.example.co.uk"]
        );
        assert_eq!(addresses("mailto:%74ls@example.com"), ["tls@example.com"]);
        assert_eq!(
            addresses("mailto:a@x.example%2Cb@y.example"),
            ["a@x.example", "b@y.example"]
        );
        assert_eq!(
            addresses("mailto:%22a%20b%22@example.com"),
            ["\"a b\"@example.com"]
        );
        assert_eq!(addresses("mailto:a@[192.0.2.1]"), ["a@[192.0.2.1]"]);
        assert_eq!(
            addresses("mailto:a@[IPv6:2001:db8::1]"),
            ["a@[IPv6:2001:db8::1]"]
        );
        assert_eq!(
            addresses("mailto:r@xn--bcher-kva.example"),
            ["r@xn--bcher-kva.example"]
        );
    }

    #[test]
    fn valid_https_uris() {
        for (uri, host) in [
            (
                "https://reports.example.com/v1/tlsrpt",
                "reports.example.com",
            ),
            ("https://Reports.Example.com", "reports.example.com"),
            ("https://example.com:8443/r?k=v&x=%2F#f", "example.com"),
            ("https://192.0.2.1/r", "192.0.2.1"),
            ("https://[2001:db8::1]:443/r", "[2001:db8::1]"),
        ] {
            let parsed = RuaUri::parse(uri).unwrap();
            assert_eq!(
                parsed.target,
                RuaTarget::Https {
                    host: host.to_owned()
                },
                "{uri}"
            );
            assert_eq!(parsed.uri, uri);
        }
    }

    #[test]
    fn scheme_problems() {
        assert_eq!(first("http://example.com/r"), (1, UnsupportedScheme));
        assert_eq!(first("ftp://example.com/r"), (1, UnsupportedScheme));
        assert_eq!(first("tlsrpt@example.com"), (1, MissingScheme));
        assert_eq!(first("reports.example.com/r"), (1, MissingScheme));
        assert_eq!(first("1mailto:a@b.example"), (1, MissingScheme));
        assert_eq!(first("MAILTO:a@b.example"), (1, UppercaseScheme));
        assert_eq!(first("HTTPS://b.example"), (1, UppercaseScheme));
    }

    #[test]
    fn character_problems() {
        assert_eq!(first("mailto:a@b.example!10m"), (19, SizeSuffix));
        assert_eq!(first("mailto:a@b.example!10"), (19, SizeSuffix));
        assert_eq!(first("mailto:a!b@b.example"), (9, UnencodedCharacter));
        assert_eq!(
            first("mailto:a@b.example,mailto:c@d.example"),
            (19, UnencodedCharacter)
        );
        assert_eq!(first("mailto:a@b.example;x"), (19, UnencodedCharacter));
        assert_eq!(
            first("mailto:a@b.example mailto:c@d.example"),
            (19, SpaceInUri)
        );
        assert_eq!(first("mailto:a%zz@b.example"), (9, InvalidPercentEncoding));
        assert_eq!(first("mailto:a%2@b.example"), (9, InvalidPercentEncoding));
        assert_eq!(first("https://b.example/<x>"), (19, InvalidUri));
        assert_eq!(first("mailto:ä@b.example"), (8, InvalidUri));
    }

    #[test]
    fn address_problems() {
        assert_eq!(first("mailto:"), (8, InvalidAddress));
        assert_eq!(first("mailto:example.com"), (8, InvalidAddress));
        assert_eq!(first("mailto://a@b.example"), (8, InvalidAddress));
        assert_eq!(first("mailto:@b.example"), (8, InvalidAddress));
        assert_eq!(first("mailto:a..b@b.example"), (10, InvalidAddress));
        assert_eq!(first("mailto:.a@b.example"), (8, InvalidAddress));
        assert_eq!(first("mailto:a@b..example"), (11, InvalidAddress));
        assert_eq!(first("mailto:a@b.example."), (19, InvalidAddress));
        assert_eq!(first("mailto:a@-b.example"), (10, InvalidAddress));
        assert_eq!(first("mailto:a@b_c.example"), (11, InvalidAddress));
        assert_eq!(first("mailto:a@"), (10, InvalidAddress));
        assert_eq!(first("mailto:a@[300.1.1.1]"), (11, InvalidAddress));
        assert_eq!(first("mailto:%C3%A4@b.example"), (8, InvalidAddress));
        assert_eq!(first("mailto:a@b.example%2C"), (22, InvalidAddress));
        assert_eq!(first("mailto:a#b@b.example"), (9, InvalidUri));
        assert_eq!(addresses("mailto:a%23b%3F@b.example"), ["a#b?@b.example"]);
        let long = format!("mailto:{}@b.example", "a".repeat(65));
        assert_eq!(first(&long), (72, InvalidAddress));
        let label = format!("mailto:a@{}.example", "b".repeat(64));
        assert_eq!(first(&label), (73, InvalidAddress));
    }

    #[test]
    fn mailto_query_is_a_warning() {
        let problems = RuaUri::parse("mailto:a@b.example?subject=tlsrpt").unwrap_err();
        assert_eq!((problems[0].column, problems[0].code), (19, MailtoQuery));
        let mut lenient = Problems::default();
        let uri = read(b"mailto:a@b.example?subject=x", 1, &mut lenient).unwrap();
        assert_eq!(
            uri.target,
            RuaTarget::Mailto {
                addresses: vec!["a@b.example".into()]
            }
        );
    }

    #[test]
    fn https_problems() {
        assert_eq!(first("https:b.example/r"), (7, MissingHost));
        assert_eq!(first("https:///r"), (9, MissingHost));
        assert_eq!(first("https://user:pw@b.example/r"), (9, InvalidUri));
        assert_eq!(first("https://b.example:99999/r"), (19, InvalidUri));
        assert_eq!(first("https://b.example:x/r"), (19, InvalidUri));
        assert_eq!(first("https://b_c.example/r"), (10, InvalidHost));
        assert_eq!(first("https://[::g]/r"), (10, InvalidHost));
        assert_eq!(first("https://b.example-/r"), (18, InvalidHost));
        assert!(
            RuaUri::parse("https://b.example:/r").is_ok(),
            "RFC 3986 allows an empty port"
        );
    }
}
