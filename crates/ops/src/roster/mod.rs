//! Crew availability from the shared sheet into the roster.

pub mod dates;
