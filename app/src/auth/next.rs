//! Where sign-in sends the admin next: a path on this site, decided the way a browser reads it.
/// Where to go after sign-in when `next` is missing or refused.
pub const DEFAULT_NEXT: &str = "/segments";

/// Where to go after sign-in: a path on this site, decided the way a browser will read `next`.
///
/// Browsers parse a redirect target with the WHATWG URL rules: they drop tabs and newlines,
/// read `\` as `/`, and resolve `/.//host` to a network path. Matching the text misses those
/// forms (`/\t/host` passed an earlier check), so `next` is resolved against the site's own
/// origin by the `url` crate, which implements those rules, and accepted only if the result
/// keeps that origin. What is returned is the resolved path, query and fragment, re-serialized,
/// never the raw text.
#[cfg(feature = "ssr")]
pub fn safe_next(next: &str) -> String {
    // Any host works: only "same origin as this base or not" is decided.
    const BASE: &str = "http://console.invalid/";
    if next.is_empty() || next.chars().any(char::is_control) {
        return DEFAULT_NEXT.to_string();
    }
    let base = url::Url::parse(BASE).expect("valid base URL");
    let Ok(target) = base.join(next) else {
        return DEFAULT_NEXT.to_string();
    };
    if target.origin() != base.origin() || target.username() != "" || target.password().is_some() {
        return DEFAULT_NEXT.to_string();
    }
    let path = target.path();
    // A path that itself begins with two slashes would be read as another host when sent on.
    if path.starts_with("//") || path == "/login" {
        return DEFAULT_NEXT.to_string();
    }
    let mut out = path.to_string();
    if let Some(query) = target.query() {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = target.fragment() {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::{safe_next, DEFAULT_NEXT};

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(safe_next("/segments/3"), "/segments/3");
        assert_eq!(safe_next("/users?q=a"), "/users?q=a");
        assert_eq!(safe_next("/courses/2#groups"), "/courses/2#groups");
        // Percent-encoded slashes are a path on this site, not a host.
        assert_eq!(safe_next("/%2F%2Fevil.example"), "/%2F%2Fevil.example");
    }

    /// Every form a browser would read as another site, or that is not a plain path here.
    #[test]
    fn next_never_leaves_the_site() {
        for bad in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\tevil",
            "/\t/evil.example:8080/x",
            "/%09/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/.//evil.example",
            "/x/..//evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "http://user@console.invalid/x",
            "/login",
            "/a\r\nSet-Cookie: x",
        ] {
            let next = safe_next(bad);
            assert!(
                next.starts_with('/') && !next.starts_with("//") && !next.contains('\\'),
                "{bad:?} gave {next:?}"
            );
            // What is sent on must itself stay on the site when a browser resolves it.
            let base = url::Url::parse("https://site.example/").unwrap();
            let landed = base.join(&next).unwrap();
            assert_eq!(landed.origin(), base.origin(), "{bad:?} gave {next:?}");
        }
        assert_eq!(safe_next("/login"), DEFAULT_NEXT);
        assert_eq!(safe_next("//evil.example"), DEFAULT_NEXT);
        assert_eq!(safe_next("/\t/evil.example:8080/x"), DEFAULT_NEXT);
    }
}
