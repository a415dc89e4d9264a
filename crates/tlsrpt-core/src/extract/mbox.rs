//! mbox files (RFC 4155 `application/mbox`): mailbox exports from which reports are imported.

/// Splits an mbox file held in memory into its messages; see [`MboxSplitter`].
pub fn split_mbox(input: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut lines = input.split_inclusive(|&b| b == b'\n');
    let mut splitter = Some(MboxSplitter::default());
    std::iter::from_fn(move || {
        for line in lines.by_ref() {
            if let Some(message) = splitter.as_mut()?.line(line) {
                return Some(message);
            }
        }
        splitter.take()?.finish()
    })
}

/// Splits an mbox into messages one line at a time, so that a caller reading a mailbox of
/// any size holds one message, never the file (the reading is the caller's: no IO here).
///
/// A line starting with `From ` opens a message and is not part of it (RFC 4155 §2). Body
/// lines that were escaped on writing (`>From `, `>>From `, …) lose one `>`: this is the
/// mboxrd convention, which also reads mboxo files correctly except for lines that were
/// already `>From ` before escaping (undetectable in mboxo). The blank line that separates
/// a message from the next `From ` line belongs to the file format and is removed. Bytes
/// before the first `From ` line are not a message and are skipped.
#[derive(Debug, Default)]
pub struct MboxSplitter {
    /// The message being read; `None` before the first `From ` line.
    message: Option<Vec<u8>>,
}

impl MboxSplitter {
    /// Takes the next line, newline included; returns the message it ended, if any.
    pub fn line(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        if is_from_line(line) {
            self.message.replace(Vec::new()).map(without_separator)
        } else {
            if let Some(message) = &mut self.message {
                message.extend_from_slice(unescape(line));
            }
            None
        }
    }

    /// The last message, once the input has ended.
    pub fn finish(self) -> Option<Vec<u8>> {
        self.message.map(without_separator)
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
fn without_separator(mut message: Vec<u8>) -> Vec<u8> {
    if message.ends_with(b"\r\n\r\n") {
        message.truncate(message.len() - 2);
    } else if message.ends_with(b"\n\n") {
        message.pop();
    }
    message
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
