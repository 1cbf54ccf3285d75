//! `kassa journal export --csv FILE [--from DATE] [--to DATE]` (the file itself is
//! written by [`crate::export`], which the console's `e` uses too).

use std::path::Path;

use serde_json::json;

use super::{Exit, fail_usage};
use crate::export::{ExportError, export_to, range};
use crate::i18n::Lang;
use crate::journal::Journal;

/// `kassa journal export --csv FILE [--from DATE] [--to DATE]`: exit 0 with the file
/// written, 1 for a bad date or a file that cannot be written.
pub fn journal_export(
    lang: Lang,
    journal: &Journal,
    file: &Path,
    from: Option<&str>,
    to: Option<&str>,
    json_out: bool,
) -> Exit {
    let (start, until) = match range(from, to) {
        Ok(r) => r,
        Err((key, args)) => {
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            return fail_usage(lang, json_out, key, &args);
        }
    };
    let shown = file.display().to_string();
    match export_to(journal, file, start, until) {
        Ok(n) => {
            if json_out {
                println!(
                    "{}",
                    json!({"file": shown, "operations": n, "from": from, "to": to})
                );
            } else {
                println!(
                    "{}",
                    crate::i18n::tn(lang, "export.done", n, &[("path", &shown)])
                );
            }
            Exit::Done
        }
        Err(ExportError::Journal(e)) => fail_usage(
            lang,
            json_out,
            "error.journal_open",
            &[("error", &e.to_string())],
        ),
        Err(ExportError::Write(e)) => fail_usage(
            lang,
            json_out,
            "export.write_failed",
            &[("path", &shown), ("error", &e)],
        ),
    }
}
