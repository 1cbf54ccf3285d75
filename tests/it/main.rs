//! Every integration test in one binary: one link of the crate instead of one per file
//! (a clean `cargo test` builds and links once). Each module is one area; `common` is the
//! harness they share (an emulator on loopback, settings pointing at it, a worker);
//! `screen` is the harness of the screen tests (a model, keys, rendering, snapshots).

mod common;
#[path = "../support/pg.rs"]
mod pg;
mod screen;

mod any_text;
mod bad_input;
mod cash_in_flow;
mod chain;
mod cli;
mod cli_json;
mod crash_campaign;
mod day;
mod export;
mod faults;
mod fuzz;
mod hygiene;
mod listener;
mod load;
mod pay_flow;
#[cfg(unix)]
mod pty;
mod receipt;
mod reconcile;
mod recovery;
mod screens;
mod secrets;
mod unambiguous;
mod upay_client;
mod upay_flow;
mod upay_screens;
mod webmoney_flow;
mod wooppay_client;
mod wooppay_flow;
