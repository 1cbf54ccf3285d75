//! The TOML configuration: every key of DESIGN.md's "Configuration", unknown keys refused,
//! secrets from the file or from an environment variable (`x_env`), and validation whose
//! messages name the file, the key and what is expected.
//!
//! It only reads: nothing here opens a socket or the journal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::i18n::Lang;

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

/// The effective settings a run uses, after defaults, validation and `--demo`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lang: Lang,
    pub journal_path: PathBuf,
    pub log_dir: PathBuf,
    pub poll_initial: Duration,
    pub poll_max: Duration,
    pub allpay: AllpaySettings,
    pub webmoney: WebmoneySettings,
    pub upay: UpaySettings,
    pub wooppay: WooppaySettings,
    /// The receipt printer (`[printer]`), when there is one.
    pub printer: Option<PrinterSettings>,
    /// Set under `--demo`: endpoints point at the in-process emulator.
    pub demo: bool,
}

/// Where receipts go: a device file (`/dev/usb/lp0`) or a network printer (`host:9100`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    Device(PathBuf),
    Tcp(String),
}

/// The receipt paper: 58 mm (32 characters a line) or 80 mm (48).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaperWidth {
    Mm58,
    #[default]
    Mm80,
}

impl PaperWidth {
    pub fn from_mm(mm: u32) -> Option<PaperWidth> {
        match mm {
            58 => Some(PaperWidth::Mm58),
            80 => Some(PaperWidth::Mm80),
            _ => None,
        }
    }

    pub fn mm(self) -> u32 {
        match self {
            PaperWidth::Mm58 => 58,
            PaperWidth::Mm80 => 80,
        }
    }
}

/// `[printer]`: where receipts are printed and on what paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterSettings {
    pub target: PrinterTarget,
    pub paper: PaperWidth,
}

/// A secret's value: never printed, cleared from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(zeroize::Zeroizing::new(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A secret given inline or by the name of an environment variable, read when needed (so
/// that a variable for a flow not used today need not be set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretRef {
    pub inline: Option<Secret>,
    pub env: Option<String>,
    /// The config key, for messages.
    pub key: String,
}

impl SecretRef {
    pub fn get(&self) -> Result<Secret, String> {
        if let Some(s) = &self.inline {
            return Ok(s.clone());
        }
        match &self.env {
            Some(var) => std::env::var(var)
                .map(Secret::new)
                .map_err(|_| format!("{}_env names {var}, which is not set", self.key)),
            None => Err(format!("{} is not set in the config", self.key)),
        }
    }
}

/// Where the Keeper Classic key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    /// The demo key, built in memory.
    Demo,
}

/// How kassa authenticates to WebMoney.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WmAuth {
    /// Keeper Light: a client certificate and key (PEM), and an optional extra CA.
    Light {
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        ca: Option<PathBuf>,
    },
    /// Keeper Classic: the key file and its password.
    Classic {
        kwm: Option<KeySource>,
        password: SecretRef,
    },
}

#[derive(Debug, Clone)]
pub struct WebmoneySettings {
    pub url: String,
    /// The merchant's (signer's) WMID.
    pub wmid: String,
    /// The store purse invoices go to, unless a command names another.
    pub purse: String,
    pub auth: WmAuth,
    pub timeout: Duration,
}

/// UPay (document 004): the STWS endpoint, the partner's credentials (read when used) and
/// the defaults of a hold.
#[derive(Debug, Clone)]
pub struct UpaySettings {
    pub url: String,
    pub username: String,
    pub password: SecretRef,
    pub partner_key: SecretRef,
    pub service_id: u64,
    pub hold_minutes: u64,
    pub notify_url: String,
    pub notify_listen: Option<String>,
    pub timeout: Duration,
}

/// Wooppay (document 000): the SOAP endpoint (kept whole, `?ws=1` included: without it the
/// service may answer with its WSDL), the merchant's login and password (read when used),
/// and the deathDate given to an invoice that names none.
#[derive(Debug, Clone)]
pub struct WooppaySettings {
    pub url: String,
    pub login: String,
    pub password: SecretRef,
    pub invoice_ttl_minutes: u64,
    pub timeout: Duration,
}

/// The test service's SOAP address (the document writes `/api/wsd/`, cut short).
pub const DEFAULT_WOOPPAY_URL: &str = "https://www.test.wooppay.com/api/wsdl?ws=1";

pub const DEFAULT_UPAY_URL: &str = "https://b2bapi.upaydev.uz/STAPI/STWS";

