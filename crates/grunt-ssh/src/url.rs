//! Parsing ssh remote URLs (`ssh://…` and scp-like `[user@]host:path`) into an [`SshUrl`],
//! refusing anything ssh could mistake for an option.

use super::{SshError, SCHEMES};

/// A parsed ssh remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SshUrl {
    pub(super) user: Option<String>,
    pub(super) host: String,
    pub(super) port: Option<u16>,
    /// The path as it will be quoted into the remote command.
    pub(super) path: String,
}

impl SshUrl {
    /// `user@host` (and `:port`) for messages, as the user would type it.
    pub(super) fn display_host(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(" (port {p})"));
        }
        s
    }

    /// The destination argument for ssh.
    pub(super) fn destination(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

fn bad_url(url: &str, reason: impl Into<String>) -> SshError {
    SshError::BadUrl {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

/// Parses `ssh://[user@]host[:port]/path` (also `ssh+git://`, `git+ssh://`)
/// and scp-like `[user@]host:path` / `[user@][host]:path`.
pub(super) fn parse_url(url: &str) -> Result<SshUrl, SshError> {
    let lower = url.to_ascii_lowercase();
    for scheme in SCHEMES {
        let prefix = format!("{scheme}://");
        if lower.starts_with(&prefix) {
            return parse_scheme_url(url, &url[prefix.len()..]);
        }
    }
    parse_scp_url(url)
}

fn parse_scheme_url(url: &str, rest: &str) -> Result<SshUrl, SshError> {
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => return Err(bad_url(url, "no path after the host")),
    };
    let (user, hostport) = split_user(url, authority)?;
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let end = inner
            .find(']')
            .ok_or_else(|| bad_url(url, "unterminated `[` in host"))?;
        let after = &inner[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(url, p)?,
            None if after.is_empty() => None,
            None => return Err(bad_url(url, "unexpected text after `]`")),
        };
        (&inner[..end], port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => {
                if p.contains(':') {
                    return Err(bad_url(url, "IPv6 addresses must be written in brackets"));
                }
                (h, parse_port(url, p)?)
            }
            None => (hostport, None),
        }
    };
    // `ssh://host/~/x` and `ssh://host/~user/x` name home-relative paths.
    let path = if path.starts_with("/~") {
        &path[1..]
    } else {
        path
    };
    finish(url, user, host, port, path)
}

pub(super) fn parse_scp_url(url: &str) -> Result<SshUrl, SshError> {
    let (user, host, path) = if url.starts_with('[') || url.contains("@[") {
        // `[host]:path`, `user@[host]:path` or git's `[user@host:port]:path`
        // is not supported here beyond a plain bracketed host.
        let (user, rest) = match url.split_once("@[") {
            Some((u, r)) if !u.contains('/') => (Some(u), r),
            _ => (None, &url[1..]),
        };
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad_url(url, "unterminated `[` in host"))?;
        let path = after
            .strip_prefix(':')
            .ok_or_else(|| bad_url(url, "expected `:` after `]`"))?;
        (user, host, path)
    } else {
        if url.starts_with('-') {
            return Err(bad_url(url, "host must not start with `-`"));
        }
        let (userhost, path) = url
            .split_once(':')
            .ok_or_else(|| bad_url(url, "expected `host:path` or `ssh://host/path`"))?;
        if userhost.contains('/') {
            return Err(bad_url(
                url,
                "this looks like a local path (a `/` comes before the first `:`)",
            ));
        }
        let (user, host) = split_user(url, userhost)?;
        (user, host, path)
    };
    finish(url, user, host, None, path)
}

fn split_user<'a>(url: &str, s: &'a str) -> Result<(Option<&'a str>, &'a str), SshError> {
    match s.rsplit_once('@') {
        Some(("", _)) => Err(bad_url(url, "empty user name before `@`")),
        Some((u, h)) => Ok((Some(u), h)),
        None => Ok((None, s)),
    }
}

