//! Amounts of money: integer minor units with their currency, never a float.
//!
//! Owns what a cashier may type (`1 000,50`, `1000.5`), how kassa prints an amount
//! (`1 000,50 ₸`) and the decimal form the providers put on the wire (`1000.5`).
//! It knows nothing of providers beyond that decimal form.

use std::fmt;

/// The currencies kassa handles; each has two decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    /// Kazakhstani tenge: Allpay and Wooppay.
    Kzt,
    /// Uzbek sum: UPay (minor unit: tiyin).
    Uzs,
    /// WebMoney Z purses.
    Usd,
    /// WebMoney E purses.
    Eur,
    /// WebMoney R purses.
    Rub,
}

impl Currency {
    /// The ISO code, as stored in the journal.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Kzt => "KZT",
            Currency::Uzs => "UZS",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Rub => "RUB",
        }
    }

    pub fn from_code(code: &str) -> Option<Currency> {
        match code {
            "KZT" => Some(Currency::Kzt),
            "UZS" => Some(Currency::Uzs),
            "USD" => Some(Currency::Usd),
            "EUR" => Some(Currency::Eur),
            "RUB" => Some(Currency::Rub),
            _ => None,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Kzt => "₸",
            Currency::Uzs => "сўм",
            Currency::Usd => "$",
            Currency::Eur => "€",
            Currency::Rub => "₽",
        }
    }
}

/// Why a typed amount was refused; each maps to a message in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error("amount is not a number")]
    NotANumber,
    #[error("amount must be greater than zero")]
    Zero,
    #[error("amount cannot be negative")]
    Negative,
    #[error("amount has more than two decimals")]
    TooManyDecimals,
    #[error("amount is too large")]
    TooLarge,
}

impl AmountError {
    /// The catalogue key of the message a cashier sees.
    pub fn message_key(self) -> &'static str {
        match self {
            AmountError::Empty => "amount.empty",
            AmountError::NotANumber => "amount.not_number",
            AmountError::Zero => "amount.zero",
            AmountError::Negative => "amount.negative",
            AmountError::TooManyDecimals => "amount.decimals",
            AmountError::TooLarge => "amount.too_large",
        }
    }
}

/// The largest amount kassa accepts: a billion in major units. Far above any till's
/// takings, far below where i64 arithmetic on sums could overflow.
pub const MAX_MINOR: i64 = 100_000_000_000;

/// An amount of money in minor units (tiyn, tiyin, cents) with its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    minor: i64,
    currency: Currency,
}

