//! Each provider's settings (Allpay, WebMoney, UPay, Wooppay): their defaults, and how
//! they are built and checked from the file's sections.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ConfigError, ConfigFile, Secret, SecretRef, check_positive, check_url};

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
    /// The listener's certificate chain and key (PEM), when it serves TLS itself rather
    /// than behind a proxy.
    pub notify_tls: Option<(PathBuf, PathBuf)>,
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
    /// Unsigned requestUrl pings are coalesced: at most one status sweep this often.
    pub ping_sweep: Duration,
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

pub(super) fn upay_settings(file: &ConfigFile, path: &Path) -> Result<UpaySettings, ConfigError> {
    let u = &file.upay;
    let url = check_url(
        path,
        "upay.url",
        u.url.as_deref().unwrap_or(DEFAULT_UPAY_URL),
    )?;
    // The document posts to the service URL; `?wsdl` is for reading the contract only.
    let url = url.trim_end_matches("?wsdl").to_string();
    let secret = |key: &str, inline: &Option<Secret>, env: &Option<String>| SecretRef {
        inline: inline.clone(),
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
        notify_tls: match (&u.notify_tls_cert, &u.notify_tls_key) {
            (None, None) => None,
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: "upay.notify_tls_cert".into(),
                    expected: "notify_tls_cert and notify_tls_key together (PEM files), or neither"
                        .into(),
                });
            }
        },
        timeout: Duration::from_secs(check_positive(
            path,
            "upay.timeout_secs",
            u.timeout_secs,
            30,
            600,
        )?),
    })
}

pub(super) fn wooppay_settings(
    file: &ConfigFile,
    path: &Path,
) -> Result<WooppaySettings, ConfigError> {
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
            inline: w.password.clone(),
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
        ping_sweep: Duration::from_secs(check_positive(
            path,
            "wooppay.ping_sweep_secs",
            w.ping_sweep_secs,
            10,
            3600,
        )?),
    })
}

pub(super) fn webmoney_settings(
    file: &ConfigFile,
    path: &Path,
) -> Result<WebmoneySettings, ConfigError> {
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
                inline: w.kwm_password.clone(),
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

#[cfg(test)]
mod tests {
    use crate::config::fixture::{message, resolve};

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
}
