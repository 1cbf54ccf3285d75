//! UPay (UZ), STWS SOAP (document 004): card registration and holds. This first part owns
//! the AccessToken of each method and the check of UPay's signed notifications; the
//! requests, replies, client, emulator and screens follow (issue 6).

pub mod token;
