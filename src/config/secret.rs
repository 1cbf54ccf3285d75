//! Secrets: a value that is never printed and is cleared when dropped, and where one comes
//! from (the file or an environment variable).

use std::path::Path;

use super::ConfigError;

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

/// A secret read from the file goes straight into a [`Secret`]: the string the TOML reader
/// made is moved, not copied, so the section's `Debug` never shows it and it is cleared
/// when the section is dropped.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
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

/// Reads a secret given either inline (`x`) or as the name of an environment variable
/// (`x_env`). The value is never logged.
pub fn secret(
    path: &Path,
    key: &str,
    inline: &Option<Secret>,
    env: &Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    match (inline, env) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            expected: format!("either `{key}` or `{key}_env`, not both"),
        }),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(var)) => match std::env::var(var) {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(_) => Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: format!("{key}_env"),
                expected: format!("the environment variable {var} to be set"),
            }),
        },
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_env_or_file_not_both() {
        let p = Path::new("c.toml");
        let r = secret(
            p,
            "wooppay.password",
            &Some(Secret::new("a".into())),
            &Some("B".into()),
        );
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
