//! The effective [`Settings`] a run uses: resolved from the file (defaults and checks) or
//! made for `--demo`, and the endpoints kassa warns about.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::printer::printer_settings;
use super::providers::{upay_settings, webmoney_settings, wooppay_settings};
use super::{
    AllpaySettings, ConfigError, ConfigFile, DEFAULT_CASH_IN_URL, DEFAULT_TERMINAL_URL,
    DEMO_REQUESTER, KeySource, PrinterSettings, Secret, SecretRef, UpaySettings, WebmoneySettings,
    WmAuth, WooppaySettings, check_positive, check_url, data_dir,
};
use crate::i18n::Lang;

/// The effective settings a run uses, after defaults, validation and `--demo`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lang: Lang,
    pub journal_path: PathBuf,
    /// A chain's shared journal (`[journal] url`), used instead of `journal_path`.
    pub journal_url: Option<Secret>,
    /// This till's name (`[till] name`), recorded on every row.
    pub till: String,
    pub log_dir: PathBuf,
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// How many requests may be out at once to one provider (`[worker] max_in_flight`):
    /// the rest wait their turn in the worker's schedule.
    pub max_in_flight: usize,
    pub allpay: AllpaySettings,
    pub webmoney: WebmoneySettings,
    pub upay: UpaySettings,
    pub wooppay: WooppaySettings,
    /// The receipt printer (`[printer]`), when there is one.
    pub printer: Option<PrinterSettings>,
    /// Set under `--demo`: endpoints point at the in-process emulator.
    pub demo: bool,
}

/// This machine's name, a till's name unless `[till] name` gives one.
pub fn host_name() -> String {
    let name = std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = name.trim().chars().take(64).collect();
    if name.is_empty() { "till".into() } else { name }
}

impl Settings {
    /// The journal this run opens: the chain's when `[journal] url` is set, else the file.
    pub fn journal_location(&self) -> crate::journal::Location {
        match &self.journal_url {
            Some(url) => crate::journal::Location::Postgres(url.clone()),
            None => crate::journal::Location::Sqlite(self.journal_path.clone()),
        }
    }

    /// Opens this run's journal for this till.
    pub fn open_journal(&self) -> Result<crate::journal::Journal, crate::journal::JournalError> {
        crate::journal::Journal::open_at(&self.journal_location(), &self.till)
    }
}

