//! The token service and the Google client against the Google emulator over real HTTP.

mod errors;
mod faults;
mod files;
mod login;
mod secrets;
mod service;
mod support;
