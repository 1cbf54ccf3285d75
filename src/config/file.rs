//! The TOML file as written: [`ConfigFile`] and its sections, each refusing keys it does
//! not know, and reading and parsing it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, Secret};
use crate::i18n::Lang;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub ui: UiSection,
    #[serde(default)]
    pub journal: JournalSection,
    #[serde(default)]
    pub till: TillSection,
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
    #[serde(default)]
    pub network: NetworkSection,
    #[serde(default)]
    pub log: LogSection,
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
    /// A chain's shared journal on PostgreSQL: `postgresql://user:password@host/db`. A
    /// secret (it may hold the password), so `url_env` may name a variable instead.
    pub url: Option<Secret>,
    pub url_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TillSection {
    /// This till's name in a chain's journal; the host name by default.
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    pub poll_initial_ms: Option<u64>,
    pub poll_max_ms: Option<u64>,
    pub max_in_flight: Option<u64>,
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
    pub password: Option<Secret>,
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
    pub password: Option<Secret>,
    pub password_env: Option<String>,
    pub partner_key: Option<Secret>,
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
    pub kwm_password: Option<Secret>,
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

/// `[network]`: how kassa reaches the providers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// The only proxy requests may go through (`http://host:port`); without it none is used,
    /// whatever HTTPS_PROXY, HTTP_PROXY or ALL_PROXY say.
    pub proxy: Option<String>,
}

/// `[log]`: how long the daily log files are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub keep_days: Option<u64>,
}

impl ConfigFile {
    /// Parses the file's text. An error names the line and the key and says what was
    /// expected, but never repeats what is written there: the line may hold a secret
    /// (`pasword = "..."` under a misspelt key, a password with a stray quote), and the
    /// message goes to a terminal, a shell's history of output, a support chat.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe(text, &e),
        })
    }

    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        // The text holds the secrets written inline: it is cleared when parsed.
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
            ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?);
        ConfigFile::parse(&text, path)
    }
}

/// Where in the file an error is: its line (from 1) and the key written there.
struct Place<'a> {
    line: usize,
    /// `section.key`, or the section for an error on a `[section]` line.
    key: Option<String>,
    /// When the line has no key: the key written last before it (and its line).
    after: Option<(String, usize)>,
    /// What is written after the `=` on that line (unquoted): never to be shown.
    value: Option<&'a str>,
}

/// A `[section]` or `[[section]]` line's name.
fn header(line: &str) -> Option<&str> {
    let t = line.trim_start().strip_prefix('[')?;
    let t = t.strip_prefix('[').unwrap_or(t);
    let end = t.find(']')?;
    Some(t[..end].trim())
}

fn place<'a>(text: &'a str, offset: usize) -> Place<'a> {
    let offset = offset.min(text.len());
    let index = text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    let lines: Vec<&str> = text.split('\n').collect();
    let line = lines.get(index).copied().unwrap_or("");
    if let Some(section) = header(line) {
        return Place {
            line: index + 1,
            key: Some(section.to_string()),
            after: None,
            value: None,
        };
    }
    let section = lines[..index.min(lines.len())]
        .iter()
        .rev()
        .find_map(|l| header(l));
    let key_value = |line: &'a str| match line.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && header(line).is_none() => {
            let k = k.trim();
            let key = match section {
                Some(s) if !s.is_empty() => format!("{s}.{k}"),
                _ => k.to_string(),
            };
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .or_else(|| v.strip_prefix('\''))
                .map(|inner| inner.trim_start_matches(['"', '\'']))
                .map(|inner| inner.trim_end_matches(['"', '\'']))
                .unwrap_or(v);
            Some((key, v))
        }
        _ => None,
    };
    if let Some((key, value)) = key_value(line) {
        return Place {
            line: index + 1,
            key: Some(key),
            after: None,
            value: Some(value),
        };
    }
    // No key on the line (an error found at the end of a string left open, say): the key
    // written last before it in the same section.
    let before = lines[..index.min(lines.len())]
        .iter()
        .enumerate()
        .rev()
        .take_while(|(_, l)| header(l).is_none())
        .find_map(|(i, l)| key_value(l).map(|kv| (i + 1, kv)));
    Place {
        line: index + 1,
        key: None,
        after: before.as_ref().map(|(i, (k, _))| (k.clone(), *i)),
        value: before.map(|(_, (_, v))| v),
    }
}

/// What was found, by its kind alone (serde's "string \"hunter2\"" is "a string").
fn kind_of(found: &str) -> &'static str {
    let word = found.split_whitespace().next().unwrap_or("");
    match word {
        "string" | "character" => "a string",
        "integer" | "floating" => "a number",
        "boolean" => "a boolean",
        "sequence" => "an array",
        "map" => "a table",
        "unit" | "option" => "no value",
        _ => "a value",
    }
}

