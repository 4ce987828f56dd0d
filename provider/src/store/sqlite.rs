//! The embedded default backend: SQLite through sqlx (bundled SQLite, WAL journal).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::store::Result;

/// SQLite implementation of every store trait.
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and runs the embedded migrations.
    /// A file database (`file`) is created owner-only (0600, its journal files inherit that)
    /// in an owner-only directory (0700), and an existing one that others may read is refused:
    /// it holds (sealed) private keys, password hashes and refresh-token digests.
    pub async fn open(url: &str, file: Option<&Path>) -> Result<Self> {
        if let Some(file) = file {
            prepare_file(file)?;
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // 1 MiB of page cache per connection instead of SQLite's 2 MiB: with eight
            // connections the caches were most of the provider's heap after a benchmark, and
            // the lookups are by key (the operating system caches the file as well).
            .pragma("cache_size", "-1024");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

/// Creates the directory (0700) and an empty database file (0600) when missing; refuses a
/// database file, or its WAL/SHM companions, that group or others may read.
fn prepare_file(file: &Path) -> Result<()> {
    if let Some(parent) = file
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        crate::sealing::create_private_dir(parent)?;
    }
    if !file.exists() {
        // An empty file is an empty SQLite database; creating it here fixes its mode.
        crate::sealing::write_private(file, "")?;
    }
    for companion in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(companion);
        let path = std::path::PathBuf::from(name);
        if path.exists() {
            crate::sealing::check_private(&path).map_err(std::io::Error::other)?;
        }
    }
    Ok(())
}

crate::store::sql::sql_backend!(SqliteStore, sqlx::Sqlite);

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("the file exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[tokio::test]
    async fn the_database_is_owner_only_and_an_exposed_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fresh").join("provider.db");
        let url = format!("sqlite://{}", file.display());
        let store = SqliteStore::open(&url, Some(&file)).await.unwrap();
        sqlx::query("CREATE TABLE probe (x INTEGER)")
            .execute(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode(file.parent().unwrap()), 0o700);
        assert_eq!(mode(&file), 0o600);
        let wal = dir.path().join("fresh").join("provider.db-wal");
        assert!(wal.exists());
        assert_eq!(
            mode(&wal),
            0o600,
            "the journal inherits the database's mode"
        );
        store.pool.close().await;

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = SqliteStore::open(&url, Some(&file))
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("chmod 600"), "{refused}");
    }
}
