//! WebMoney Keeper Classic signatures from the keeper's key file (`.kwm`), as the public
//! WMSigner implementations agree on it:
//!
//! - the file is 164 bytes, little-endian: u16 reserved, u16 flag, 16-byte MD4 check value,
//!   u32 length (140), a 140-byte buffer whose bytes from offset 6 on are XORed with
//!   MD4(wmid + password), the 16 bytes repeating;
//! - the file is valid when MD4(reserved, u16 0, 16 zero bytes, length, decrypted buffer)
//!   equals the check value; if not, the first half of the password is tried (a WebMoney
//!   quirk);
//! - the buffer holds u32 reserved, u16 length + exponent, u16 length + modulus;
//! - a signature is (u16 56 || MD4(data) || 40 random bytes) read as a little-endian integer,
//!   raised to the exponent mod the modulus, as 132 lowercase hex digits with their 4-digit
//!   groups in reverse order.
//!
//! The key and the password never leave this module and are zeroized when dropped.

use md4::{Digest, Md4};
use num_bigint::BigUint;
use zeroize::Zeroizing;

/// Why a key file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key file is {0} bytes; a Keeper Classic key file has 164")]
    Size(usize),
    #[error("the key file's length field says {0}, expected 140")]
    Length(u32),
    #[error("the key file does not open with this WMID and password")]
    WrongPassword,
    #[error("the key inside the file is malformed")]
    Malformed,
}

/// A decrypted Keeper Classic key.
pub struct Signer {
    exponent: Zeroizing<Vec<u8>>,
    modulus: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { .. }")
    }
}

const FILE_LEN: usize = 164;
const BUF_LEN: usize = 140;
const HEADER: usize = 24;

