//! Allpay (KZ): the cash-in API (document 003). The terminal API (document 001) follows.

pub mod cash_in;