fn parse_port(url: &str, p: &str) -> Result<Option<u16>, SshError> {
    if p.is_empty() {
        return Ok(None);
    }
    p.parse::<u16>()
        .ok()
        .filter(|&n| n != 0)
        .map(Some)
        .ok_or_else(|| bad_url(url, format!("invalid port `{p}`")))
}

fn finish(
    url: &str,
    user: Option<&str>,
    host: &str,
    port: Option<u16>,
    path: &str,
) -> Result<SshUrl, SshError> {
    let bad_char = |s: &str| s.chars().any(|c| c.is_control() || c.is_whitespace());
    if host.is_empty() {
        return Err(bad_url(url, "empty host"));
    }
    // A leading `-` would be parsed by ssh as an option (CVE-2017-1000117).
    if host.starts_with('-') {
        return Err(bad_url(url, "host must not start with `-`"));
    }
    if bad_char(host) {
        return Err(bad_url(
            url,
            "host contains whitespace or control characters",
        ));
    }
    if let Some(u) = user {
        if u.starts_with('-') {
            return Err(bad_url(url, "user must not start with `-`"));
        }
        if bad_char(u) {
            return Err(bad_url(
                url,
                "user contains whitespace or control characters",
            ));
        }
    }
    if path.contains(['\0', '\n', '\r']) {
        return Err(bad_url(url, "path contains a NUL or newline character"));
    }
    let path = if path == "~" {
        "."
    } else if let Some(rest) = path.strip_prefix("~/") {
        let rest = rest.trim_start_matches('/');
        if rest.is_empty() {
            "."
        } else {
            rest
        }
    } else {
        path
    };
    if path.is_empty() {
        return Err(bad_url(url, "empty repository path"));
    }
    Ok(SshUrl {
        user: user.map(str::to_owned),
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) fn url(user: Option<&str>, host: &str, port: Option<u16>, path: &str) -> SshUrl {
        SshUrl {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        }
    }

    #[test]
    fn parses_scheme_urls() {
        let p = |s| parse_url(s).expect(s);
        assert_eq!(
            p("ssh://git@example:2222/~/repo.git"),
            url(Some("git"), "example", Some(2222), "repo.git")
        );
        assert_eq!(
            p("ssh://host/srv/repo.git"),
            url(None, "host", None, "/srv/repo.git")
        );
        assert_eq!(p("SSH://host/~bob/r"), url(None, "host", None, "~bob/r"));
        assert_eq!(p("ssh://host/~"), url(None, "host", None, "."));
        assert_eq!(
            p("git+ssh://u@[::1]:22/x"),
            url(Some("u"), "::1", Some(22), "/x")
        );
        assert_eq!(p("ssh+git://h:/x"), url(None, "h", None, "/x"));
    }

    #[test]
    fn parses_scp_urls() {
        let p = |s| parse_url(s).expect(s);
        assert_eq!(
            p("user@host:path/repo.git"),
            url(Some("user"), "host", None, "path/repo.git")
        );
        assert_eq!(p("host:~/r.git"), url(None, "host", None, "r.git"));
        assert_eq!(p("host:/abs/r.git"), url(None, "host", None, "/abs/r.git"));
        assert_eq!(p("a@b@host:r"), url(Some("a@b"), "host", None, "r"));
        assert_eq!(p("[::1]:r"), url(None, "::1", None, "r"));
        assert_eq!(p("u@[fe80::1]:r"), url(Some("u"), "fe80::1", None, "r"));
    }

    #[test]
    fn rejects_dangerous_or_broken_urls() {
        for bad in [
            "-oProxyCommand=touch /tmp/pwned:repo",
            "ssh://-oProxyCommand=x/repo",
            "-x@host:repo",
            "host:re\npo",
            "host:re\0po",
            "ssh://host/a\rb",
            "host:",
            "ssh://host",
            "ssh://host:notaport/x",
            "ssh://host:0/x",
            "ssh://::1/x",
            "/local/dir:with/colon",
            "noseparator",
            "@host:x",
            "ho st:x",
        ] {
            let err = parse_url(bad).expect_err(bad).to_string();
            assert!(err.contains("invalid ssh URL"), "{bad}: {err}");
        }
    }
}
