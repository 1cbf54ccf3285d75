//! UPay (UZ), STWS SOAP (document 004): card registration and holds. So far: the
//! AccessToken of each method, the check of UPay's signed notifications, and the requests and
//! replies of the five methods; the client, worker flows, emulator and screens follow
//! (issue 6).

pub mod client;
pub mod codec;
pub mod token;
