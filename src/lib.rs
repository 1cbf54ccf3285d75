//! kassa: a terminal cashier console. See DESIGN.md in the shared folder for the shape.

pub mod config;
pub mod emulator;
pub mod i18n;
pub mod ids;
pub mod journal;
pub mod money;
pub mod providers;
