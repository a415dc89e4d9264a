//! mbox files (RFC 4155 `application/mbox`): mailbox exports from which reports are imported.

use std::iter::Peekable;
use std::slice::SplitInclusive;

type Lines<'a> = SplitInclusive<'a, u8, fn(&u8) -> bool>;

/// Splits an mbox file into its messages, in memory.
///
/// A line starting with `From ` opens a message and is not part of it (RFC 4155 §2). Body
/// lines that were escaped on writing (`>From `, `>>From `, …) lose one `>`: this is the
/// mboxrd convention, which also reads mboxo files correctly except for lines that were
/// already `>From ` before escaping (undetectable in mboxo). The blank line that separates
/// a message from the next `From ` line belongs to the file format and is removed. Bytes
/// before the first `From ` line are not a message and are skipped.
pub fn split_mbox(input: &[u8]) -> impl Iterator<Item = Vec<u8>> {
    let is_newline: fn(&u8) -> bool = |&b| b == b'\n';
    Messages {
        lines: input.split_inclusive(is_newline).peekable(),
    }
}

struct Messages<'a> {
    lines: Peekable<Lines<'a>>,
}

impl Iterator for Messages<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        while !is_from_line(self.lines.next()?) {}
        let mut message = Vec::new();
        while let Some(line) = self.lines.next_if(|line| !is_from_line(line)) {
            message.extend_from_slice(unescape(line));
        }
        drop_separator(&mut message);
        Some(message)
    }
}

fn is_from_line(line: &[u8]) -> bool {
    line.starts_with(b"From ")
}

/// `>From ` → `From `, `>>From ` → `>From `; other lines unchanged.
fn unescape(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// Removes the empty line that ends a message in an mbox (`\n` or `\r\n`).
fn drop_separator(message: &mut Vec<u8>) {
    if message.ends_with(b"\r\n\r\n") {
        message.truncate(message.len() - 2);
    } else if message.ends_with(b"\n\n") {
        message.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str) -> Vec<String> {
        split_mbox(input.as_bytes())
            .map(|message| String::from_utf8(message).unwrap())
            .collect()
    }

    #[test]
    fn splits_on_from_lines_and_drops_separators() {
        let mbox = "From a@example.com Thu Jan  1 00:00:00 1970\nSubject: one\n\nbody 1\n\n\
                    From b@example.com Thu Jan  1 00:00:00 1970\nSubject: two\n\nbody 2\n";
        assert_eq!(
            split(mbox),
            ["Subject: one\n\nbody 1\n", "Subject: two\n\nbody 2\n"]
        );
    }

    #[test]
    fn unescapes_one_level_of_quoted_from() {
        let mbox =
            "From x\nSubject: q\n\n>From the start\n>>From twice\n> From not escaped\n>Fromage\n";
        assert_eq!(
            split(mbox),
            ["Subject: q\n\nFrom the start\n>From twice\n> From not escaped\n>Fromage\n"]
        );
    }

    #[test]
    fn crlf_and_edge_cases() {
        assert_eq!(
            split("From x\r\nA: b\r\n\r\nc\r\n\r\n"),
            ["A: b\r\n\r\nc\r\n"]
        );
        assert_eq!(split("From x\nFrom y\n"), ["", ""]);
        assert_eq!(split("preamble\nFrom x\nA: b\n"), ["A: b\n"]);
        assert!(split("").is_empty());
        assert!(split("no from line\n").is_empty());
        assert_eq!(split("From x"), [""]);
    }
}
