//! How kassa writes instants and sums for people and for files: the one place for it, so
//! that the screens, the command line, the report and the CSV agree.

use crate::money::{Amount, Currency};

/// An instant (Unix ms) as RFC 3339 in UTC, to the second (`2026-11-23T09:02:05Z`).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// An instant as RFC 3339 in the till's local time, with its offset
/// (`2026-11-23T14:02:05+05:00`).
pub fn local_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_default()
}

/// An instant as a cashier reads it, local time (`23.11.2026 14:02:05`).
pub fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%d.%m.%Y %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// Minor units as a decimal with a dot and always two places (`1000.50`, `-0.01`): exact,
/// for JSON and CSV.
pub fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// Minor units as kassa shows them (`1 000,50 ₸`), negatives with a minus; zero when the
/// sum is beyond what an amount may hold.
pub fn amount(minor: i64, currency: Currency) -> String {
    match Amount::from_minor(minor.abs(), currency) {
        Ok(a) if minor < 0 => format!("-{}", a.display()),
        Ok(a) => a.display(),
        Err(_) => Amount::none(currency).display(),
    }
}

/// A line a person reads about an operation.
pub fn describe(lang: crate::i18n::Lang, op: &crate::journal::Operation) -> String {
    let mut s = crate::i18n::tf(
        lang,
        "cli.op_line",
        &[
            ("id", &op.id),
            (
                "state",
                crate::i18n::t(lang, crate::flows::state_key(op.kind, op.state)),
            ),
            ("amount", &op.amount.display()),
            ("customer", &op.customer),
        ],
    );
    if let Some(st) = &op.provider_status {
        s.push_str(&format!(" ({st})"));
    }
    if let Some(m) = &op.provider_message {
        s.push_str(&format!(" · {}", provider_words(op.kind, m)));
    }
    if let Some(k) = &op.message_key {
        s.push_str(&format!(" · {}", crate::i18n::t_or_raw(lang, k)));
    }
    if op.needs_reconciliation {
        s.push_str(" · ");
        s.push_str(crate::i18n::t(lang, "state.needs_recon"));
        if let Some(r) = &op.recon_reason {
            s.push_str(&format!(": {}", crate::i18n::t_or_raw(lang, r)));
        }
    }
    s
}

/// What a row says beside its state, each with its label's catalogue key: kassa's word on
/// the outcome, the provider's own words, the link it gave, a person's note.
pub fn explanations(
    lang: crate::i18n::Lang,
    op: &crate::journal::Operation,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(k) = &op.message_key {
        out.push(("detail.outcome", crate::i18n::t_or_raw(lang, k).to_string()));
    }
    // What the provider's reply carried for the record (its reason, its ids and sums): the
    // provider's words, marked as theirs.
    if let Some(d) = &op.detail {
        out.push(("detail.reason", provider_words(op.kind, d)));
    }
    if let Some(l) = &op.link {
        out.push(("detail.link", l.clone()));
    }
    if let Some(n) = &op.note {
        out.push(("detail.note", n.clone()));
    }
    out
}

/// The provider's own words, marked as theirs (they come in the provider's language):
/// `Allpay: «Кошелёк пополнен»`.
pub fn provider_words(kind: crate::journal::Kind, text: &str) -> String {
    format!("{}: «{}»", crate::flows::provider_name(kind), text.trim())
}

