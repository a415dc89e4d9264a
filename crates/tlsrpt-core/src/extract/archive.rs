//! zip archives: not in RFC 8460, but some senders and most "download your reports" exports
//! use them, and existing receivers accept them (SPEC §2.6).
//!
//! Entry names are kept as names only and never joined to a path: this crate does no IO, and
//! the names (`../../etc/passwd`) are attacker-controlled (§6.3 makes the same point for gzip).

use std::io::Cursor;

use zip::ZipArchive;

use super::{Budget, ExtractErrorKind};

/// One file of an archive, read under the budget, or why it could not be read.
pub(super) struct Entry {
    pub name: String,
    pub content: Result<Vec<u8>, ExtractErrorKind>,
}

/// Reads every file entry of the archive in `input`, skipping directories and macOS
/// resource forks (`__MACOSX/`, added by Finder's "Compress").
///
/// Sizes declared in the archive are not trusted: every entry is read through
/// [`Budget::read`], which stops one byte past the budget whatever the headers claim.
pub(super) fn entries(input: &[u8], budget: &mut Budget) -> Result<Vec<Entry>, ExtractErrorKind> {
    let mut archive = ZipArchive::new(Cursor::new(input)).map_err(bad_zip)?;
    let mut entries = Vec::new();
    for index in 0..archive.len() {
        let name = entry_name(&archive, index);
        if name.ends_with('/') || name.starts_with("__MACOSX/") {
            continue;
        }
        let content = archive
            .by_index(index)
            .map_err(bad_zip)
            .and_then(|mut file| budget.read(&mut file, ExtractErrorKind::BadZip));
        let exhausted = matches!(content, Err(ExtractErrorKind::TooLarge { .. }));
        entries.push(Entry { name, content });
        if exhausted {
            break;
        }
    }
    Ok(entries)
}

fn entry_name(archive: &ZipArchive<Cursor<&[u8]>>, index: usize) -> String {
    match archive.name_for_index(index) {
        Some(Ok(name)) => name.into_owned(),
        _ => format!("#{index}"),
    }
}

fn bad_zip(error: zip::result::ZipError) -> ExtractErrorKind {
    ExtractErrorKind::BadZip(error.to_string())
}
