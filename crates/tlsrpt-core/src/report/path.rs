//! Where in the report a diagnostic or error applies, and where diagnostics collect.
//!
//! A [`Path`] is a linked list of borrowed segments on the stack: building one for every
//! value costs nothing, and it is rendered to text (`policies[1].failure-details[0].sending-mta-ip`)
//! only when a diagnostic or error actually names it, which for most reports is never.

use crate::{Diagnostic, DiagnosticCode};

/// A JSON location, root first, in the dotted form used by diagnostics and [`ParseError`].
///
/// [`ParseError`]: super::ParseError
#[derive(Debug, Clone, Copy)]
pub(super) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// The member `name` of the object at this path.
    pub(super) fn key<'b>(&'b self, name: &'b str) -> Path<'b> {
        Path::Key(self, name)
    }

    /// Element `index` of the array at this path.
    pub(super) fn index(&self, index: usize) -> Path<'_> {
        Path::Index(self, index)
    }
}

impl Path<'_> {
    /// The path as text. Hand-rolled rather than `Display`: a report can carry hundreds of
    /// diagnostics, and `core::fmt` recursion with string growth dominated their cost.
    pub(super) fn render(&self) -> String {
        let mut text = String::with_capacity(64);
        self.render_into(&mut text);
        text
    }

    fn render_into(&self, text: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, name) => {
                parent.render_into(text);
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(name);
            }
            Path::Index(parent, index) => {
                parent.render_into(text);
                text.push('[');
                text.push_str(itoa(*index, &mut [0; 20]));
                text.push(']');
            }
        }
    }
}

/// `value` in decimal, written into `buffer` (20 digits hold any u64).
fn itoa(mut value: usize, buffer: &mut [u8; 20]) -> &str {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[start..]).expect("ASCII digits")
}

/// Collects the diagnostics of one parse, and where a deserialisation error happened.
#[derive(Debug, Default)]
pub(super) struct Sink {
    pub(super) diagnostics: Vec<Diagnostic>,
    /// The innermost path at which serde reported an error. serde_json errors carry a line
    /// and column but no JSON path; each visitor records its path as the error passes
    /// through, and only the first (innermost) one is kept.
    pub(super) error_at: Option<String>,
}

impl Sink {
    pub(super) fn note(&mut self, code: DiagnosticCode, path: &Path, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(code, path.render(), message));
    }

    /// Records `path` as the error location unless a deeper one is already known.
    pub(super) fn locate(&mut self, path: &Path) {
        self.error_at.get_or_insert_with(|| path.render());
    }
}

#[cfg(test)]
mod tests {
    use super::Path;

    #[test]
    fn renders_keys_and_indices() {
        let root = Path::Root;
        let policies = root.key("policies");
        let first = policies.index(1);
        let details = first.key("failure-details");
        let detail = details.index(0);
        assert_eq!(
            detail.key("sending-mta-ip").render(),
            "policies[1].failure-details[0].sending-mta-ip"
        );
        assert_eq!(root.render(), "");
        assert_eq!(root.index(1234567890).render(), "[1234567890]");
    }
}
