//! `kassa journal migrate --from PATH`: a till's own journal copied into the chain's that
//! the configuration names (its password stays in the configuration or its variable).

use std::path::Path;

use serde_json::json;

use super::{Exit, fail_usage};
use crate::i18n::{Lang, tf};
use crate::journal::{Journal, Location};

pub fn migrate(lang: Lang, mut target: Journal, from: &Path, till: &str, json_out: bool) -> Exit {
    if !target.is_shared() {
        return fail_usage(lang, json_out, "migrate.needs_url", &[]);
    }
    // A path that names no journal is a typo, not a new, empty till to copy.
    if !from.is_file() {
        let path = from.display().to_string();
        return fail_usage(lang, json_out, "migrate.no_file", &[("path", &path)]);
    }
    let source = match Journal::open_at(&Location::Sqlite(from.to_path_buf()), till) {
        Ok(j) => j,
        Err(e) => {
            let error = e.to_string();
            return fail_usage(lang, json_out, "error.journal_open", &[("error", &error)]);
        }
    };
    match target.migrate_from(&source, till) {
        Ok(m) => {
            if json_out {
                println!("{}", json!(m));
            } else {
                let n = |v: u64| v.to_string();
                println!(
                    "{}",
                    tf(
                        lang,
                        "migrate.done",
                        &[
                            ("operations", &n(m.operations)),
                            ("copied", &n(m.copied)),
                            ("already", &n(m.already)),
                            ("events", &n(m.events)),
                            ("shifts", &n(m.shifts)),
                            ("counters", &n(m.counters)),
                            ("verified", &n(m.verified)),
                        ]
                    )
                );
            }
            Exit::Done
        }
        Err(e) => {
            let error = e.to_string();
            fail_usage(lang, json_out, "migrate.failed", &[("error", &error)])
        }
    }
}
