//! Keeping secrets out of what promptgate prints and stores: a scrubber for text that may
//! echo an API key or URL credentials, and `redact_url` for showing a URL.

use std::fmt;

use reqwest::Url;

/// Secrets shorter than this are scrubbed only where they stand as whole words.
const SHORT_SECRET_CHARS: usize = 8;

/// Removes secrets (the key, URL credentials) from text that is about to leave a backend.
#[derive(Default)]
pub(crate) struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub(crate) fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|known| known == secret) {
            self.secrets.push(secret.to_string());
            // Longest first, so a secret containing another is replaced whole.
            self.secrets
                .sort_by_key(|known| std::cmp::Reverse(known.len()));
        }
    }

    /// Replaces every secret with "***". A short secret (a local server's "dummy" key, a
    /// one-letter password) is replaced only where it stands as a whole word, so that it
    /// cannot garble every message it happens to be a part of.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            if !text.contains(secret.as_str()) {
                continue;
            }
            if secret.chars().count() >= SHORT_SECRET_CHARS {
                text = text.replace(secret.as_str(), "***");
                continue;
            }
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for (at, found) in text.match_indices(secret.as_str()) {
                let before = text[..at].chars().next_back();
                let after = text[at + found.len()..].chars().next();
                let word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
                if at < last || word_char(before) || word_char(after) {
                    continue;
                }
                out.push_str(&text[last..at]);
                out.push_str("***");
                last = at + found.len();
            }
            out.push_str(&text[last..]);
            text = out;
        }
        text
    }
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrubber({} secrets)", self.secrets.len())
    }
}

/// Query parameters whose value is a secret: api_key, token, secret, password, sig...
pub(crate) fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "pass",
        "pwd",
        "auth",
        "credential",
        "signature",
    ]
    .iter()
    .any(|word| name.contains(word))
        || name == "sig"
}

/// "https://user:secret@host/v1" -> "https://***@host/v1"; query parameters named like
/// key/token/secret/password get the value "***". Unparseable input gives "<invalid URL>"
/// rather than an echo of what might be a secret.
pub fn redact_url(url: &str) -> String {
    let url = url.trim();
    let Ok(mut parsed) = Url::parse(url) else {
        return "<invalid URL>".to_string();
    };
    let mut changed = false;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        if parsed.set_password(None).is_err() || parsed.set_username("***").is_err() {
            return "<invalid URL>".to_string();
        }
        changed = true;
    }
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if pairs.iter().any(|(name, _)| is_secret_param(name)) {
        let redacted: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(name, value)| {
                if is_secret_param(&name) {
                    (name, "***".to_string())
                } else {
                    (name, value)
                }
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(redacted);
        changed = true;
    }
    if parsed
        .fragment()
        .is_some_and(|fragment| !fragment.is_empty())
    {
        // Fragments are never sent; one in a base URL is a paste accident that may hold anything.
        parsed.set_fragment(Some("***"));
        changed = true;
    }
    if changed {
        parsed.to_string()
    } else {
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_cases() {
        assert_eq!(
            redact_url("https://user:secret@host/v1"),
            "https://***@host/v1"
        );
        assert_eq!(redact_url("https://token@host/v1"), "https://***@host/v1");
        assert_eq!(redact_url("https://:secret@host/v1"), "https://***@host/v1");
        assert_eq!(
            redact_url("http://127.0.0.1:4000/v1"),
            "http://127.0.0.1:4000/v1"
        );
        assert_eq!(
            redact_url("https://host/v1?api-version=2024&api_key=abc&Token=t&x=1"),
            "https://host/v1?api-version=2024&api_key=***&Token=***&x=1"
        );
        assert_eq!(
            redact_url("https://host/v1?client_secret=s&password=p&sig=q"),
            "https://host/v1?client_secret=***&password=***&sig=***"
        );
        assert_eq!(redact_url("http://host/v1#sk-abc"), "http://host/v1#***");
        assert_eq!(redact_url("not a url sk-abc"), "<invalid URL>");
        assert_eq!(redact_url(""), "<invalid URL>");
        assert_eq!(redact_url("http://[::1"), "<invalid URL>");
    }

    #[test]
    fn scrubber_replaces_long_secrets_everywhere_and_short_ones_as_words() {
        let mut scrubber = Scrubber::default();
        scrubber.add("sk-longsecret");
        scrubber.add("pw");
        scrubber.add("");
        assert_eq!(
            scrubber.scrub("key sk-longsecret, xsk-longsecretx; pw=pw, upward pwd"),
            "key ***, x***x; ***=***, upward pwd"
        );
        assert_eq!(format!("{scrubber:?}"), "Scrubber(2 secrets)");
    }
}
