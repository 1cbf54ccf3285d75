//! How card data and keys to it appear wherever kassa shows or keeps them: a card number
//! as its first six and last four digits, a CardToken by its ends.

/// The card number as kassa ever shows or keeps it: the first six and last four digits.
pub fn pan(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 12 {
        return "*".repeat(digits.len());
    }
    let head: String = digits[..6].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(digits.len() - 10))
}

/// A CardToken as it is shown and logged: enough to tell two apart, not enough to use.
pub fn token(token: &str) -> String {
    let n = token.chars().count();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = token.chars().take(4).collect();
    let tail: String = token.chars().skip(n - 4).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn card_numbers_are_masked_six_and_four() {
        assert_eq!(super::pan("4719 5150 4288 3250"), "471951******3250");
        assert_eq!(super::pan("8600123456789012345"), "860012*********2345");
        assert_eq!(super::pan("1234"), "****");
        assert_eq!(super::token("60f74ae9c13cfc8s464a5"), "60f7…64a5");
    }
}
