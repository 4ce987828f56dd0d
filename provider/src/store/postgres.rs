//! The production backend for several nodes: PostgreSQL through sqlx. Every statement is shared
//! with SQLite (`store/sql.rs`); this file holds what differs: the pool and the migrations.
//!
//! Two nodes starting at once are safe: sqlx takes an advisory lock while migrating.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::store::Result;

/// Connections per node (each request holds one only for its statements).
const MAX_CONNECTIONS: u32 = 16;

/// PostgreSQL implementation of every store trait.
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`, with `?options=-c%20search_path%3D…` to use
    /// a schema) and runs the embedded migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }
}

crate::store::sql::sql_backend!(PostgresStore, sqlx::Postgres);
