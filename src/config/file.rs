//! The TOML file as written: [`ConfigFile`] and its sections, each refusing keys it does
//! not know, and reading and parsing it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;
use crate::i18n::Lang;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub ui: UiSection,
    #[serde(default)]
    pub journal: JournalSection,
    #[serde(default)]
    pub worker: WorkerSection,
    #[serde(default)]
    pub allpay: AllpaySection,
    #[serde(default)]
    pub wooppay: WooppaySection,
    #[serde(default)]
    pub upay: UpaySection,
    #[serde(default)]
    pub webmoney: WebmoneySection,
    pub printer: Option<PrinterSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    pub lang: Option<Lang>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalSection {
    pub path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    pub poll_initial_ms: Option<u64>,
    pub poll_max_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllpaySection {
    pub terminal_url: Option<String>,
    pub cash_in_url: Option<String>,
    pub requester: Option<String>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WooppaySection {
    pub url: Option<String>,
    pub login: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub invoice_ttl_minutes: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub ping_sweep_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpaySection {
    pub url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub partner_key: Option<String>,
    pub partner_key_env: Option<String>,
    pub service_id: Option<u64>,
    pub hold_minutes: Option<u64>,
    pub notify_url: Option<String>,
    pub notify_listen: Option<String>,
    pub notify_tls_cert: Option<PathBuf>,
    pub notify_tls_key: Option<PathBuf>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebmoneySection {
    pub url: Option<String>,
    pub wmid: Option<String>,
    pub purse: Option<String>,
    pub auth: Option<String>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub kwm: Option<PathBuf>,
    pub kwm_password: Option<String>,
    pub kwm_password_env: Option<String>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterSection {
    pub device: Option<PathBuf>,
    pub tcp: Option<String>,
    pub width_mm: Option<u32>,
}

impl ConfigFile {
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        ConfigFile::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::fixture::message;

    #[test]
    fn unknown_key_names_file_and_key() {
        let m = message("[allpay]\nrequestor = \"1\"\n");
        assert!(m.contains("/etc/kassa/config.toml"), "{m}");
        assert!(m.contains("requestor"), "{m}");
        let m = message("[alpay]\n");
        assert!(m.contains("alpay"), "{m}");
    }
}
