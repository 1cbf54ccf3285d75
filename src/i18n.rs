//! The ru/en message catalogue: every string a person sees comes from `assets/i18n/`.
//!
//! Keys are flat (`cashin.title`); a value may hold `{name}` placeholders. A key missing
//! from a catalogue shows as the key itself, and a test keeps the two catalogues in step.

use std::sync::Mutex;

/// The cashier's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

/// The catalogues, read at build time (build.rs): `(key, text)` sorted by key.
mod tables {
    include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));
}

fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    let table = match lang {
        Lang::Ru => tables::RU,
        Lang::En => tables::EN,
    };
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| table[i].1)
}

static MISSING: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The text for `key`, or the key itself when the catalogue lacks it (remembered, so that
/// the screen tests can fail on a key nobody wrote a text for).
pub fn t(lang: Lang, key: &str) -> &str {
    match lookup(lang, key) {
        Some(v) => v,
        None => {
            if let Ok(mut m) = MISSING.lock() {
                let entry = format!("{}:{key}", lang.code());
                if !m.contains(&entry) {
                    m.push(entry);
                }
            }
            key
        }
    }
}

/// The text for `text` when it is a catalogue key, else `text` itself: for values stored
/// as keys by this version and as words by older ones.
pub fn t_or_raw(lang: Lang, text: &str) -> &str {
    match lookup(lang, text) {
        Some(v) => v,
        None => text,
    }
}

/// Keys asked for that no catalogue has (see [`t`]).
pub fn missing_keys() -> Vec<String> {
    MISSING.lock().map(|m| m.clone()).unwrap_or_default()
}

/// The text for `key` with `{name}` placeholders filled in.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut out = t(lang, key).to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Which plural form a count takes: Russian has three (1 операция, 2 операции, 5 операций;
/// 21 like 1, 12–14 like 5), English two (1 operation, 2 operations; the catalogue writes
/// English's "other" as both `few` and `many`).
pub fn plural_form(lang: Lang, n: u64) -> &'static str {
    match lang {
        Lang::En if n == 1 => "one",
        Lang::En => "many",
        Lang::Ru => match (n % 10, n % 100) {
            (1, r) if r != 11 => "one",
            (2..=4, r) if !(12..=14).contains(&r) => "few",
            _ => "many",
        },
    }
}

/// [`tf`] for a text about `n` things: `key.one`, `key.few` or `key.many` by the language's
/// plural rules, with `{n}` filled in as well as `args`.
pub fn tn(lang: Lang, key: &str, n: u64, args: &[(&str, &str)]) -> String {
    let count = n.to_string();
    let mut all = vec![("n", count.as_str())];
    all.extend_from_slice(args);
    tf(lang, &format!("{key}.{}", plural_form(lang, n)), &all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn plural_forms_follow_each_languages_rules() {
        let ru = |n| plural_form(Lang::Ru, n);
        for (n, form) in [
            (0, "many"),
            (1, "one"),
            (2, "few"),
            (4, "few"),
            (5, "many"),
            (11, "many"),
            (12, "many"),
            (14, "many"),
            (21, "one"),
            (22, "few"),
            (111, "many"),
            (101, "one"),
            (1_000_002, "few"),
        ] {
            assert_eq!(ru(n), form, "{n}");
        }
        assert_eq!(plural_form(Lang::En, 1), "one");
        for n in [0, 2, 11, 21] {
            assert_eq!(plural_form(Lang::En, n), "many", "{n}");
        }
        assert_eq!(
            tn(Lang::Ru, "status.resuming", 1, &[]),
            "возобновляем 1 операцию"
        );
        assert_eq!(
            tn(Lang::Ru, "status.resuming", 3, &[]),
            "возобновляем 3 операции"
        );
        assert_eq!(
            tn(Lang::Ru, "status.resuming", 25, &[]),
            "возобновляем 25 операций"
        );
        assert_eq!(
            tn(Lang::En, "status.resuming", 1, &[]),
            "resuming 1 operation"
        );
        assert_eq!(
            tn(Lang::En, "status.recon", 2, &[]),
            "! 2 need reconciliation"
        );
    }

    #[test]
    fn catalogues_parse_and_have_the_same_keys() {
        let ru: HashMap<String, String> =
            toml::from_str(include_str!("../assets/i18n/ru.toml")).expect("ru catalogue parses");
        let en: HashMap<String, String> =
            toml::from_str(include_str!("../assets/i18n/en.toml")).expect("en catalogue parses");
        // The tables built from them hold every key, each findable.
        for (k, v) in &ru {
            assert_eq!(lookup(Lang::Ru, k), Some(v.as_str()), "{k}");
        }
        for (k, v) in &en {
            assert_eq!(lookup(Lang::En, k), Some(v.as_str()), "{k}");
        }
        let mut missing: Vec<_> = ru.keys().filter(|k| !en.contains_key(*k)).collect();
        missing.extend(en.keys().filter(|k| !ru.contains_key(*k)));
        assert!(
            missing.is_empty(),
            "keys in one catalogue only: {missing:?}"
        );
        for (k, v) in ru.iter().chain(en.iter()) {
            assert!(!v.trim().is_empty(), "empty text for {k}");
        }
    }
}