fn md4(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md4::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn decrypt(buf: &[u8], wmid: &str, password: &[u8]) -> Zeroizing<Vec<u8>> {
    let key = Zeroizing::new(md4(&[wmid.as_bytes(), password]));
    let mut out = Zeroizing::new(buf.to_vec());
    for (i, b) in out.iter_mut().enumerate().skip(6) {
        *b ^= key[(i - 6) % 16];
    }
    out
}

fn check_value(file: &[u8], plain: &[u8]) -> [u8; 16] {
    md4(&[&file[0..2], &[0, 0], &[0u8; 16], &file[20..24], plain])
}

fn read_part(buf: &[u8], at: usize) -> Option<(Vec<u8>, usize)> {
    let len = usize::from(u16::from_le_bytes([*buf.get(at)?, *buf.get(at + 1)?]));
    let bytes = buf.get(at + 2..at + 2 + len)?.to_vec();
    Some((bytes, at + 2 + len))
}

impl Signer {
    /// Opens a key file with the keeper's WMID and password (the half-password rule too).
    pub fn from_kwm(file: &[u8], wmid: &str, password: &str) -> Result<Signer, KeyError> {
        if file.len() != FILE_LEN {
            return Err(KeyError::Size(file.len()));
        }
        let length = u32::from_le_bytes([file[20], file[21], file[22], file[23]]);
        if length as usize != BUF_LEN {
            return Err(KeyError::Length(length));
        }
        let check = &file[4..20];
        let buf = &file[HEADER..];
        let full = password.as_bytes();
        let half = &full[..full.len() / 2];
        for pw in [full, half] {
            let plain = decrypt(buf, wmid, pw);
            if check_value(file, &plain) == check {
                let (exponent, next) = read_part(&plain, 4).ok_or(KeyError::Malformed)?;
                let exponent = Zeroizing::new(exponent);
                let (modulus, _) = read_part(&plain, next).ok_or(KeyError::Malformed)?;
                // A zero modulus would make the arithmetic panic; an empty exponent is no key.
                if exponent.is_empty() || modulus.iter().all(|b| *b == 0) {
                    return Err(KeyError::Malformed);
                }
                return Ok(Signer { exponent, modulus });
            }
        }
        Err(KeyError::WrongPassword)
    }

    /// Signs `data` with the given 40 random bytes (tests fix them; see [`Signer::sign`]).
    pub fn sign_with(&self, data: &[u8], random: &[u8; 40]) -> String {
        let mut block = Zeroizing::new(Vec::with_capacity(58));
        block.extend_from_slice(&56u16.to_le_bytes());
        block.extend_from_slice(&md4(&[data]));
        block.extend_from_slice(random);
        let m = BigUint::from_bytes_le(&block);
        // num-bigint cannot zeroize its digits: this short-lived copy of the exponent is the
        // one the allocator frees without clearing (docs/decisions.md).
        let d = BigUint::from_bytes_le(&self.exponent);
        let n = BigUint::from_bytes_le(&self.modulus);
        let s = m.modpow(&d, &n);
        drop(d);
        let hex = format!("{s:0>132x}");
        // The 4-digit groups in reverse order.
        let groups: Vec<&str> = (0..hex.len())
            .step_by(4)
            .map(|i| &hex[i..(i + 4).min(hex.len())])
            .collect();
        groups.into_iter().rev().collect()
    }

    /// Signs `data` with 40 fresh random bytes from the operating system's generator
    /// (getrandom(2) on Linux). All 320 bits are random: UUID v4 bytes, used before, fix 6
    /// bits in every 16 bytes. An error means the generator could not be read; nothing is
    /// signed then, and nothing is sent.
    pub fn try_sign(&self, data: &[u8]) -> Result<String, getrandom::Error> {
        let random = random_bytes()?;
        Ok(self.sign_with(data, &random))
    }

    /// As [`Signer::try_sign`], for the emulator and tests: a generator that cannot be read
    /// is a broken machine, and this panics (as the UUID generator did).
    pub fn sign(&self, data: &[u8]) -> String {
        match self.try_sign(data) {
            Ok(s) => s,
            Err(e) => panic!("the operating system's random generator failed: {e}"),
        }
    }
}

/// The 40 random bytes of one signature, from the operating system's generator.
fn random_bytes() -> Result<Zeroizing<[u8; 40]>, getrandom::Error> {
    let mut random = Zeroizing::new([0u8; 40]);
    getrandom::fill(random.as_mut_slice())?;
    Ok(random)
}

/// Writes a key file in the Keeper Classic layout: for our own test and demo keys, so that
/// the emulator can check signatures with the public half.
pub fn build_kwm(wmid: &str, password: &str, exponent: &[u8], modulus: &[u8]) -> Vec<u8> {
    let mut plain = Zeroizing::new(vec![0u8; BUF_LEN]);
    let mut at = 4;
    for part in [exponent, modulus] {
        let len = u16::try_from(part.len()).unwrap_or(0);
        plain[at..at + 2].copy_from_slice(&len.to_le_bytes());
        plain[at + 2..at + 2 + part.len()].copy_from_slice(part);
        at += 2 + part.len();
    }
    let mut file = vec![0u8; FILE_LEN];
    file[0..2].copy_from_slice(&0x0081u16.to_le_bytes());
    file[2..4].copy_from_slice(&1u16.to_le_bytes());
    file[20..24].copy_from_slice(&(BUF_LEN as u32).to_le_bytes());
    let check = check_value(&file, &plain);
    file[4..20].copy_from_slice(&check);
    let enc = decrypt(&plain, wmid, password.as_bytes());
    file[HEADER..].copy_from_slice(&enc);
    file
}

/// Checks a signature with the public exponent `e`: what WebMoney's server does, and what
/// the emulator does with the demo key.
pub fn verify(data: &[u8], signature: &str, e: &BigUint, modulus: &[u8]) -> bool {
    if signature.len() != 132 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let groups: Vec<&str> = (0..132).step_by(4).map(|i| &signature[i..i + 4]).collect();
    let hex: String = groups.into_iter().rev().collect();
    let Some(s) = BigUint::parse_bytes(hex.as_bytes(), 16) else {
        return false;
    };
    let n = BigUint::from_bytes_le(modulus);
    let m = s.modpow(e, &n).to_bytes_le();
    m.len() >= 18 && m[0..2] == 56u16.to_le_bytes() && m[2..18] == md4(&[data])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public test key of the WMSigner ports (shared/reference/wmsigner-vector.md).
    const TEST_KWM: &str = "810001003096656db0d443201c262cc1f54f75fe8c0000000000000042000c737dc834e504842725de16fd193e5031a1ad8898a02e725468d2915f4615290b14a80c936af66c90e715402e6f6b1cf6f8d76e991c5254bc417eb44e2f371024176e8982c9b652e3337fa4ed08254efb1f71417853af8e1df63cbb3025a12a286088814ee5c9d56c4fb28125df6f7cd8586913559db1f9350745fa7983bf7ef71be3afb7d6";
    const EXPECTED: &str = "642c2f71aafe930bcd238d925833414ccba29f2d408f3b77f1d7100111269865a100c6550258420734e96b4c11153ed597af9a28a066ffece8b50b0c5ffa15fe068f";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    #[test]
    fn reproduces_the_public_known_answer() {
        let file = unhex(TEST_KWM);
        let s = Signer::from_kwm(&file, "405002833238", "FvGqPdAy8reVWw789").expect("opens");
        assert_eq!(s.exponent.len(), 66);
        assert_eq!(s.modulus.len(), 66);
        assert_eq!(s.sign_with(b"TEST", &[0u8; 40]), EXPECTED);
    }

    #[test]
    fn the_half_password_rule() {
        let file = unhex(TEST_KWM);
        let s = Signer::from_kwm(&file, "405002833238", "FvGqPdAy8reVWw789FvGqPdAy8reVWw789!")
            .expect("opens with the first half");
        assert_eq!(s.sign_with(b"TEST", &[0u8; 40]), EXPECTED);
    }

    #[test]
    fn wrong_password_and_corrupted_files_are_clear_errors() {
        let file = unhex(TEST_KWM);
        assert_eq!(
            Signer::from_kwm(&file, "405002833238", "nope").err(),
            Some(KeyError::WrongPassword)
        );
        assert_eq!(
            Signer::from_kwm(&file[..100], "405002833238", "x").err(),
            Some(KeyError::Size(100))
        );
        let mut bad = file.clone();
        bad[60] ^= 0xff;
        assert_eq!(
            Signer::from_kwm(&bad, "405002833238", "FvGqPdAy8reVWw789").err(),
            Some(KeyError::WrongPassword)
        );
        let mut len = file;
        len[20] = 7;
        assert_eq!(
            Signer::from_kwm(&len, "405002833238", "FvGqPdAy8reVWw789").err(),
            Some(KeyError::Length(7))
        );
    }

    #[test]
    fn our_own_key_round_trips_and_verifies() {
        let (d, n) = crate::emulator::webmoney::demo_private_key();
        let file = build_kwm("000000000001", "secret", &d, &n);
        assert_eq!(file.len(), 164);
        let s = Signer::from_kwm(&file, "000000000001", "secret").expect("opens");
        let sig = s.sign(b"1000000000001Z00000000000110.5test");
        let e = BigUint::from(65_537u32);
        assert!(verify(b"1000000000001Z00000000000110.5test", &sig, &e, &n));
        assert!(!verify(b"something else", &sig, &e, &n));
        let again = s.try_sign(b"1000000000001Z00000000000110.5test");
        assert!(
            again.as_ref().is_ok_and(|a| *a != sig),
            "fresh bytes each time"
        );
        assert!(again.is_ok_and(|a| verify(b"1000000000001Z00000000000110.5test", &a, &e, &n)));
    }

    #[test]
    fn every_random_bit_varies() {
        // 64 draws: a bit that is the same in all of them is fixed (as UUID v4's version and
        // variant bits were), with odds of 2^-63 for a truly random one.
        let mut ones = [0u8; 40];
        let mut zeros = [0u8; 40];
        for _ in 0..64 {
            let r = random_bytes().expect("the OS generator");
            for (i, b) in r.iter().enumerate() {
                ones[i] |= b;
                zeros[i] |= !b;
            }
        }
        assert_eq!(ones, [0xff; 40], "a bit never 1");
        assert_eq!(zeros, [0xff; 40], "a bit never 0");
    }
}