/// toml's and serde's message, reworded so that it holds names and kinds but no value.
fn what(message: &str) -> String {
    let m = message.trim();
    let expected = |rest: &str| {
        rest.split_once(", expected ")
            .map(|(found, exp)| (found.to_string(), exp.trim().to_string()))
            .unwrap_or_else(|| (rest.to_string(), String::new()))
    };
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        let (found, exp) = expected(rest);
        return format!("expected {exp}, found {}", kind_of(&found));
    }
    if let Some(rest) = m.strip_prefix("invalid value: ") {
        let (found, exp) = expected(rest);
        return format!(
            "expected {exp}; {} there is out of range or not allowed",
            kind_of(&found)
        );
    }
    if let Some(rest) = m.strip_prefix("unknown variant ") {
        let (_, exp) = expected(rest);
        return format!("expected {exp}");
    }
    if let Some(rest) = m.strip_prefix("invalid length ") {
        let (_, exp) = expected(rest);
        return format!("expected {exp}");
    }
    // "unknown field `pasword`, expected one of ...", "missing field", "duplicate key" and
    // the parser's own words name keys and expected tokens only.
    m.lines().next().unwrap_or("").to_string()
}

/// The message of a parse error: the line, the key, what was expected.
fn describe(text: &str, e: &toml::de::Error) -> String {
    let mut what = what(e.message());
    let Some(span) = e.span() else {
        return what;
    };
    let p = place(text, span.start);
    // Belt and braces: whatever the wording, the value on that line is not repeated.
    if p.value
        .is_some_and(|v| v.trim().len() >= 3 && what.contains(v.trim()))
    {
        what = "the value is not valid here (not shown: it may be a secret)".to_string();
    }
    match (p.key, p.after) {
        (Some(key), _) => format!("line {}, key `{key}`: {what}", p.line),
        (None, Some((key, at))) => {
            format!("line {}, after key `{key}` (line {at}): {what}", p.line)
        }
        (None, None) => format!("line {}: {what}", p.line),
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

    #[test]
    fn parse_errors_name_line_and_key_but_never_the_value() {
        const S: &str = "hunter2-Sekret";
        for (text, line, key) in [
            // A misspelt key.
            (
                format!("[wooppay]\nlogin = \"m\"\npasword = \"{S}\"\n"),
                3,
                "pasword",
            ),
            // A string left open.
            (
                format!("[wooppay]\npassword = \"{S}\n"),
                2,
                "wooppay.password",
            ),
            // A value without quotes.
            (
                format!("[upay]\npartner_key = {S}\n"),
                2,
                "upay.partner_key",
            ),
            // The wrong type: a string for a number, a number for a secret.
            (
                format!("[upay]\nservice_id = \"{S}\"\n"),
                2,
                "upay.service_id",
            ),
            (
                "[wooppay]\npassword = 98765432\n".to_string(),
                2,
                "wooppay.password",
            ),
            (
                "[wooppay]\npassword = true\n".to_string(),
                2,
                "wooppay.password",
            ),
            // An unknown value of a known key.
            (format!("[ui]\nlang = \"{S}\"\n"), 2, "ui.lang"),
            // Out of range.
            (
                "[printer]\nwidth_mm = 98765432109\n".to_string(),
                2,
                "printer.width_mm",
            ),
            // A secret pasted where a key belongs.
            (format!("[webmoney]\n{S}\n"), 2, ""),
            (
                format!("[webmoney]\nkwm_password = \"{S}\" \"x\"\n"),
                2,
                "webmoney.kwm_password",
            ),
            // (The parser finds an open multi-line string at the end of the file.)
            (
                format!("[upay]\npassword = \"\"\"{S}\n"),
                3,
                "after key `upay.password` (line 2)",
            ),
            (format!("[upay]\npassword = '{S}\n"), 2, "upay.password"),
            (
                format!("[upay]\npassword = \"a\"\npassword = \"{S}\"\n"),
                3,
                "upay.password",
            ),
        ] {
            let m = message(&text);
            assert!(m.contains("/etc/kassa/config.toml"), "{text:?}: {m}");
            assert!(m.contains(&format!("line {line}")), "{text:?}: {m}");
            assert!(m.contains(key), "{text:?}: {m}");
            for secret in [S, "98765432", "true"] {
                assert!(!m.contains(secret), "{text:?}: {m}");
            }
        }
        // What was expected is still said.
        let m = message("[ui]\nlang = \"de\"\n");
        assert!(m.contains("`ru`") && m.contains("`en`"), "{m}");
        let m = message("[allpay]\ntimeout_secs = \"ten\"\n");
        assert!(m.contains("expected u64") && m.contains("a string"), "{m}");
    }
}
