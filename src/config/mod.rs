//! The TOML configuration: every key of DESIGN.md's "Configuration", unknown keys refused,
//! secrets from the file or from an environment variable (`x_env`), and validation whose
//! messages name the file, the key and what is expected.
//!
//! It only reads: nothing here opens a socket or the journal.

mod file;
mod printer;
mod process;
mod providers;
mod secret;
mod settings;

use std::path::{Path, PathBuf};

pub use file::{
    AllpaySection, ConfigFile, JournalSection, LogSection, NetworkSection, PrinterSection,
    TillSection, UiSection, UpaySection, WebmoneySection, WooppaySection, WorkerSection,
};
pub use printer::{PaperWidth, PrinterSettings, PrinterTarget};
pub use process::{DEFAULT_LOG_KEEP_DAYS, ProcessSettings, process};
pub use providers::{
    AllpaySettings, DEFAULT_CASH_IN_URL, DEFAULT_TERMINAL_URL, DEFAULT_UPAY_URL, DEFAULT_WM_URL,
    DEFAULT_WOOPPAY_URL, DEMO_REQUESTER, KeySource, UpaySettings, WebmoneySettings, WmAuth,
    WooppaySettings,
};
pub use secret::{Secret, SecretRef, secret};
pub use settings::{DEFAULT_MAX_IN_FLIGHT, Settings, host_name, plain_http_off_machine};

/// A configuration problem, worded for the person who edits the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: cannot read it: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: key `{key}`: expected {expected}")]
    Invalid {
        path: PathBuf,
        key: String,
        expected: String,
    },
}

/// The data directory (journal, logs) from `directories`, or `./.kassa` where the platform
/// gives none.
pub fn data_dir() -> PathBuf {
    directories::ProjectDirs::from("kz", "kassa", "kassa")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".kassa"))
}

/// The default config file location from `directories`.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("kz", "kassa", "kassa")
        .map(|d| d.config_dir().join("config.toml"))
}

fn check_url(path: &Path, key: &str, url: &str) -> Result<String, ConfigError> {
    let invalid = |expected: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        expected,
    };
    match reqwest::Url::parse(url) {
        // A password in a URL would travel in every request's log line, in the journal's
        // endpoint column and in any error that quotes the URL: it is refused, and the
        // message does not repeat it.
        Ok(u) if !u.username().is_empty() || u.password().is_some() => Err(invalid(format!(
            "a URL without `user:password@` (credentials in a URL end up in logs and the \
             journal; give secrets with their own keys), got \"{}\"",
            redact_url(url)
        ))),
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(url.into()),
        _ => Err(invalid(format!(
            "a whole http:// or https:// URL, got \"{}\"",
            redact_url(url)
        ))),
    }
}

/// `url` with whatever stands before an `@` in its authority replaced by `***`, so that a
/// message can quote a URL without its credentials (even one that does not parse).
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => url.to_string(),
    }
}

fn check_positive(
    path: &Path,
    key: &str,
    v: Option<u64>,
    default: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    match v {
        Some(n) if n == 0 || n > max => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            expected: format!("a number greater than 0 and at most {max}"),
        }),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

#[cfg(test)]
mod fixture {
    use super::*;

    pub(super) fn resolve(text: &str) -> Result<Settings, ConfigError> {
        let path = Path::new("/etc/kassa/config.toml");
        Settings::resolve(&ConfigFile::parse(text, path)?, path)
    }

    pub(super) fn message(text: &str) -> String {
        match resolve(text) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }
}