fn is_space(c: char) -> bool {
    // What kassa prints may be pasted back: ordinary, no-break and narrow no-break spaces.
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

impl Amount {
    /// An amount from minor units; refuses zero, negatives and the absurdly large.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Amount, AmountError> {
        if minor == 0 {
            return Err(AmountError::Zero);
        }
        if minor < 0 {
            return Err(AmountError::Negative);
        }
        if minor > MAX_MINOR {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount { minor, currency })
    }

    /// No money at all: the amount of a row that moves none (a UPay card registration).
    /// Never parsed from input, never sent.
    pub fn none(currency: Currency) -> Amount {
        Amount { minor: 0, currency }
    }

    pub fn is_none(self) -> bool {
        self.minor == 0
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Parses what a cashier types: `1000`, `1 000`, `1000,50`, `1000.5`.
    pub fn parse(input: &str, currency: Currency) -> Result<Amount, AmountError> {
        let trimmed = input.trim_matches(is_space).trim();
        if trimmed.is_empty() {
            return Err(AmountError::Empty);
        }
        let (negative, body) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start_matches(is_space)),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let mut whole: i64 = 0;
        let mut frac: i64 = 0;
        let mut frac_digits = 0u32;
        let mut seen_sep = false;
        let mut digits = 0usize;
        let mut prev_space = false;
        for c in body.chars() {
            if is_space(c) {
                // A thousands separator only between digits of the whole part.
                if seen_sep || digits == 0 || prev_space {
                    return Err(AmountError::NotANumber);
                }
                prev_space = true;
                continue;
            }
            if c == ',' || c == '.' {
                if seen_sep || prev_space {
                    return Err(AmountError::NotANumber);
                }
                seen_sep = true;
                continue;
            }
            let Some(d) = c.to_digit(10) else {
                return Err(AmountError::NotANumber);
            };
            prev_space = false;
            digits += 1;
            if seen_sep {
                frac_digits += 1;
                if frac_digits > 2 {
                    return Err(AmountError::TooManyDecimals);
                }
                frac = frac * 10 + i64::from(d);
            } else {
                whole = whole
                    .checked_mul(10)
                    .and_then(|w| w.checked_add(i64::from(d)))
                    .ok_or(AmountError::TooLarge)?;
            }
        }
        if digits == 0 || prev_space {
            return Err(AmountError::NotANumber);
        }
        if frac_digits == 1 {
            frac *= 10;
        }
        let minor = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .ok_or(AmountError::TooLarge)?;
        if negative && minor != 0 {
            return Err(AmountError::Negative);
        }
        Amount::from_minor(minor, currency)
    }

    /// The decimal a provider's wire wants: `100`, `1000.5`, `1000.55`: the shortest form.
    pub fn to_wire_decimal(self) -> String {
        let whole = self.minor / 100;
        let frac = self.minor % 100;
        if frac == 0 {
            whole.to_string()
        } else if frac % 10 == 0 {
            format!("{whole}.{}", frac / 10)
        } else {
            format!("{whole}.{frac:02}")
        }
    }

    /// Reads a decimal from a provider's reply leniently (`100`, `100.5`, `100.50`,
    /// `1.0E2` is not accepted): at most two decimals, no float on the way.
    pub fn from_wire_decimal(text: &str, currency: Currency) -> Result<Amount, AmountError> {
        let t = text.trim();
        // A wire decimal has no thousands separators, whatever follows them.
        if t.contains(',') || t.contains(is_space) {
            return Err(AmountError::NotANumber);
        }
        // Replies may carry trailing zeros beyond two places (`10.500`).
        let t = match t.split_once('.') {
            Some((w, f))
                if f.len() > 2
                    && f.bytes().all(|b| b.is_ascii_digit())
                    && f.bytes().skip(2).all(|b| b == b'0') =>
            {
                return Amount::parse(&format!("{w}.{}", &f[..2]), currency);
            }
            _ => t,
        };
        Amount::parse(t, currency)
    }

    /// How kassa shows an amount: `1 000,50 ₸`.
    pub fn display(self) -> String {
        format!("{} {}", self.display_number(), self.currency.symbol())
    }

    /// The number alone, grouped: `1 000,50`.
    pub fn display_number(self) -> String {
        let whole = (self.minor / 100).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        format!("{grouped},{:02}", self.minor % 100)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kzt(s: &str) -> Result<i64, AmountError> {
        Amount::parse(s, Currency::Kzt).map(Amount::minor)
    }

    #[test]
    fn parses_what_cashiers_type() {
        assert_eq!(kzt("1000"), Ok(100_000));
        assert_eq!(kzt("1 000"), Ok(100_000));
        assert_eq!(kzt("1\u{a0}000"), Ok(100_000));
        assert_eq!(kzt("1\u{202f}000,50"), Ok(100_050));
        assert_eq!(kzt("1000,50"), Ok(100_050));
        assert_eq!(kzt("1000.5"), Ok(100_050));
        assert_eq!(kzt("0.01"), Ok(1));
        assert_eq!(kzt(" 5 000 "), Ok(500_000));
    }

    #[test]
    fn refuses_with_the_reason() {
        assert_eq!(kzt(""), Err(AmountError::Empty));
        assert_eq!(kzt("   "), Err(AmountError::Empty));
        assert_eq!(kzt("0"), Err(AmountError::Zero));
        assert_eq!(kzt("0,00"), Err(AmountError::Zero));
        assert_eq!(kzt("-5"), Err(AmountError::Negative));
        assert_eq!(kzt("10.555"), Err(AmountError::TooManyDecimals));
        assert_eq!(kzt("12a"), Err(AmountError::NotANumber));
        assert_eq!(kzt("1.2.3"), Err(AmountError::NotANumber));
        assert_eq!(kzt("."), Err(AmountError::NotANumber));
        assert_eq!(kzt("1 000 "), Ok(100_000));
        assert_eq!(kzt("1  000"), Err(AmountError::NotANumber));
        assert_eq!(kzt("99999999999999999999"), Err(AmountError::TooLarge));
        assert_eq!(kzt("1000000001"), Err(AmountError::TooLarge));
        assert_eq!(kzt("1e3"), Err(AmountError::NotANumber));
    }

    #[test]
    fn formats_for_the_cashier_and_the_wire() {
        let a = Amount::parse("1000,5", Currency::Kzt).ok();
        assert_eq!(a.map(Amount::display).as_deref(), Some("1 000,50 ₸"));
        assert_eq!(a.map(Amount::to_wire_decimal).as_deref(), Some("1000.5"));
        let b = Amount::from_minor(123_456_789, Currency::Uzs).ok();
        assert_eq!(b.map(Amount::display).as_deref(), Some("1 234 567,89 сўм"));
        assert_eq!(
            b.map(Amount::to_wire_decimal).as_deref(),
            Some("1234567.89")
        );
        let c = Amount::from_minor(10_000, Currency::Kzt).ok();
        assert_eq!(c.map(Amount::to_wire_decimal).as_deref(), Some("100"));
        let d = Amount::from_minor(736, Currency::Kzt).ok();
        assert_eq!(d.map(Amount::to_wire_decimal).as_deref(), Some("7.36"));
    }

    #[test]
    fn reads_replies_leniently() {
        let w = |s| Amount::from_wire_decimal(s, Currency::Kzt).map(Amount::minor);
        assert_eq!(w("10.50"), Ok(1050));
        assert_eq!(w("10.500"), Ok(1050));
        assert_eq!(w("100"), Ok(10_000));
        assert_eq!(w("1 000"), Err(AmountError::NotANumber));
        assert_eq!(w("10,5"), Err(AmountError::NotANumber));
    }

    #[test]
    fn a_wire_decimal_with_a_separator_is_refused_even_with_trailing_zeros() {
        // Found by tests/fuzz.rs: the trailing-zeros path went round the separator check.
        for s in ["0 000.100", "1 000.500", "1\u{a0}000.000", "1,000.000"] {
            assert_eq!(
                Amount::from_wire_decimal(s, Currency::Kzt),
                Err(AmountError::NotANumber),
                "{s}"
            );
        }
        assert_eq!(
            Amount::from_wire_decimal("1000.500", Currency::Kzt).map(Amount::minor),
            Ok(100_050)
        );
    }

    proptest! {
        #[test]
        fn display_parses_back(minor in 1i64..=MAX_MINOR) {
            let a = Amount::from_minor(minor, Currency::Kzt).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(Amount::parse(&a.display_number(), Currency::Kzt), Ok(a));
            prop_assert_eq!(Amount::from_wire_decimal(&a.to_wire_decimal(), Currency::Kzt), Ok(a));
        }

        #[test]
        fn never_panics_on_any_text(s in ".{0,40}") {
            let _ = Amount::parse(&s, Currency::Kzt);
            let _ = Amount::from_wire_decimal(&s, Currency::Kzt);
        }

        #[test]
        fn wire_form_has_no_float_artifacts(minor in 1i64..=MAX_MINOR) {
            let a = Amount::from_minor(minor, Currency::Kzt).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let w = a.to_wire_decimal();
            prop_assert!(!w.ends_with('0') || !w.contains('.'));
            prop_assert!(w.split('.').nth(1).is_none_or(|f| f.len() <= 2));
        }
    }
}
