//! `provider users add|list|passwd|disable|enable`: accounts in the database of a (possibly
//! running) provider. Serve mode seeds no demo users; this is how operators add real ones.
//! Passwords are read from standard input, never from a flag.

use clap::Args;

use crate::admin::{Admin, AdminError, Console, Target};
use crate::protocol::types::{Password, Subject, encode_random};
use crate::store::UserRecord;

/// bcrypt cost for real accounts (about 0.3 s of one core per verification on these machines).
pub const BCRYPT_COST: u32 = 12;
/// Shortest accepted password (NIST SP 800-63B §5.1.1.2 asks for at least 8; we ask for more).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// bcrypt reads 72 bytes including a terminating zero, so 71 bytes is the longest password it
/// tells apart; longer ones are refused rather than silently cut.
pub const MAX_PASSWORD_BYTES: usize = 71;

/// `provider users add`.
#[derive(Clone, Debug, Args)]
pub struct AddArgs {
    /// Login name (`preferred_username`).
    #[arg(long)]
    pub username: String,
    /// Display name (`name`).
    #[arg(long)]
    pub name: String,
    /// Email address (`email`).
    #[arg(long)]
    pub email: String,
    /// Mark the address as verified (`email_verified: true`).
    #[arg(long)]
    pub email_verified: bool,
    #[command(flatten)]
    pub target: Target,
}

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

/// Checks a password: 12 characters at least, fewer than 72 bytes (bcrypt's limit).
pub fn validate_password(password: &Password) -> Result<(), String> {
    let password = password.expose();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password needs at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password may have at most {MAX_PASSWORD_BYTES} bytes: bcrypt reads no more (use fewer or shorter characters)"
        ));
    }
    Ok(())
}

/// bcrypt at [`BCRYPT_COST`], on the blocking pool.
async fn hash(password: Password) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || bcrypt::non_truncating_hash(password.expose(), BCRYPT_COST))
        .await
        .map_err(|err| AdminError(format!("hashing the password: {err}")))?
        .map_err(|err| AdminError(format!("hashing the password: {err}")))
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
    validate_password(&user.password)?;
    Ok(())
}

/// Hashes the password and stores the account with a random, opaque `sub`. Returns the new
/// subject.
pub async fn add_user(
    admin: &Admin,
    user: NewUser,
    subject_random: [u8; 32],
) -> Result<Subject, AdminError> {
    validate(&user).map_err(AdminError)?;
    let users = &admin.stores.users;
    if users
        .user_by_username(user.username.trim())
        .await?
        .is_some()
    {
        return Err(AdminError(format!(
            "the user name {:?} is taken",
            user.username.trim()
        )));
    }
    let hash = hash(user.password).await?;
    let subject = Subject(encode_random(subject_random)[..22].to_owned());
    users
        .upsert_user(&UserRecord {
            subject: subject.clone(),
            username: user.username.trim().to_owned(),
            password_hash: hash,
            name: user.name.trim().to_owned(),
            email: user.email.trim().to_owned(),
            email_verified: user.email_verified,
            disabled: false,
        })
        .await?;
    Ok(subject)
}

/// `provider users add`: the password from the console.
pub async fn add(
    admin: &Admin,
    args: AddArgs,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let prompt = format!(
        "password for {} (one line on standard input):",
        args.username
    );
    let password = (console.read_secret)(&prompt)
        .map_err(|err| AdminError(format!("reading the password: {err}")))?;
    let user = NewUser {
        username: args.username,
        name: args.name,
        email: args.email,
        email_verified: args.email_verified,
        password: Password::new(password),
    };
    let username = user.username.trim().to_owned();
    let subject = add_user(admin, user, admin.random_bytes()).await?;
    (console.print)(&format!(
        "created user {username} with sub {}",
        subject.as_str()
    ));
    Ok(())
}

async fn existing(admin: &Admin, username: &str) -> Result<UserRecord, AdminError> {
    admin
        .stores
        .users
        .user_by_username(username)
        .await?
        .ok_or_else(|| AdminError(format!("no user {username:?}")))
}

/// One line per user.
pub async fn list(admin: &Admin, console: &mut Console<'_>) -> Result<(), AdminError> {
    let users = admin.stores.users.list_users().await?;
    for user in &users {
        let state = if user.disabled { "disabled" } else { "enabled" };
        (console.print)(&format!(
            "{}	{}	{}	{state}",
            user.username,
            user.subject.as_str(),
            user.email
        ));
    }
    if users.is_empty() {
        (console.print)("no users");
    }
    Ok(())
}

