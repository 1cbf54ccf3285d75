//! The daily log, started beside the journal, and its files' lifetime: `kassa.log.YYYY-MM-DD`
//! files are kept `[log] keep_days` (30 unless the config says) and deleted at start-up after
//! that. Nothing else in the directory is ever touched: not the journal, not a file named like
//! a log with anything more or less in its name, not a directory or a link.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// The prefix tracing-appender's daily rotation gives the files (`rolling::daily(dir,
/// "kassa.log")`).
pub const PREFIX: &str = "kassa.log.";

/// The date of a log file's name, when it is exactly `kassa.log.YYYY-MM-DD`.
pub fn log_date(name: &str) -> Option<NaiveDate> {
    let date = name.strip_prefix(PREFIX)?;
    crate::export::parse_date(date).filter(|_| date.len() == 10 && date.trim() == date)
}

/// Deletes the log files in `dir` dated more than `keep_days` days before `today`; returns
/// the paths deleted. Errors (a file that cannot be removed, an unreadable directory) are
/// skipped: a log that stays is no reason to stop a till.
pub fn remove_old_logs(dir: &Path, keep_days: u32, today: NaiveDate) -> Vec<PathBuf> {
    let Some(oldest_kept) = today.checked_sub_days(chrono::Days::new(u64::from(keep_days))) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(date) = name.to_str().and_then(log_date) else {
            continue;
        };
        if date >= oldest_kept {
            continue;
        }
        // A regular file only: `file_type` does not follow a link.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        if std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// At start-up: deletes the expired log files in `dir` by the installed `[log] keep_days`.
/// The files are named by the UTC date (tracing-appender's rotation), so today is UTC too.
pub fn remove_expired(dir: &Path) {
    let keep = crate::config::process().log_keep_days;
    let today = chrono::Utc::now().date_naive();
    let removed = remove_old_logs(dir, keep, today);
    if !removed.is_empty() {
        tracing::info!(
            count = removed.len(),
            keep_days = keep,
            "old log files deleted"
        );
    }
}

/// Starts the daily log in `dir` (`KASSA_LOG` sets the levels) and deletes the expired
/// files; the guard flushes the log when dropped. `None` when the directory cannot be made
/// or a log is already set up.
pub fn init(dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(dir).ok()?;
    let appender = tracing_appender::rolling::daily(dir, "kassa.log");
    // The default buffer of 128,000 lines is preallocated (about 4 MiB); a till logs a few
    // lines a minute, and a full buffer waits rather than drops.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(1024)
        .lossy(false)
        .finish(appender);
    // `KASSA_LOG=debug` or `KASSA_LOG=info,kassa::worker=debug`: per-target levels are all a
    // till needs, so the regex-based env filter (and its crates) stays out of the build.
    let filter: tracing_subscriber::filter::Targets = std::env::var("KASSA_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new()
                .with_default(tracing_subscriber::filter::LevelFilter::INFO)
        });
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .with(filter)
        .try_init()
        .ok()?;
    remove_expired(dir);
    Some(guard)
}

/// The log's first lines: kassa started on this journal, and each endpoint that sends
/// payments and keys over plain http to another machine.
pub fn starting(demo: bool, journal: &Path, plain_http: &[(&'static str, String)]) {
    tracing::info!(demo, journal = %journal.display(), "kassa starting");
    for (key, url) in plain_http {
        tracing::warn!(key, %url, "plain http to another machine: payments and keys travel unencrypted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn only_expired_daily_logs_are_deleted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path();
        let names = [
            "kassa.log.2026-01-31", // today
            "kassa.log.2026-01-01", // 30 days ago: kept
            "kassa.log.2025-12-31", // 31 days ago: deleted
            "kassa.log.2020-05-05", // deleted
            "kassa.log.2020-05-05.gz",
            "kassa.log.2020-5-5",
            "kassa.log.old",
            "kassa.log",
            "other.log.2020-05-05",
            "kassa.db",
            "kassa.db-wal",
            "notes.txt",
        ];
        for n in names {
            std::fs::write(p.join(n), n).expect("write");
        }
        // A directory named like an old log is not a log.
        std::fs::create_dir(p.join("kassa.log.2019-01-01")).expect("mkdir");
        let removed = remove_old_logs(p, 30, day(2026, 1, 31));
        assert_eq!(
            removed,
            vec![
                p.join("kassa.log.2020-05-05"),
                p.join("kassa.log.2025-12-31")
            ]
        );
        let mut left: Vec<String> = std::fs::read_dir(p)
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut expected: Vec<String> = names
            .iter()
            .filter(|n| !["kassa.log.2025-12-31", "kassa.log.2020-05-05"].contains(n))
            .map(|n| n.to_string())
            .chain(["kassa.log.2019-01-01".to_string()])
            .collect();
        expected.sort();
        assert_eq!(left, expected);
        // keep_days = 1 keeps today and yesterday.
        let removed = remove_old_logs(p, 1, day(2026, 1, 31));
        assert_eq!(removed, vec![p.join("kassa.log.2026-01-01")]);
        assert!(p.join("kassa.log.2026-01-31").exists());
        // A directory that does not exist is nothing to do.
        assert!(remove_old_logs(&p.join("nope"), 30, day(2026, 1, 31)).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_named_like_an_old_log_is_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("precious.txt");
        std::fs::write(&target, "keep").expect("write");
        std::os::unix::fs::symlink(&target, dir.path().join("kassa.log.2000-01-01"))
            .expect("symlink");
        assert!(remove_old_logs(dir.path(), 30, day(2026, 1, 31)).is_empty());
        assert!(target.exists());
    }
}
