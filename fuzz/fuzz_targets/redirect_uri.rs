//! Redirect URI matching: any requested URI (first line) against any registered one (second
//! line), under both the exact rule and the loopback any-port rule (RFC 8252 §7.3). A match
//! must never be a different URI unless it is the loopback port exception.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provider::protocol::redirect_uri::{LoopbackRule, RedirectUri, is_registered_redirect_uri};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (requested, registered) = text.split_once('\n').unwrap_or((text, "http://127.0.0.1/cb"));
    let Ok(uri) = RedirectUri::parse(requested) else {
        return;
    };
    let registered = vec![registered.to_owned()];
    let exact = is_registered_redirect_uri(&registered, &uri, LoopbackRule::ExactOnly);
    assert_eq!(exact, registered[0] == uri.as_str(), "exact matching is string equality");
    if is_registered_redirect_uri(&registered, &uri, LoopbackRule::AnyPort) && !exact {
        // Only the port may differ, and only for loopback IP literals over http.
        let (Ok(a), Ok(b)) = (url::Url::parse(&registered[0]), url::Url::parse(uri.as_str())) else {
            panic!("a loopback match between URIs that do not parse");
        };
        assert_eq!(a.scheme(), "http");
        assert_eq!((a.host_str(), a.path(), a.query()), (b.host_str(), b.path(), b.query()));
        assert!(matches!(a.host_str(), Some("127.0.0.1") | Some("[::1]")), "{a}");
    }
});