/// A new password, read from the console.
pub async fn passwd(
    admin: &Admin,
    username: &str,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let mut user = existing(admin, username).await?;
    let prompt = format!("new password for {username} (one line on standard input):");
    let password = Password::new(
        (console.read_secret)(&prompt)
            .map_err(|err| AdminError(format!("reading the password: {err}")))?,
    );
    validate_password(&password).map_err(AdminError)?;
    user.password_hash = hash(password).await?;
    admin.stores.users.upsert_user(&user).await?;
    (console.print)(&format!("set a new password for {username}"));
    Ok(())
}

/// Disables or enables an account. Disabling ends its sessions and revokes its grants.
pub async fn set_disabled(
    admin: &Admin,
    username: &str,
    disabled: bool,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let mut user = existing(admin, username).await?;
    user.disabled = disabled;
    admin.stores.users.upsert_user(&user).await?;
    let subject = user.subject.as_str();
    let kind = if disabled {
        "user_disabled"
    } else {
        "user_enabled"
    };
    admin.audit(kind, None, Some(subject)).await?;
    if !disabled {
        (console.print)(&format!("enabled {username}"));
        return Ok(());
    }
    let (sessions, told) = end_sessions(admin, &user.subject).await?;
    let revoked = admin
        .stores
        .grants
        .revoke_grants_of(&user.subject, admin.now)
        .await?;
    (console.print)(&format!(
        "disabled {username}: {sessions} session(s) ended ({told} back-channel logout(s) queued), {revoked} refresh token(s) revoked"
    ));
    Ok(())
}

/// `provider users sign-out`: ends the user's sessions; their clients are told.
pub async fn sign_out(
    admin: &Admin,
    username: &str,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let user = existing(admin, username).await?;
    let (sessions, told) = end_sessions(admin, &user.subject).await?;
    admin
        .audit("user_signed_out", None, Some(user.subject.as_str()))
        .await?;
    (console.print)(&format!(
        "signed out {username}: {sessions} session(s) ended, {told} back-channel logout(s) queued (a running provider delivers them within seconds)"
    ));
    Ok(())
}

/// `provider users reset-mfa`: the second factor and recovery codes go; sessions end (their
/// clients are told), so the next sign-in is with the password only.
pub async fn reset_mfa(
    admin: &Admin,
    username: &str,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let user = existing(admin, username).await?;
    let removed = admin.stores.users.reset_mfa(&user.subject).await?;
    if !removed {
        (console.print)(&format!("{username} has no second factor; nothing changed"));
        return Ok(());
    }
    let (sessions, told) = end_sessions(admin, &user.subject).await?;
    admin
        .audit("mfa_reset", None, Some(user.subject.as_str()))
        .await?;
    (console.print)(&format!(
        "reset the second factor of {username}: authenticator app and recovery codes removed, {sessions} session(s) ended ({told} back-channel logout(s) queued)"
    ));
    Ok(())
}

/// Ends every session of `subject` and queues the back-channel logouts of their clients:
/// (sessions ended, logouts queued).
async fn end_sessions(admin: &Admin, subject: &Subject) -> Result<(u64, u64), AdminError> {
    let sessions = admin.stores.users.end_sessions_of(subject).await?;
    let told = crate::backchannel::end(
        admin.stores.users.as_ref(),
        crate::store::EndedSessions::Subject(subject),
        admin.random_bytes(),
        admin.now,
    )
    .await?;
    Ok((sessions, told))
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
            ("carol", &"x".repeat(71), true),
            ("carol", &"x".repeat(72), false),
            ("carol", &"x".repeat(73), false),
            // 24 three-byte characters are 72 bytes: counted in bytes, not characters.
            ("carol", &"€".repeat(24), false),
            ("carol", &"€".repeat(23), true),
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
        let (_dir, admin) = crate::admin::tests::admin().await;
        let admin = &admin;
        let subject = add_user(admin, user("carol", "correct horse battery"), [7; 32])
            .await
            .unwrap();
        assert_ne!(
            subject.as_str(),
            "carol",
            "sub is opaque, not the login name"
        );
        let stored = admin
            .stores
            .users
            .user_by_username("carol")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.subject, subject);
        assert!(bcrypt::verify("correct horse battery", &stored.password_hash).unwrap());
        assert!(stored.password_hash.starts_with("$2b$12$"), "cost 12");
        assert!(
            add_user(admin, user("carol", "another long password"), [8; 32])
                .await
                .is_err(),
            "taken"
        );
    }
}
