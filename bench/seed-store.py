#!/usr/bin/env python3
"""Seeds a provider store with bulk data for the scaling benchmark (bench/run.sh).

usage: bench/seed-store.py sqlite PATH TOKENS USERS
       bench/seed-store.py postgres URL TOKENS USERS SCHEMA

Adds TOKENS refresh tokens, TOKENS access-token records (grant_access_tokens) and USERS users to
a store the provider has already created (its migrations ran). Every other token and record is
already expired, so the provider's purge at start has TOKENS rows to delete while the benchmark
runs; the rest stay until long after it. Digests are unique filler: nothing can redeem them.
Prints one line: "# seeded <backend>: ... in <s> s".
"""
import subprocess
import sys
import time

backend, target, tokens, users = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
now = int(time.time())
expired, alive = now - 3600, now + 30 * 24 * 3600
started = time.time()

# One statement per table, generated in the database (a recursive CTE in SQLite,
# generate_series in PostgreSQL): seconds instead of minutes of client round trips.
if backend == "sqlite":
    import sqlite3

    db = sqlite3.connect(target)
    db.execute("PRAGMA journal_mode=WAL")
    series = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
    db.execute(
        series.format(count=tokens)
        + "INSERT INTO refresh_tokens (token_digest, family_id, client_id, subject, data, "
        "issued_at, expires_at) SELECT printf('seed-rt-%064d', i), printf('seed-family-%d', i / 4), "
        "'demo-web', printf('seed-user-%d', i % ?), '{}', ?, CASE i % 2 WHEN 0 THEN ? ELSE ? END FROM n",
        (max(users, 1), now - 7200, expired, alive),
    )
    db.execute(
        series.format(count=tokens)
        + "INSERT INTO grant_access_tokens (jti, grant_id, expires_at) "
        "SELECT printf('seed-jti-%040d', i), printf('seed-family-%d', i / 4), "
        "CASE i % 2 WHEN 0 THEN ? ELSE ? END FROM n",
        (expired, alive),
    )
    db.execute(
        series.format(count=users)
        + "INSERT INTO users (subject, username, password_hash, name, email, email_verified) "
        "SELECT printf('seed-user-%d', i), printf('seed-user-%d', i), "
        "'$2b$12$2W7WkC7TGP0nh8Dv/sT5X.LbfbH6rG83q5T2OoCCHO3Az.SlSSfHq', "
        "printf('Seed User %d', i), printf('seed-%d@example.test', i), 1 FROM n",
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
elif backend == "postgres":
    schema = sys.argv[5]
    sql = f"""
SET search_path = {schema};
INSERT INTO refresh_tokens (token_digest, family_id, client_id, subject, data, issued_at, expires_at)
  SELECT 'seed-rt-' || lpad(i::text, 64, '0'), 'seed-family-' || (i / 4), 'demo-web',
         'seed-user-' || (i % {max(users, 1)}), '{{}}', {now - 7200},
         CASE i % 2 WHEN 0 THEN {expired} ELSE {alive} END
  FROM generate_series(1, {tokens}) AS i;
INSERT INTO grant_access_tokens (jti, grant_id, expires_at)
  SELECT 'seed-jti-' || lpad(i::text, 40, '0'), 'seed-family-' || (i / 4),
         CASE i % 2 WHEN 0 THEN {expired} ELSE {alive} END
  FROM generate_series(1, {tokens}) AS i;
INSERT INTO users (subject, username, password_hash, name, email, email_verified)
  SELECT 'seed-user-' || i, 'seed-user-' || i,
         '$2b$12$2W7WkC7TGP0nh8Dv/sT5X.LbfbH6rG83q5T2OoCCHO3Az.SlSSfHq',
         'Seed User ' || i, 'seed-' || i || '@example.test', TRUE
  FROM generate_series(1, {users}) AS i;
ANALYZE;
"""
    subprocess.run(["psql", target, "-q", "-v", "ON_ERROR_STOP=1"], input=sql.encode(), check=True)
else:
    sys.exit(f"unknown backend {backend!r}: sqlite or postgres")

print(f"# seeded {backend}: {tokens} refresh tokens and {tokens} access-token records "
      f"(half expired), {users} users in {time.time() - started:.1f} s")