pub const DEFAULT_WM_URL: &str = "https://w3s.wmtransfer.com/asp/XMLInvoiceCert.asp";

#[derive(Debug, Clone)]
pub struct AllpaySettings {
    pub terminal_url: String,
    pub cash_in_url: String,
    pub requester: String,
    pub timeout: Duration,
}

pub const DEFAULT_TERMINAL_URL: &str =
    "http://beta.allpay.kz/allpay-public-soap/transaction-management/v1.1";
pub const DEFAULT_CASH_IN_URL: &str =
    "http://beta.allpay.kz/allpay-public-soap/cash-in-transaction-management/v1.1";
/// The agent login the documents' examples use; the emulator knows it.
pub const DEMO_REQUESTER: &str = "72222222221";

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

/// Reads a secret given either inline (`x`) or as the name of an environment variable
/// (`x_env`). The value is never logged.
pub fn secret(
    path: &Path,
    key: &str,
    inline: &Option<String>,
    env: &Option<String>,
) -> Result<Option<String>, ConfigError> {
    match (inline, env) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            expected: format!("either `{key}` or `{key}_env`, not both"),
        }),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(var)) => match std::env::var(var) {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: format!("{key}_env"),
                expected: format!("the environment variable {var} to be set"),
            }),
        },
        (None, None) => Ok(None),
    }
}

fn check_url(path: &Path, key: &str, url: &str) -> Result<String, ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(url.into()),
        _ => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            expected: format!("a whole http:// or https:// URL, got \"{url}\""),
        }),
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

fn upay_settings(file: &ConfigFile, path: &Path) -> Result<UpaySettings, ConfigError> {
    let u = &file.upay;
    let url = check_url(
        path,
        "upay.url",
        u.url.as_deref().unwrap_or(DEFAULT_UPAY_URL),
    )?;
    // The document posts to the service URL; `?wsdl` is for reading the contract only.
    let url = url.trim_end_matches("?wsdl").to_string();
    let secret = |key: &str, inline: &Option<String>, env: &Option<String>| SecretRef {
        inline: inline.clone().map(Secret::new),
        env: env.clone(),
        key: key.to_string(),
    };
    Ok(UpaySettings {
        url,
        username: u.username.clone().unwrap_or_default(),
        password: secret("upay.password", &u.password, &u.password_env),
        partner_key: secret("upay.partner_key", &u.partner_key, &u.partner_key_env),
        service_id: u.service_id.unwrap_or(0),
        hold_minutes: check_positive(path, "upay.hold_minutes", u.hold_minutes, 60, 60 * 24 * 30)?,
        notify_url: u.notify_url.clone().unwrap_or_default(),
        notify_listen: u.notify_listen.clone(),
        timeout: Duration::from_secs(check_positive(
            path,
            "upay.timeout_secs",
            u.timeout_secs,
            30,
            600,
        )?),
    })
}

fn wooppay_settings(file: &ConfigFile, path: &Path) -> Result<WooppaySettings, ConfigError> {
    let w = &file.wooppay;
    let url = check_url(
        path,
        "wooppay.url",
        w.url.as_deref().unwrap_or(DEFAULT_WOOPPAY_URL),
    )?;
    let login = w.login.clone().unwrap_or_default().trim().to_string();
    if w.login.is_some() && (login.is_empty() || login.chars().count() > 64) {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: "wooppay.login".into(),
            expected: "the merchant's Wooppay login (not empty, at most 64 characters)".into(),
        });
    }
    Ok(WooppaySettings {
        url,
        login,
        password: SecretRef {
            inline: w.password.clone().map(Secret::new),
            env: w.password_env.clone(),
            key: "wooppay.password".into(),
        },
        invoice_ttl_minutes: check_positive(
            path,
            "wooppay.invoice_ttl_minutes",
            w.invoice_ttl_minutes,
            60,
            60 * 24 * 30,
        )?,
        timeout: Duration::from_secs(check_positive(
            path,
            "wooppay.timeout_secs",
            w.timeout_secs,
            30,
            600,
        )?),
    })
}

