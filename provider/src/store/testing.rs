//! Test support for the PostgreSQL backend: a schema of its own per test, dropped afterwards.
//! Compiled for the provider's own tests and, with the `test-support` feature, for the
//! workspace integration tests.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The environment variable naming a PostgreSQL server for tests
/// (`postgres://root@127.0.0.1:5432/test` on the development and CI machines).
pub const POSTGRES_URL_VAR: &str = "OIDC_TEST_POSTGRES_URL";

/// The server of [`POSTGRES_URL_VAR`], or `None` (tests that need it then say they skipped).
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty())
}

/// A schema created for one test; dropped (with everything in it) when this is dropped.
pub struct TestSchema {
    server_url: String,
    name: String,
}

impl TestSchema {
    /// Creates `oidc_test_<random>` on the server at `server_url`.
    ///
    /// # Panics
    /// When the server cannot be reached: a test that was given a server must not pass
    /// without it.
    pub async fn create(server_url: &str) -> TestSchema {
        let name = format!("oidc_test_{:016x}", rand::random::<u64>());
        let mut connection = PgConnection::connect(server_url)
            .await
            .unwrap_or_else(|err| panic!("{POSTGRES_URL_VAR} is set but unusable: {err}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut connection)
            .await
            .expect("create the test schema");
        TestSchema {
            server_url: server_url.to_owned(),
            name,
        }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A database URL whose connections use this schema (`search_path`).
    pub fn url(&self) -> String {
        let separator = if self.server_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.server_url, self.name
        )
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop can run inside a runtime (no blocking there) or during a panic: clean up on a
        // thread of its own with a runtime of its own.
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(mut connection) = PgConnection::connect(&server_url).await else {
                    return;
                };
                let drop_schema = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
                // The provider under test may still be running, on the runtime this drop now
                // blocks: a connection of its pool can sit in an open transaction that never
                // finishes, holding locks the DROP waits for. Wait briefly, then end the
                // sessions that hold locks in this schema, and drop again.
                let _ = sqlx::query("SET lock_timeout = '2s'")
                    .execute(&mut connection)
                    .await;
                let dropped = sqlx::query(sqlx::AssertSqlSafe(drop_schema.clone()))
                    .execute(&mut connection)
                    .await;
                if dropped.is_err() {
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
                         JOIN pg_class c ON l.relation = c.oid
                         JOIN pg_namespace n ON c.relnamespace = n.oid
                         WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()",
                    )
                    .bind(&name)
                    .execute(&mut connection)
                    .await;
                    let _ = sqlx::query("SET lock_timeout = '10s'")
                        .execute(&mut connection)
                        .await;
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop_schema))
                        .execute(&mut connection)
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
