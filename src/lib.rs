//! The `concord` binary's library: command line, configuration, and the commands that wire the
//! storage and web crates together.

pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_health;
pub mod doctor;
pub mod maintenance;
pub mod market_cli;
