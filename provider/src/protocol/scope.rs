//! RFC 6749 §3.3 scopes: a space-delimited, order-free set of tokens.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocol::error::OAuthError;

/// The sentence the consent page shows for a scope: the provider's own and the demo API's.
/// Which scopes exist is the resource registry's business (`protocol::resource`); a scope not
/// listed here gets a generic sentence.
pub const KNOWN_SCOPES: &[(&str, &str)] = &[
    ("openid", "Sign you in and confirm who you are"),
    ("profile", "Read your name and user name"),
    (
        "email",
        "Read your email address and whether it is verified",
    ),
    (
        "offline_access",
        "Stay signed in and act for you while you are away (refresh tokens)",
    ),
    ("api:read", "Read your notes in the demo API"),
    ("api:write", "Create notes in the demo API on your behalf"),
];

/// A set of scope tokens. Serialises as the space-delimited string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Parses `scope`: tokens of RFC 6749 §3.3 `NQCHAR` separated by single or repeated spaces.
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        let mut set = BTreeSet::new();
        for token in raw.split(' ').filter(|token| !token.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid {
                return Err(OAuthError::invalid_scope(
                    "scope contains characters RFC 6749 §3.3 does not allow",
                ));
            }
            set.insert(token.to_owned());
        }
        Ok(ScopeSet(set))
    }

    /// True when `token` is in the set.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// True when every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The union of two sets.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.union(&other.0).cloned().collect())
    }

    /// The tokens in both sets.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// A set of well-formed tokens known at compile time.
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> ScopeSet {
        ScopeSet(tokens.into_iter().map(str::to_owned).collect())
    }

    /// The set without `token`.
    pub fn without(&self, token: &str) -> ScopeSet {
        ScopeSet(self.0.iter().filter(|t| *t != token).cloned().collect())
    }

    /// The tokens in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// The consent-page sentence for a scope.
pub fn describe_scope(token: &str) -> &'static str {
    KNOWN_SCOPES
        .iter()
        .find(|(name, _)| *name == token)
        .map_or("Access on your behalf", |(_, text)| text)
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

impl From<ScopeSet> for String {
    fn from(set: ScopeSet) -> String {
        set.to_string()
    }
}

impl TryFrom<String> for ScopeSet {
    type Error = OAuthError;
    fn try_from(raw: String) -> Result<Self, OAuthError> {
        ScopeSet::parse(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_table() {
        let cases: &[(&str, Result<&str, ()>)] = &[
            ("openid", Ok("openid")),
            ("profile openid", Ok("openid profile")),
            ("openid  openid   email", Ok("email openid")),
            ("", Ok("")),
            ("api:read", Ok("api:read")),
            ("open\"id", Err(())),
            ("open\\id", Err(())),
            ("openid\tprofile", Err(())),
        ];
        for (raw, expected) in cases {
            let got = ScopeSet::parse(raw)
                .map(|set| set.to_string())
                .map_err(|_| ());
            assert_eq!(got, expected.map(str::to_owned), "{raw:?}");
        }
    }

    #[test]
    fn set_operations() {
        let small = ScopeSet::parse("openid").unwrap();
        let big = ScopeSet::parse("openid email").unwrap();
        assert!(small.is_subset_of(&big));
        assert!(!big.is_subset_of(&small));
        assert_eq!(big.without("email"), small);
        assert_eq!(small.union(&ScopeSet::parse("email").unwrap()), big);
        assert_eq!(serde_json::to_string(&big).unwrap(), "\"email openid\"");
    }
}
