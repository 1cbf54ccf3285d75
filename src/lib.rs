//! kassa: a terminal cashier console. See DESIGN.md in the shared folder for the shape.

pub mod app;
pub mod callbacks;
pub mod config;
pub mod demo;
pub mod emulator;
pub mod exit;
pub mod export;
pub mod flows;
pub mod format;
pub mod headless;
pub mod http1;
pub mod i18n;
pub mod ids;
pub mod journal;
pub mod logs;
pub mod mask;
pub mod money;
pub mod providers;
pub mod receipt;
pub mod report;
pub mod validate;
pub mod worker;