/// One line of a row's trail in the cashier's language. The journal writes its trail in a
/// fixed technical form ("attempt 2 by pid…", "pending -> completed; status COMPLETED");
/// the lines a cashier meets every day are read back into words, the provider's status
/// marked as the provider's ("Allpay: «COMPLETED»"), the holder's process id left out.
/// Anything else is shown as written.
pub fn trail(
    lang: crate::i18n::Lang,
    kind: crate::journal::Kind,
    event_kind: &str,
    detail: &str,
) -> String {
    use crate::i18n::{t, tf};
    use crate::journal::State;
    let state = |tag: &str| {
        State::from_tag(tag.trim()).map(|s| t(lang, crate::flows::state_key(kind, s)).to_string())
    };
    let said = |status: &str| {
        // A Wooppay status is kept as "status 4": the number is Wooppay's word.
        let status = status.trim();
        let status = status.strip_prefix("status ").unwrap_or(status);
        (!status.is_empty() && status != "-").then(|| {
            tf(
                lang,
                "trail.provider_said",
                &[
                    ("provider", crate::flows::provider_name(kind)),
                    ("status", status),
                ],
            )
        })
    };
    let with_status = |words: String, status: &str| match said(status) {
        Some(s) => format!("{words} · {s}"),
        None => words,
    };
    // A state event's words: "still pending; status PENDING", "pending -> completed; …".
    let moved = |detail: &str| {
        let (moved, status) = detail.split_once("; status ")?;
        if let Some(still) = moved.strip_prefix("still ")
            && let Some(st) = state(still)
        {
            return Some(with_status(
                tf(lang, "trail.still", &[("state", &st)]),
                status,
            ));
        }
        let (from, to) = moved.split_once(" -> ")?;
        let (a, b) = (state(from)?, state(to)?);
        Some(with_status(format!("{a} → {b}"), status))
    };
    match event_kind {
        "sent" => {
            if let Some(n) = detail
                .strip_prefix("attempt ")
                .and_then(|r| r.split(' ').next())
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            {
                return tf(lang, "trail.sent", &[("n", n)]);
            }
        }
        "state" => {
            if let Some(words) = moved(detail) {
                return words;
            }
        }
        "polls" => {
            if let Some(run) = crate::journal::polls_run(detail) {
                let trouble = run
                    .words
                    .strip_prefix(crate::journal::TROUBLE)
                    .and_then(|r| r.split_once("; "));
                let (said, trouble) = match trouble {
                    Some((trouble, said)) => (said, Some(trouble)),
                    None => (run.words, None),
                };
                let range = if run.first == run.last {
                    tf(lang, "trail.sent", &[("n", &run.first.to_string())])
                } else {
                    let n = format!("{}–{}", run.first, run.last);
                    tf(lang, "trail.polls", &[("n", &n)])
                };
                let said = moved(said).unwrap_or_else(|| said.to_string());
                return match trouble {
                    Some(t) => format!("{range} · {said} · {t}"),
                    None => format!("{range} · {said}"),
                };
            }
        }
        "created" => {
            if let Some(rest) = detail.strip_prefix("pending; ")
                && let Some((sum, _)) = rest.split_once(" to ")
            {
                return tf(lang, "trail.created", &[("sum", sum)]);
            }
        }
        "action" => {
            let what = detail.rsplit("; ").next().unwrap_or(detail);
            if let Some(trx) = what.strip_prefix("capture, PartnerTrxId ") {
                return tf(lang, "trail.capture", &[("trx", trx)]);
            }
            if what == "cancel" {
                return t(lang, "trail.cancel").to_string();
            }
        }
        _ => {}
    }
    detail.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_never_pass_a_float() {
        assert_eq!(decimal(-5_050), "-50.50");
        assert_eq!(decimal(1), "0.01");
        assert_eq!(decimal(100_000_000_000), "1000000000.00");
        assert_eq!(amount(-5_050, Currency::Kzt), "-50,50 ₸");
        assert_eq!(amount(0, Currency::Kzt), "0,00 ₸");
    }

    #[test]
    fn the_trail_reads_in_the_cashiers_words() {
        use crate::i18n::Lang;
        use crate::journal::Kind;
        let k = Kind::AllpayCashIn;
        assert_eq!(
            trail(Lang::Ru, k, "sent", "attempt 2 by 4242@ns:boot"),
            "попытка 2"
        );
        assert_eq!(
            trail(
                Lang::En,
                k,
                "polls",
                "attempts 2-40 by 4242@ns:boot; still pending; status PENDING"
            ),
            "attempts 2–40 · still pending · Allpay: «PENDING»"
        );
        assert_eq!(
            trail(
                Lang::Ru,
                k,
                "polls",
                "attempts 5-5 by 4242@ns:boot; trouble: timed out; still pending; status -"
            ),
            "попытка 5 · по-прежнему в обработке · timed out"
        );
        // A provider's status that looks like a trouble stays the provider's, in quotes.
        assert_eq!(
            trail(
                Lang::En,
                k,
                "polls",
                "attempts 2-3 by 4242@ns:boot; still pending; status X; trouble: call us"
            ),
            "attempts 2–3 · still pending · Allpay: «X; trouble: call us»"
        );
        assert_eq!(
            trail(Lang::Ru, k, "state", "still pending; status PENDING"),
            "по-прежнему в обработке · Allpay: «PENDING»"
        );
        assert_eq!(
            trail(
                Lang::En,
                k,
                "state",
                "pending -> completed; status COMPLETED"
            ),
            "pending → topped up · Allpay: «COMPLETED»"
        );
        assert_eq!(
            trail(
                Lang::Ru,
                Kind::UpayHold,
                "action",
                "held -> pending; capture, PartnerTrxId 26120101"
            ),
            "списание, номер 26120101"
        );
        assert_eq!(
            trail(
                Lang::En,
                k,
                "created",
                "pending; 5000.00 to 77072734954 via http://x"
            ),
            "recorded before sending: 5000.00"
        );
        // What the journal writes in another form is shown as it is.
        assert_eq!(
            trail(Lang::Ru, k, "note", "paid at the bank"),
            "paid at the bank"
        );
        assert_eq!(
            trail(Lang::Ru, k, "state", "odd -> thing; status x"),
            "odd -> thing; status x"
        );
    }

    #[test]
    fn instants_read_the_same_everywhere() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(local_time(0).len(), "01.01.1970 00:00:00".len());
    }
}
