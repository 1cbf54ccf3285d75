//! Allpay (KZ): the cash-in API (document 003) and the terminal API for utility payments
//! (document 001). They share the request and response headers.

pub mod cash_in;
pub mod terminal;
