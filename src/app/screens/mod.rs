//! One module per screen: its state, its part of `update`, its `view`, its key hints.

pub mod cash_in;
pub mod day;
pub mod detail;
pub mod home;
pub mod journal;
pub mod pay;
pub mod payment;
pub mod upay;
pub mod webmoney;
pub mod wooppay;
