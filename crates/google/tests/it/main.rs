//! The token service against the Google emulator over real HTTP.

mod faults;
mod files;
mod login;
mod secrets;
mod service;
mod support;