fn webmoney_settings(file: &ConfigFile, path: &Path) -> Result<WebmoneySettings, ConfigError> {
    let w = &file.webmoney;
    let url = check_url(
        path,
        "webmoney.url",
        w.url.as_deref().unwrap_or(DEFAULT_WM_URL),
    )?;
    let invalid = |key: &str, expected: &str| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        expected: expected.to_string(),
    };
    let wmid = w.wmid.as_deref().unwrap_or_default().trim().to_string();
    if w.wmid.is_some() && crate::validate::wmid(&wmid).is_err() {
        return Err(invalid("webmoney.wmid", "a WMID: 12 digits"));
    }
    let purse = w.purse.as_deref().unwrap_or_default().trim().to_string();
    if w.purse.is_some() && crate::validate::purse(&purse).is_err() {
        return Err(invalid(
            "webmoney.purse",
            "a purse: its type letter (Z, E, R, K) and 12 digits",
        ));
    }
    let auth = match w.auth.as_deref().unwrap_or("light") {
        "classic" => WmAuth::Classic {
            kwm: w.kwm.clone().map(KeySource::File),
            password: SecretRef {
                inline: w.kwm_password.clone().map(Secret::new),
                env: w.kwm_password_env.clone(),
                key: "webmoney.kwm_password".into(),
            },
        },
        _ => WmAuth::Light {
            cert: w.cert.clone(),
            key: w.key.clone(),
            ca: w.ca.clone(),
        },
    };
    let timeout = check_positive(path, "webmoney.timeout_secs", w.timeout_secs, 30, 600)?;
    Ok(WebmoneySettings {
        url,
        wmid,
        purse,
        auth,
        timeout: Duration::from_secs(timeout),
    })
}

fn printer_settings(p: &PrinterSection, path: &Path) -> Result<PrinterSettings, ConfigError> {
    let invalid = |key: &str, expected: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        expected,
    };
    let paper = match p.width_mm {
        None => PaperWidth::default(),
        Some(w) => PaperWidth::from_mm(w)
            .ok_or_else(|| invalid("printer.width_mm", format!("58 or 80, got {w}")))?,
    };
    let target = match (&p.device, &p.tcp) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "printer.device",
                "either `device` or `tcp`, not both".into(),
            ));
        }
        (None, None) => {
            return Err(invalid(
                "printer.device",
                "a device path (/dev/usb/lp0) or `tcp = \"host:9100\"`: [printer] names no printer"
                    .into(),
            ));
        }
        (Some(d), None) if d.as_os_str().is_empty() => {
            return Err(invalid("printer.device", "a device path, got \"\"".into()));
        }
        (Some(d), None) => PrinterTarget::Device(d.clone()),
        (None, Some(t)) => {
            let t = t.trim();
            let port_ok = t
                .rsplit_once(':')
                .filter(|(host, _)| !host.trim_matches(['[', ']']).is_empty())
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .is_some_and(|port| port > 0);
            if !port_ok {
                return Err(invalid(
                    "printer.tcp",
                    format!("host:port, e.g. \"192.0.2.10:9100\", got \"{t}\""),
                ));
            }
            PrinterTarget::Tcp(t.to_string())
        }
    };
    Ok(PrinterSettings { target, paper })
}

/// An hour, in milliseconds: the longest sensible wait between two re-sends.
const HOUR_MS: u64 = 3_600_000;

