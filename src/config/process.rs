//! `[network]` and `[log]`: settings of the whole process rather than of one flow. They are
//! resolved with the rest of the file (so a bad value is refused at load like any other)
//! and installed once at start-up, where the HTTP clients and the log clean-up read them.

use std::path::Path;
use std::sync::OnceLock;

use super::{ConfigError, ConfigFile, check_positive, check_url};

/// How long the daily log files are kept when `[log] keep_days` does not say.
pub const DEFAULT_LOG_KEEP_DAYS: u32 = 30;

/// The process-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// The only proxy requests go through (`[network] proxy`). `None`: straight to the
    /// endpoint, whatever HTTPS_PROXY, HTTP_PROXY or ALL_PROXY say.
    pub proxy: Option<String>,
    /// Days a `kassa.log.YYYY-MM-DD` file is kept (`[log] keep_days`, 1..=3650).
    pub log_keep_days: u32,
}

impl Default for ProcessSettings {
    fn default() -> ProcessSettings {
        ProcessSettings {
            proxy: None,
            log_keep_days: DEFAULT_LOG_KEEP_DAYS,
        }
    }
}

impl ProcessSettings {
    /// `[network]` and `[log]` of `file`, checked.
    pub fn resolve(file: &ConfigFile, path: &Path) -> Result<ProcessSettings, ConfigError> {
        let proxy = match &file.network.proxy {
            None => None,
            Some(p) => {
                let p = p.trim();
                let url = check_url(path, "network.proxy", p)?;
                let parsed = reqwest::Url::parse(&url).ok();
                let bare = parsed.as_ref().is_some_and(|u| {
                    u.scheme() == "http"
                        && matches!(u.path(), "" | "/")
                        && u.query().is_none()
                        && u.fragment().is_none()
                });
                if !bare {
                    return Err(ConfigError::Invalid {
                        path: path.to_path_buf(),
                        key: "network.proxy".into(),
                        expected: format!(
                            "an HTTP proxy as http://host:port, got \"{}\"",
                            super::redact_url(p)
                        ),
                    });
                }
                Some(url)
            }
        };
        let keep = check_positive(
            path,
            "log.keep_days",
            file.log.keep_days,
            u64::from(DEFAULT_LOG_KEEP_DAYS),
            3650,
        )?;
        Ok(ProcessSettings {
            proxy,
            log_keep_days: u32::try_from(keep).unwrap_or(DEFAULT_LOG_KEEP_DAYS),
        })
    }

    /// Makes these the process's settings; the first call wins (kassa calls it once, at
    /// start-up, before any client is built). Returns whether this call installed them.
    pub fn install(self) -> bool {
        INSTALLED.set(self).is_ok()
    }
}

static INSTALLED: OnceLock<ProcessSettings> = OnceLock::new();

/// The installed settings, or the defaults (no proxy, logs kept 30 days) when none were
/// (`--demo`, tests that build clients in-process).
pub fn process() -> ProcessSettings {
    INSTALLED.get().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<ProcessSettings, String> {
        let path = Path::new("/etc/kassa/config.toml");
        ConfigFile::parse(text, path)
            .and_then(|f| ProcessSettings::resolve(&f, path))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn network_proxy_and_log_keep_days() {
        assert_eq!(resolve(""), Ok(ProcessSettings::default()));
        let s = resolve("[network]\nproxy = \"http://10.0.0.1:3128\"\n[log]\nkeep_days = 7\n");
        assert_eq!(
            s,
            Ok(ProcessSettings {
                proxy: Some("http://10.0.0.1:3128".into()),
                log_keep_days: 7,
            })
        );
        for bad in ["0", "3651"] {
            let m = resolve(&format!("[log]\nkeep_days = {bad}\n")).err();
            assert!(
                m.as_deref().is_some_and(|m| m.contains("log.keep_days")),
                "{m:?}"
            );
        }
        assert!(resolve("[log]\nkeep_days = 3650\n").is_ok());
        for bad in [
            "10.0.0.1:3128",
            "socks5://h:1080",
            "https://h:3128",
            "http://h:1/x",
        ] {
            let m = resolve(&format!("[network]\nproxy = \"{bad}\"\n")).err();
            assert!(
                m.as_deref().is_some_and(|m| m.contains("network.proxy")),
                "{bad}: {m:?}"
            );
        }
        // Credentials in the proxy's URL are refused like an endpoint's, and not repeated.
        let m = resolve("[network]\nproxy = \"http://u:hunter2@h:3128\"\n").err();
        assert!(
            m.as_deref()
                .is_some_and(|m| m.contains("network.proxy") && !m.contains("hunter2")),
            "{m:?}"
        );
    }
}
