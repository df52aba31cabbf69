//! One module per command group. Each loads what it needs through [`Context`] and calls
//! the use case in `jada_ops`.

pub mod api_key;
pub mod auth;
pub mod charters;
pub mod config;
pub mod crew;
pub mod demo;
pub mod dispatch;
pub mod doctor;
pub mod init;
pub mod jobs;
pub mod report;
pub mod roster;
pub mod serve;
pub mod statements;
pub mod sync;
pub mod wiring;

use std::path::PathBuf;

use anyhow::Context as _;
use jada_ops::{Clock, SystemClock};
use jada_store::sqlite::SqliteStore;

use crate::cli::Global;
use crate::config::{Config, Source};
use crate::data_dir::DataDir;
use crate::Failure;

/// Everything a command that touches the store needs.
pub struct Context {
    pub config: Config,
    pub data: DataDir,
    pub store: SqliteStore,
    pub clock: SystemClock,
}

impl Context {
    pub fn load(g: &Global) -> Result<Context, Failure> {
        let config = load_config(g)?;
        let data = DataDir::new(&config.data_dir);
        data.ensure()?;
        let store = SqliteStore::open(data.db()).context("cannot open the store")?;
        Ok(Context {
            config,
            data,
            store,
            clock: SystemClock,
        })
    }

    /// Today in the business's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.config.business.time_zone.date_of(self.clock.now())
    }
}

pub fn config_source(g: &Global) -> Source {
    match &g.config {
        Some(p) => Source::Explicit(p.clone()),
        None => Source::Default(PathBuf::from("jada.toml")),
    }
}

pub fn load_config(g: &Global) -> Result<Config, Failure> {
    Config::load(&config_source(g), g.data_dir.as_deref()).map_err(|e| Failure::Usage(e.into()))
}

/// Reads a file to import, naming it when it cannot be read.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Usage(anyhow::anyhow!("cannot read {}: {e}", path.display())))
}