impl Settings {
    /// Resolves the effective settings. `path` names the file in messages (a default-path
    /// run without a file passes the path it looked at).
    pub fn resolve(file: &ConfigFile, path: &Path) -> Result<Settings, ConfigError> {
        let data = data_dir();
        let poll_initial = check_positive(
            path,
            "worker.poll_initial_ms",
            file.worker.poll_initial_ms,
            1000,
            HOUR_MS,
        )?;
        let poll_max = check_positive(
            path,
            "worker.poll_max_ms",
            file.worker.poll_max_ms,
            30_000,
            HOUR_MS,
        )?;
        if poll_max < poll_initial {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "worker.poll_max_ms".into(),
                expected: format!("a number not below worker.poll_initial_ms ({poll_initial})"),
            });
        }
        let a = &file.allpay;
        let terminal_url = check_url(
            path,
            "allpay.terminal_url",
            a.terminal_url.as_deref().unwrap_or(DEFAULT_TERMINAL_URL),
        )?;
        let cash_in_url = check_url(
            path,
            "allpay.cash_in_url",
            a.cash_in_url.as_deref().unwrap_or(DEFAULT_CASH_IN_URL),
        )?;
        let requester = a.requester.clone().unwrap_or_default();
        if a.requester.is_some() && (requester.trim().is_empty() || requester.len() > 64) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "allpay.requester".into(),
                expected: "the agent's Allpay login (not empty, at most 64 characters)".into(),
            });
        }
        let timeout = check_positive(path, "allpay.timeout_secs", a.timeout_secs, 30, 600)?;
        // A secret given twice is a mistake whatever the flow; an unset `_env` variable is
        // reported when the flow that needs it runs.
        for (key, inline, env) in [
            (
                "wooppay.password",
                &file.wooppay.password,
                &file.wooppay.password_env,
            ),
            (
                "upay.password",
                &file.upay.password,
                &file.upay.password_env,
            ),
            (
                "upay.partner_key",
                &file.upay.partner_key,
                &file.upay.partner_key_env,
            ),
            (
                "webmoney.kwm_password",
                &file.webmoney.kwm_password,
                &file.webmoney.kwm_password_env,
            ),
        ] {
            if inline.is_some() && env.is_some() {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: key.to_string(),
                    expected: format!("either `{key}` or `{key}_env`, not both"),
                });
            }
        }
        // Keys of flows that are not built yet are still checked for shape, so that a file
        // written today keeps working when they arrive.
        if let Some(u) = &file.upay.url {
            check_url(path, "upay.url", u)?;
        }
        if let Some(u) = &file.webmoney.url {
            check_url(path, "webmoney.url", u)?;
        }
        if let Some(auth) = &file.webmoney.auth {
            if auth != "light" && auth != "classic" {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: "webmoney.auth".into(),
                    expected: format!("\"light\" or \"classic\", got \"{auth}\""),
                });
            }
        }
        let printer = file
            .printer
            .as_ref()
            .map(|p| printer_settings(p, path))
            .transpose()?;
        Ok(Settings {
            lang: file.ui.lang.unwrap_or_default(),
            journal_path: file
                .journal
                .path
                .clone()
                .unwrap_or_else(|| data.join("kassa.db")),
            log_dir: data,
            poll_initial: Duration::from_millis(poll_initial),
            poll_max: Duration::from_millis(poll_max),
            allpay: AllpaySettings {
                terminal_url,
                cash_in_url,
                requester,
                timeout: Duration::from_secs(timeout),
            },
            webmoney: webmoney_settings(file, path)?,
            upay: upay_settings(file, path)?,
            wooppay: wooppay_settings(file, path)?,
            printer,
            demo: false,
        })
    }

    /// Settings for `--demo`: no file, the emulator at `base` (e.g. `http://127.0.0.1:4567`),
    /// a separate demo journal.
    pub fn demo(base: &str, lang: Lang) -> Settings {
        let data = data_dir();
        Settings {
            lang,
            journal_path: data.join("kassa-demo.db"),
            log_dir: data,
            poll_initial: Duration::from_millis(700),
            poll_max: Duration::from_secs(5),
            allpay: AllpaySettings {
                terminal_url: format!("{base}{}", crate::demo::TERMINAL_PATH),
                cash_in_url: format!("{base}{}", crate::demo::CASH_IN_PATH),
                requester: DEMO_REQUESTER.to_string(),
                timeout: Duration::from_secs(10),
            },
            webmoney: WebmoneySettings {
                url: format!("{base}{}", crate::demo::X1_CLASSIC_PATH),
                wmid: crate::demo::webmoney::DEMO_WMID.to_string(),
                purse: crate::demo::webmoney::DEMO_PURSE.to_string(),
                auth: WmAuth::Classic {
                    kwm: Some(KeySource::Demo),
                    password: SecretRef {
                        inline: Some(Secret::new(
                            crate::demo::webmoney::DEMO_PASSWORD.to_string(),
                        )),
                        env: None,
                        key: "webmoney.kwm_password".into(),
                    },
                },
                timeout: Duration::from_secs(10),
            },
            upay: UpaySettings {
                url: format!("{base}{}", crate::demo::UPAY_PATH),
                username: crate::demo::upay::DEMO_USERNAME.to_string(),
                password: SecretRef {
                    inline: Some(Secret::new(crate::demo::upay::DEMO_PASSWORD.to_string())),
                    env: None,
                    key: "upay.password".into(),
                },
                partner_key: SecretRef {
                    inline: Some(Secret::new(crate::demo::upay::DEMO_PARTNER_KEY.to_string())),
                    env: None,
                    key: "upay.partner_key".into(),
                },
                service_id: 628,
                hold_minutes: 60,
                notify_url: format!("{base}{}", crate::demo::NOTIFY_PATH),
                notify_listen: None,
                timeout: Duration::from_secs(10),
            },
            wooppay: WooppaySettings {
                url: format!("{base}{}?ws=1", crate::demo::WOOPPAY_PATH),
                login: crate::demo::wooppay::DEMO_LOGIN.to_string(),
                password: SecretRef {
                    inline: Some(Secret::new(crate::demo::wooppay::DEMO_PASSWORD.to_string())),
                    env: None,
                    key: "wooppay.password".into(),
                },
                invoice_ttl_minutes: 60,
                timeout: Duration::from_secs(10),
            },
            printer: None,
            demo: true,
        }
    }

    /// Endpoints that would carry money or secrets in clear text: `http://` to anything
    /// but this machine. Each is (config key, URL); kassa warns about every one, visibly.
    pub fn plain_http_endpoints(&self) -> Vec<(&'static str, String)> {
        let urls = [
            ("allpay.cash_in_url", &self.allpay.cash_in_url),
            ("allpay.terminal_url", &self.allpay.terminal_url),
            ("webmoney.url", &self.webmoney.url),
            ("upay.url", &self.upay.url),
            ("wooppay.url", &self.wooppay.url),
        ];
        urls.into_iter()
            .filter(|(_, u)| plain_http_off_machine(u))
            .map(|(k, u)| (k, u.clone()))
            .collect()
    }

    /// The endpoint as the journal records it. The demo emulator listens on a new port each
    /// run, so demo rows record it by path alone; real endpoints are recorded whole.
    pub fn endpoint_identity(&self, url: &str) -> String {
        if self.demo {
            match reqwest::Url::parse(url) {
                Ok(u) => format!("demo-emulator{}", u.path()),
                Err(_) => url.to_string(),
            }
        } else {
            url.to_string()
        }
    }
}

