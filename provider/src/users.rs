//! `provider users add`: creates an account in the database of a (possibly running) provider.
//! Serve mode seeds no demo users; this is how operators add real ones.

use crate::Error;
use crate::protocol::types::{Password, Subject, encode_random};
use crate::store::{DatabaseUrl, UserRecord};

/// bcrypt cost for real accounts (about 0.3 s of one core per verification on these machines).
pub const BCRYPT_COST: u32 = 12;
/// Shortest accepted password (NIST SP 800-63B §5.1.1.2 asks for at least 8; we ask for more).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// A new account, before hashing.
#[derive(Debug)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// The password, as typed.
    pub password: Password,
}

/// Checks a new account's fields; the messages are for the operator at the terminal.
pub fn validate(user: &NewUser) -> Result<(), String> {
    let username = user.username.trim();
    if username.is_empty()
        || username.len() > 64
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("--username: 1 to 64 characters, no spaces".into());
    }
    if user.name.trim().is_empty() || user.name.chars().any(char::is_control) {
        return Err("--name: must not be empty".into());
    }
    if !user.email.contains('@')
        || user
            .email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("--email: not an email address".into());
    }
    let password = user.password.expose();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password needs at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password may have at most {MAX_PASSWORD_BYTES} bytes (a bcrypt limit)"
        ));
    }
    Ok(())
}

/// Hashes the password (bcrypt, on the blocking pool) and stores the account with a random,
/// opaque `sub`. Returns the new subject.
pub async fn add_user(
    database_url: &DatabaseUrl,
    user: NewUser,
    subject_random: [u8; 32],
) -> Result<Subject, Error> {
    validate(&user).map_err(|message| Error::internal("checking the new user", message))?;
    let store = crate::store::open(database_url).await?;
    if store
        .users
        .user_by_username(user.username.trim())
        .await?
        .is_some()
    {
        return Err(Error::internal(
            "adding a user",
            format!("the user name {:?} is taken", user.username.trim()),
        ));
    }
    let password = user.password;
    let hash = tokio::task::spawn_blocking(move || {
        bcrypt::non_truncating_hash(password.expose(), BCRYPT_COST)
    })
    .await
    .map_err(|err| Error::internal("hashing the password", err))?
    .map_err(|err| Error::internal("hashing the password", err))?;
    let subject = Subject(encode_random(subject_random)[..22].to_owned());
    store
        .users
        .upsert_user(&UserRecord {
            subject: subject.clone(),
            username: user.username.trim().to_owned(),
            password_hash: hash,
            name: user.name.trim().to_owned(),
            email: user.email.trim().to_owned(),
            email_verified: user.email_verified,
        })
        .await?;
    Ok(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(username: &str, password: &str) -> NewUser {
        NewUser {
            username: username.into(),
            name: "Carol Operator".into(),
            email: "carol@example.com".into(),
            email_verified: true,
            password: Password::new(password.into()),
        }
    }

    #[test]
    fn validation_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("carol", "correct horse battery", true),
            ("carol", "short", false),
            ("carol", &"x".repeat(73), false),
            ("", "correct horse battery", false),
            ("two words", "correct horse battery", false),
        ];
        for (username, password, ok) in cases {
            assert_eq!(
                validate(&user(username, password)).is_ok(),
                *ok,
                "{username:?} {}",
                password.len()
            );
        }
        let mut bad_email = user("carol", "correct horse battery");
        bad_email.email = "not-an-address".into();
        assert!(validate(&bad_email).is_err());
    }

    #[tokio::test]
    async fn added_users_can_sign_in_and_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(format!(
            "sqlite://{}",
            dir.path().join("users.db").display()
        ));
        let subject = add_user(&url, user("carol", "correct horse battery"), [7; 32])
            .await
            .unwrap();
        assert_ne!(
            subject.as_str(),
            "carol",
            "sub is opaque, not the login name"
        );
        let store = crate::store::open(&url).await.unwrap();
        let stored = store
            .users
            .user_by_username("carol")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.subject, subject);
        assert!(bcrypt::verify("correct horse battery", &stored.password_hash).unwrap());
        assert!(stored.password_hash.starts_with("$2b$12$"), "cost 12");
        assert!(
            add_user(&url, user("carol", "another long password"), [8; 32])
                .await
                .is_err(),
            "taken"
        );
    }
}