/// Requests out at once to one provider unless `[worker] max_in_flight` says otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

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
        let max_in_flight = check_positive(
            path,
            "worker.max_in_flight",
            file.worker.max_in_flight,
            DEFAULT_MAX_IN_FLIGHT as u64,
            256,
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
        if let Some(auth) = &file.webmoney.auth
            && auth != "light"
            && auth != "classic"
        {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "webmoney.auth".into(),
                expected: format!("\"light\" or \"classic\", got \"{auth}\""),
            });
        }
        // `[network]` and `[log]` are installed process-wide at start-up (ProcessSettings);
        // checked here too, so that a bad value is refused wherever a file is resolved.
        super::ProcessSettings::resolve(file, path)?;
        let printer = file
            .printer
            .as_ref()
            .map(|p| printer_settings(p, path))
            .transpose()?;
        let journal_url = super::secret(
            path,
            "journal.url",
            &file.journal.url,
            &file.journal.url_env,
        )?;
        if journal_url.is_some() && file.journal.path.is_some() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "journal.url".into(),
                expected: "either `path` (this till's own journal) or `url` (a chain's), not both"
                    .into(),
            });
        }
        if let Some(u) = &journal_url
            && !(u.expose().starts_with("postgresql://") || u.expose().starts_with("postgres://"))
        {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "journal.url".into(),
                expected: "a PostgreSQL URL, postgresql://user@host/database".into(),
            });
        }
        let till = match &file.till.name {
            Some(n) if n.trim().is_empty() || n.chars().count() > 64 => {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: "till.name".into(),
                    expected: "this till's name (not empty, at most 64 characters)".into(),
                });
            }
            Some(n) => n.trim().to_string(),
            None => host_name(),
        };
        Ok(Settings {
            lang: file.ui.lang.unwrap_or_default(),
            journal_url,
            till,
            journal_path: file
                .journal
                .path
                .clone()
                .unwrap_or_else(|| data.join("kassa.db")),
            log_dir: data,
            poll_initial: Duration::from_millis(poll_initial),
            poll_max: Duration::from_millis(poll_max),
            max_in_flight: usize::try_from(max_in_flight).unwrap_or(DEFAULT_MAX_IN_FLIGHT),
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
            journal_url: None,
            till: host_name(),
            log_dir: data,
            poll_initial: Duration::from_millis(700),
            poll_max: Duration::from_secs(5),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
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
                notify_tls: None,
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
                ping_sweep: Duration::from_secs(10),
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
    use crate::config::fixture::{message, resolve};

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

    #[test]
    fn no_settings_debug_shows_a_secret() {
        // Every secret key inline, each with a value found nowhere else in the file.
        let text = "[wooppay]\nlogin = \"merchant\"\npassword = \"wp-Secret-1\"\n\
                    [upay]\nusername = \"partner\"\npassword = \"up-Secret-2\"\n\
                    partner_key = \"pk-Secret-3\"\n\
                    [webmoney]\nauth = \"classic\"\nkwm = \"/k.kwm\"\n\
                    kwm_password = \"wm-Secret-4\"\n\
                    [network]\nproxy = \"http://10.0.0.1:3128\"\n";
        let secrets = ["wp-Secret-1", "up-Secret-2", "pk-Secret-3", "wm-Secret-4"];
        let path = Path::new("/etc/kassa/config.toml");
        let file = ConfigFile::parse(text, path).map_err(|e| e.to_string());
        let file = file.as_ref().ok();
        let settings = file.map(|f| Settings::resolve(f, path).map_err(|e| e.to_string()));
        let settings = settings.as_ref().and_then(|s| s.as_ref().ok());
        // The secrets are there to be found...
        assert_eq!(
            settings.and_then(|s| s.wooppay.password.get().ok()),
            Some(Secret::new("wp-Secret-1".into()))
        );
        assert_eq!(
            settings.and_then(|s| s.upay.partner_key.get().ok()),
            Some(Secret::new("pk-Secret-3".into()))
        );
        let (Some(f), Some(s)) = (file, settings) else {
            panic!("the config did not resolve: {settings:?}");
        };
        // ...and no Debug of the file, its sections, the settings or any part shows one.
        let shown = [
            format!("{f:?}"),
            format!("{f:#?}"),
            format!("{:?}", f.wooppay),
            format!("{:?}", f.upay),
            format!("{:?}", f.webmoney),
            format!("{:?}", f.network),
            format!("{:?}", f.log),
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{:?}", s.allpay),
            format!("{:?}", s.wooppay),
            format!("{:?}", s.upay),
            format!("{:?}", s.webmoney),
            format!("{:?}", s.webmoney.auth),
            format!("{:?}", s.wooppay.password),
            format!("{:?}", s.upay.password),
            format!("{:?}", s.upay.partner_key),
            format!("{:?}", s.wooppay.password.get()),
            format!(
                "{:?}",
                crate::config::ProcessSettings::resolve(f, path).ok()
            ),
        ];
        for text in &shown {
            for secret in secrets {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        assert!(shown[0].contains("Secret(***)"), "{}", shown[0]);
        // The demo's settings hold the emulator's secrets: not shown either.
        let demo = format!("{:?}", Settings::demo("http://127.0.0.1:1", Lang::En));
        for secret in [
            crate::demo::wooppay::DEMO_PASSWORD,
            crate::demo::upay::DEMO_PASSWORD,
            crate::demo::upay::DEMO_PARTNER_KEY,
            crate::demo::webmoney::DEMO_PASSWORD,
        ] {
            // Quoted: the demo journal is `kassa-demo.db`, its password `kassa-demo`.
            assert!(!demo.contains(&format!("{secret:?}")), "{secret} in {demo}");
        }
    }

    #[test]
    fn credentials_in_an_endpoint_url_are_refused_unrepeated() {
        for key in [
            "allpay.cash_in_url",
            "allpay.terminal_url",
            "wooppay.url",
            "upay.url",
            "webmoney.url",
        ] {
            let (section, name) = key.split_once('.').unwrap_or_default();
            for url in [
                "https://agent:hunter2@beta.allpay.kz/x",
                "https://hunter2@beta.allpay.kz/x",
                "http://agent:hunter2@127.0.0.1:8080/x",
            ] {
                let m = message(&format!("[{section}]\n{name} = \"{url}\"\n"));
                assert!(m.contains(key) && m.contains("user:password@"), "{m}");
                assert!(!m.contains("hunter2"), "{m}");
            }
        }
        // A URL too broken to parse is not repeated with its credentials either.
        let m = message("[upay]\nurl = \"https://u:hunter2@\"\n");
        assert!(m.contains("upay.url") && !m.contains("hunter2"), "{m}");
    }

    #[test]
    fn the_example_config_is_valid() {
        let text = include_str!("../../config.example.toml");
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
}