/// `http://` to a host other than loopback.
pub fn plain_http_off_machine(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    if u.scheme() != "http" {
        return false;
    }
    let Some(host) = u.host_str() else {
        return true;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => !ip.is_loopback(),
        Err(_) => !bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_flagged_only_off_this_machine() {
        assert!(plain_http_off_machine(
            "http://b2bapi.upaydev.uz/STAPI/STWS"
        ));
        assert!(plain_http_off_machine("http://10.0.0.5:8080/x"));
        assert!(!plain_http_off_machine("http://127.0.0.1:8089/x"));
        assert!(!plain_http_off_machine("http://localhost:8089/x"));
        assert!(!plain_http_off_machine("http://[::1]:8089/x"));
        assert!(!plain_http_off_machine(
            "https://b2bapi.upaydev.uz/STAPI/STWS"
        ));
    }

    fn resolve(text: &str) -> Result<Settings, ConfigError> {
        let path = Path::new("/etc/kassa/config.toml");
        Settings::resolve(&ConfigFile::parse(text, path)?, path)
    }

    fn message(text: &str) -> String {
        match resolve(text) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn wooppay_settings_and_their_messages() {
        let s = resolve(
            "[wooppay]\nurl = \"https://www.test.wooppay.com/api/wsdl?ws=1\"\nlogin = \"test_merch\"\npassword_env = \"KASSA_TEST_NO_SUCH_VAR\"\ninvoice_ttl_minutes = 15\n",
        );
        let s = s.map_err(|e| e.to_string());
        let w = s.as_ref().map(|s| s.wooppay.clone());
        assert_eq!(
            w.as_ref().map(|w| w.url.as_str()),
            Ok("https://www.test.wooppay.com/api/wsdl?ws=1"),
            "kept whole"
        );
        assert_eq!(w.as_ref().map(|w| w.invoice_ttl_minutes), Ok(15));
        // The password is read when used, and says which variable is missing.
        let e = w.map(|w| w.password.get().err());
        assert!(
            e.as_ref().is_ok_and(|e| e
                .as_deref()
                .is_some_and(|e| e.contains("KASSA_TEST_NO_SUCH_VAR"))),
            "{e:?}"
        );
        assert!(
            message("[wooppay]\ninvoice_ttl_minutes = 0\n").contains("wooppay.invoice_ttl_minutes")
        );
        assert!(message("[wooppay]\nurl = \"ftp://x\"\n").contains("wooppay.url"));
        assert!(message("[wooppay]\nlogin = \" \"\n").contains("wooppay.login"));
        assert!(message("[wooppay]\nsession = \"x\"\n").contains("session"));
    }

    #[test]
    fn the_example_config_is_valid() {
        let text = include_str!("../config.example.toml");
        let s = resolve(text).map_err(|e| e.to_string());
        assert!(s.is_ok(), "{s:?}");
    }

    #[test]
    fn empty_file_gives_defaults() {
        let s = resolve("").map_err(|e| e.to_string());
        let s = s.as_ref().ok();
        assert_eq!(s.map(|s| s.lang), Some(Lang::Ru));
        assert_eq!(s.map(|s| s.poll_max), Some(Duration::from_secs(30)));
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let m = message("[allpay]\nrequestor = \"1\"\n");
        assert!(m.contains("/etc/kassa/config.toml"), "{m}");
        assert!(m.contains("requestor"), "{m}");
        let m = message("[alpay]\n");
        assert!(m.contains("alpay"), "{m}");
    }

    #[test]
    fn bad_values_name_the_key_and_what_is_expected() {
        let m = message("[allpay]\ncash_in_url = \"beta.allpay.kz\"\n");
        assert!(m.contains("allpay.cash_in_url") && m.contains("URL"), "{m}");
        let m = message("[allpay]\ntimeout_secs = 0\n");
        assert!(
            m.contains("allpay.timeout_secs") && m.contains("greater than 0"),
            "{m}"
        );
        let m = message("[worker]\npoll_max_ms = 99999999999\n");
        assert!(
            m.contains("worker.poll_max_ms") && m.contains("at most"),
            "{m}"
        );
        let m = message("[allpay]\ntimeout_secs = \"ten\"\n");
        assert!(m.contains("timeout_secs"), "{m}");
        let m = message("[ui]\nlang = \"de\"\n");
        assert!(m.contains("lang") && m.contains("ru"), "{m}");
        let m = message("[printer]\ndevice = \"/dev/usb/lp0\"\nwidth_mm = 70\n");
        assert!(m.contains("printer.width_mm"), "{m}");
        let m = message("[printer]\nwidth_mm = 58\n");
        assert!(
            m.contains("printer.device") && m.contains("no printer"),
            "{m}"
        );
        let m = message("[printer]\ndevice = \"/dev/usb/lp0\"\ntcp = \"p:9100\"\n");
        assert!(m.contains("not both"), "{m}");
        let m = message("[printer]\ntcp = \"printer.local\"\n");
        assert!(m.contains("printer.tcp") && m.contains("host:port"), "{m}");
        let m = message("[upay]\npassword = \"x\"\npassword_env = \"Y\"\n");
        assert!(m.contains("upay.password") && m.contains("not both"), "{m}");
        let m = message("[worker]\npoll_initial_ms = 5000\npoll_max_ms = 100\n");
        assert!(m.contains("worker.poll_max_ms"), "{m}");
    }

    #[test]
    fn printer_section_gives_the_target_and_the_paper() {
        let s = resolve("[printer]\ntcp = \"192.0.2.10:9100\"\nwidth_mm = 58\n")
            .map_err(|e| e.to_string());
        let p = s.as_ref().ok().and_then(|s| s.printer.clone());
        assert_eq!(
            p,
            Some(PrinterSettings {
                target: PrinterTarget::Tcp("192.0.2.10:9100".into()),
                paper: PaperWidth::Mm58,
            })
        );
        let s = resolve("[printer]\ndevice = \"/dev/usb/lp0\"\n").map_err(|e| e.to_string());
        let p = s.as_ref().ok().and_then(|s| s.printer.clone());
        assert_eq!(
            p,
            Some(PrinterSettings {
                target: PrinterTarget::Device("/dev/usb/lp0".into()),
                paper: PaperWidth::Mm80,
            })
        );
        let s = resolve("").map_err(|e| e.to_string());
        assert_eq!(s.map(|s| s.printer.is_none()), Ok(true));
    }

    #[test]
    fn secrets_come_from_env_or_file_not_both() {
        let p = Path::new("c.toml");
        let r = secret(p, "wooppay.password", &Some("a".into()), &Some("B".into()));
        assert!(
            r.map_err(|e| e.to_string())
                .err()
                .unwrap_or_default()
                .contains("not both")
        );
        let r = secret(
            p,
            "wooppay.password",
            &None,
            &Some("KASSA_SURELY_UNSET_VAR".into()),
        );
        assert!(
            r.map_err(|e| e.to_string())
                .err()
                .unwrap_or_default()
                .contains("KASSA_SURELY_UNSET_VAR")
        );
    }
}
