//! RFC 6750 §2.1 (and RFC 9449 §7.1): finding the access token in the `Authorization` header.

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Uri};

use crate::Error;

/// The bearer token of a request, borrowed from its `Authorization` header.
///
/// - no `Authorization` header, or one with another scheme (e.g. `Basic`): [`Error::MissingToken`]
///   (RFC 6750 §3.1: "lacks any authentication information");
/// - several `Authorization` headers, a token also in the query (`access_token`, RFC 6750 §2.3,
///   which we do not accept), or a header that is not `Bearer <b64token>`:
///   [`Error::InvalidRequest`].
///
/// The scheme name is matched case-insensitively (RFC 9110 §11.1).
pub fn bearer_token<'a>(headers: &'a HeaderMap, uri: &Uri) -> Result<&'a str, Error> {
    match access_token(headers, uri)? {
        (token, Scheme::Bearer) => Ok(token),
        (_, Scheme::Dpop) => Err(Error::MissingToken),
    }
}

/// How the access token was presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// RFC 6750 `Authorization: Bearer`.
    Bearer,
    /// RFC 9449 §7.1 `Authorization: DPoP` (with a `DPoP` proof header).
    Dpop,
}

/// Like [`bearer_token`], accepting the `DPoP` scheme too (RFC 9449 §7.1: the same token syntax).
pub fn access_token<'a>(headers: &'a HeaderMap, uri: &Uri) -> Result<(&'a str, Scheme), Error> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let header = values.next();
    if values.next().is_some() {
        return Err(Error::InvalidRequest(
            "send exactly one Authorization header",
        ));
    }
    let query_token = has_query_token(uri);
    let Some(header) = header else {
        return Err(if query_token {
            Error::InvalidRequest(
                "send the access token in the Authorization header, not in the query",
            )
        } else {
            Error::MissingToken
        });
    };
    let header = header
        .to_str()
        .map_err(|_| Error::InvalidRequest("the Authorization header is not visible ASCII"))?;
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Err(if query_token {
            Error::InvalidRequest(
                "send the access token in the Authorization header, not in the query",
            )
        } else {
            Error::MissingToken
        });
    };
    if query_token {
        return Err(Error::InvalidRequest(
            "send the access token by one method only",
        ));
    }
    let token = rest.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err(Error::InvalidRequest(
            "the Authorization header must be Bearer followed by one token",
        ));
    }
    Ok((token, scheme))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

fn has_query_token(uri: &Uri) -> bool {
    uri.query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.split_once('=').map_or(pair, |(name, _)| name) == "access_token")
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn check(authorization: &[&str], uri: &str, expected: Result<&str, &str>) {
        let mut headers = HeaderMap::new();
        for value in authorization {
            headers.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        let uri: Uri = uri.parse().unwrap();
        let outcome = bearer_token(&headers, &uri).map_err(|error| match error {
            Error::MissingToken => "missing",
            Error::InvalidRequest(_) => "invalid_request",
            _ => "other",
        });
        assert_eq!(outcome, expected, "{authorization:?} {uri}");
    }

    #[test]
    fn authorization_header_table() {
        check(&["Bearer abc.def.ghi"], "/", Ok("abc.def.ghi"));
        check(&["bearer abc.def.ghi"], "/", Ok("abc.def.ghi"));
        check(&["BEARER abc.def.ghi"], "/", Ok("abc.def.ghi"));
        check(&["Bearer   abc"], "/", Ok("abc"));
        check(&["Bearer abc=="], "/", Ok("abc=="));
        check(&["Bearer a-b_c~d+e/f"], "/", Ok("a-b_c~d+e/f"));
        check(&[], "/", Err("missing"));
        check(&["Basic dXNlcjpwYXNz"], "/", Err("missing"));
        check(&["Negotiate"], "/", Err("missing"));
        check(&["Bearer"], "/", Err("invalid_request"));
        check(&["Bearer "], "/", Err("invalid_request"));
        check(&["Bearer a b"], "/", Err("invalid_request"));
        check(&["Bearer a,b"], "/", Err("invalid_request"));
        check(&["Bearer ="], "/", Err("invalid_request"));
        check(&["Bearer a=b"], "/", Err("invalid_request"));
        check(&["Bearer abc", "Bearer def"], "/", Err("invalid_request"));
        check(
            &["Bearer abc"],
            "/?access_token=abc",
            Err("invalid_request"),
        );
        check(&[], "/?x=1&access_token=abc", Err("invalid_request"));
        check(
            &["Basic dXNlcjpwYXNz"],
            "/?access_token=abc",
            Err("invalid_request"),
        );
        check(&["Bearer abc"], "/?not_access_token=1", Ok("abc"));
    }

    #[test]
    fn non_ascii_header_is_invalid_request() {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        );
        let outcome = bearer_token(&headers, &Uri::from_static("/"));
        assert!(
            matches!(outcome, Err(Error::InvalidRequest(_))),
            "{outcome:?}"
        );
    }
}
