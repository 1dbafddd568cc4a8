//! How a failed call becomes a `CallError`: transient or permanent by HTTP status or
//! transport failure, the wait `Retry-After` asks for, and the message in an error body.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_openai::error::OpenAIError;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::OpenAiBackend;
use crate::backend::{CallError, Request};
use crate::secrets::{Scrubber, redact_url};

/// Characters of a server's error body kept in a failure reason.
const BODY_CHARS: usize = 300;
/// Bytes of an error body read at most: enough for any error message, bounded for HTML pages.
const BODY_BYTES: usize = 16 * 1024;
/// The longest `Retry-After` honoured as given. A server asking for hours means "not today";
/// the retry policy caps its own waits as well.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// What the user sets to give a key; named in every authentication failure.
pub(super) const KEY_HINT: &str = "OPENAI_API_KEY (or the variable named by --api-key-env)";

impl OpenAiBackend {
    pub(super) fn classify(&self, error: OpenAIError, request: &Request<'_>) -> CallError {
        match error {
            OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpFailure>() {
                Ok(failure) => self.http_failure(*failure, request),
                Err(other) => CallError::transient(format!(
                    "request to {} failed: {}",
                    self.endpoint,
                    error_chain(other.as_ref())
                )),
            },
            OpenAIError::Reqwest(error) => self.transport_error(error),
            OpenAIError::JSONDeserialize(error, content) => CallError::transient(format!(
                "malformed response: {error}; body: {}",
                snippet(&content)
            )),
            OpenAIError::ApiError(api) => {
                // Not produced while `Transport` turns every non-success into an HttpFailure.
                self.http_failure(
                    HttpFailure {
                        status: api.status_code,
                        retry_after: None,
                        body: snippet(&api.api_error.message),
                        quota: api.api_error.code.as_deref() == Some("insufficient_quota"),
                    },
                    request,
                )
            }
            OpenAIError::InvalidArgument(message) => CallError::Permanent {
                reason: format!("cannot build the request: {message}"),
            },
            other => CallError::transient(format!(
                "request to {} failed: {}",
                self.endpoint,
                error_chain(&other)
            )),
        }
    }

    fn transport_error(&self, error: reqwest::Error) -> CallError {
        let error = error.without_url();
        let chain = error_chain(&error);
        if error.is_timeout() {
            CallError::transient(format!(
                "timed out after {} waiting for {}",
                humantime::format_duration(self.timeout),
                self.endpoint
            ))
        } else if error.is_connect() {
            CallError::transient(format!("cannot connect to {}: {chain}", self.endpoint))
        } else if error.is_builder() {
            CallError::Permanent {
                reason: format!("cannot build the request: {chain}"),
            }
        } else if error.is_redirect() {
            CallError::Permanent {
                reason: format!("{}: {chain}", self.endpoint),
            }
        } else if error.is_body() || error.is_decode() {
            CallError::transient(format!("reading the response failed: {chain}"))
        } else {
            CallError::transient(format!("request to {} failed: {chain}", self.endpoint))
        }
    }

    fn http_failure(&self, failure: HttpFailure, request: &Request<'_>) -> CallError {
        let label = status_label(failure.status);
        let detail = if failure.body.is_empty() {
            String::new()
        } else {
            format!(": {}", failure.body)
        };
        let status = failure.status.as_u16();
        match status {
            429 if failure.quota => CallError::Permanent {
                reason: format!("{label}: the account's quota is used up{detail}"),
            },
            300..=399 => CallError::Permanent {
                reason: format!(
                    "{label}: {} redirects {}; set --base-url to where it points",
                    self.endpoint, failure.body
                ),
            },
            408 | 429 | 500..=599 => CallError::Transient {
                reason: format!("{label}{detail}"),
                retry_after: failure.retry_after,
            },
            401 | 403 if self.has_key => CallError::Permanent {
                reason: format!("{label}: check the API key in {KEY_HINT}{detail}"),
            },
            401 | 403 => CallError::Permanent {
                reason: format!("{label}: no API key was sent; set {KEY_HINT}{detail}"),
            },
            404 => CallError::Permanent {
                reason: format!(
                    "{label}: {}/chat/completions does not exist or does not serve model \
                     {:?}; check --base-url (it usually ends in /v1) and the prompt's [model] \
                     name{detail}",
                    self.endpoint, request.model.name
                ),
            },
            _ => CallError::Permanent {
                reason: format!("{label}: the server rejected the request{detail}"),
            },
        }
    }

    pub(super) fn scrub(&self, error: CallError) -> CallError {
        match error {
            CallError::Transient {
                reason,
                retry_after,
            } => CallError::Transient {
                reason: self.scrubber.scrub(&reason),
                retry_after,
            },
            CallError::Permanent { reason } => CallError::Permanent {
                reason: self.scrubber.scrub(&reason),
            },
            CallError::Input(error) => CallError::Input(error),
        }
    }
}

/// A non-success HTTP answer, with what async-openai would have dropped.
#[derive(Debug)]
pub(super) struct HttpFailure {
    status: StatusCode,
    retry_after: Option<Duration>,
    /// The server's error message (or the start of its body), scrubbed of secrets.
    body: String,
    /// A 429 that means "out of quota", which no retry fixes.
    quota: bool,
}

impl HttpFailure {
    pub(super) async fn read(mut response: reqwest::Response, scrubber: &Scrubber) -> HttpFailure {
        let status = response.status();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let mut bytes = Vec::new();
        let mut unreadable = None;
        while bytes.len() < BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    unreadable = Some(error_chain(&e.without_url()));
                    break;
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let (body, quota) = if status.is_redirection() {
            let location = response_location(&response);
            (format!("to {location}"), false)
        } else {
            match serde_json::from_str::<Value>(&text) {
                Ok(json) => (body_message(&json), is_quota_error(&json)),
                Err(_) => (snippet(&text), false),
            }
        };
        let body = match unreadable {
            Some(error) if body.is_empty() => format!("(body unreadable: {error})"),
            _ => body,
        };
        HttpFailure {
            status,
            retry_after,
            body: scrubber.scrub(&body),
            quota,
        }
    }
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&status_label(self.status))?;
        if !self.body.is_empty() {
            write!(f, ": {}", self.body)?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpFailure {}

fn response_location(response: &reqwest::Response) -> String {
    match response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
    {
        Some(location) => match response.url().join(location) {
            Ok(url) => redact_url(url.as_str()),
            Err(_) => "<invalid URL>".to_string(),
        },
        None => "an unnamed location".to_string(),
    }
}

fn status_label(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// The message in an error body: OpenAI's `{"error": {"message": ..}}`, a bare
/// `{"error": ".."}`, `{"message": ..}` or FastAPI's `{"detail": ..}`; else the JSON itself.
pub(super) fn body_message(json: &Value) -> String {
    let text = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    let found = json
        .pointer("/error/message")
        .and_then(text)
        .or_else(|| json.get("error").filter(|e| e.is_string()).and_then(text))
        .or_else(|| json.get("message").and_then(text))
        .or_else(|| json.get("detail").and_then(text))
        .unwrap_or_else(|| json.to_string());
    snippet(&found)
}

fn is_quota_error(json: &Value) -> bool {
    ["/error/code", "/error/type"]
        .iter()
        .any(|pointer| json.pointer(pointer).and_then(Value::as_str) == Some("insufficient_quota"))
}

/// One line, whitespace collapsed, at most `BODY_CHARS` characters.
fn snippet(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::score::snippet(&collapsed, BODY_CHARS)
}

/// An error and its sources, "outer: inner: innermost", without repeats.
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = inner.source();
    }
    parts.join(": ")
}

/// The wait a 429/503 asks for: `retry-after-ms` (OpenAI's), else `Retry-After` in seconds
/// or as an HTTP-date; capped at `MAX_RETRY_AFTER`.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    let wait = header("retry-after-ms")
        .and_then(|ms| ms.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Duration::from_secs_f64((ms / 1000.0).min(MAX_RETRY_AFTER.as_secs_f64())))
        .or_else(|| header("retry-after").and_then(|value| parse_retry_after(value, now)))?;
    Some(wait.min(MAX_RETRY_AFTER))
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    // httpdate takes the IMF-fixdate servers must send and the two obsolete forms that
    // RFC 9110 still asks recipients to accept.
    let at = httpdate::parse_http_date(value).ok()?;
    // A date in the past means "now".
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use reqwest::header::HeaderValue;
    use serde_json::json;
    use wiremock::{MockServer, ResponseTemplate};

    use super::*;
    use crate::backend::openai::tests::{
        KEY, assert_no_key, backend, call, completion, permanent, serve, transient,
    };

    #[tokio::test]
    async fn rate_limit_is_transient_with_retry_after_and_one_request() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "2")
                .set_body_json(
                    json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
                ),
        )
        .await;
        let (reason, retry_after) = transient(call(&backend(&server, Some(KEY))).await);
        assert_eq!(retry_after, Some(Duration::from_secs(2)));
        assert!(reason.starts_with("HTTP 429 Too Many Requests"), "{reason}");
        assert!(reason.contains("Rate limit reached"), "{reason}");
        server.verify().await;
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn rate_limit_with_a_plain_text_body_is_transient() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(429).set_body_string("slow down\n  please"),
        )
        .await;
        let (reason, retry_after) = transient(call(&backend(&server, None)).await);
        assert_eq!(reason, "HTTP 429 Too Many Requests: slow down please");
        assert_eq!(retry_after, None);
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn quota_exhausted_is_permanent() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(429).set_body_json(json!({"error": {
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "code": "insufficient_quota"
            }})),
        )
        .await;
        let reason = permanent(call(&backend(&server, Some(KEY))).await);
        assert!(reason.contains("quota"), "{reason}");
    }

    #[tokio::test]
    async fn server_errors_are_transient_and_never_retried_inside() {
        for status in [500, 502, 503, 408] {
            let server = MockServer::start().await;
            serve(
                &server,
                ResponseTemplate::new(status).set_body_string("<html><h1>oops</h1></html>"),
            )
            .await;
            let (reason, _) = transient(call(&backend(&server, Some(KEY))).await);
            assert!(reason.starts_with(&format!("HTTP {status}")), "{reason}");
            assert_eq!(server.received_requests().await.unwrap().len(), 1);
            server.verify().await;
        }
    }

    #[tokio::test]
    async fn service_unavailable_with_an_http_date_retry_after() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
        )
        .await;
        let (reason, retry_after) = transient(call(&backend(&server, None)).await);
        assert_eq!(reason, "HTTP 503 Service Unavailable");
        assert_eq!(
            retry_after,
            Some(Duration::ZERO),
            "a date in the past: retry now"
        );
    }

    #[tokio::test]
    async fn unauthorized_is_permanent_and_says_to_check_the_key() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(401).set_body_json(json!({"error": {
                "message": format!("Incorrect API key provided: {KEY}."),
                "code": "invalid_api_key"
            }})),
        )
        .await;
        let result = call(&backend(&server, Some(KEY))).await;
        assert_no_key(&result);
        let reason = permanent(result);
        assert!(
            reason.starts_with(
                "HTTP 401 Unauthorized: check the API key in OPENAI_API_KEY \
                 (or the variable named by --api-key-env)"
            ),
            "{reason}"
        );
        assert!(
            reason.contains("Incorrect API key provided: ***."),
            "{reason}"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn unauthorized_without_a_key_says_none_was_sent() {
        let server = MockServer::start().await;
        serve(&server, ResponseTemplate::new(403)).await;
        let reason = permanent(call(&backend(&server, None)).await);
        assert!(
            reason.starts_with("HTTP 403 Forbidden: no API key was sent"),
            "{reason}"
        );
        assert!(reason.contains("OPENAI_API_KEY"), "{reason}");
    }

    #[tokio::test]
    async fn other_client_errors_are_permanent() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(404).set_body_json(json!({"detail": "Not Found"})),
        )
        .await;
        let reason = permanent(call(&backend(&server, None)).await);
        assert!(reason.starts_with("HTTP 404 Not Found"), "{reason}");
        assert!(reason.contains("--base-url"), "{reason}");

        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "max_tokens is too large"}})),
        )
        .await;
        let reason = permanent(call(&backend(&server, None)).await);
        assert_eq!(
            reason,
            "HTTP 400 Bad Request: the server rejected the request: max_tokens is too large"
        );
    }

    #[tokio::test]
    async fn a_slow_server_times_out_as_transient() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200)
                .set_body_json(completion("late"))
                .set_delay(Duration::from_secs(3)),
        )
        .await;
        let backend = OpenAiBackend::new(
            &format!("{}/v1", server.uri()),
            None,
            Duration::from_millis(300),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let (reason, _) = transient(call(&backend).await);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(reason.starts_with("timed out after 300ms"), "{reason}");
    }

    #[tokio::test]
    async fn connection_refused_is_transient() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://user:hunter2@127.0.0.1:{port}/v1");
        let backend =
            OpenAiBackend::new(&url, Some(KEY.to_string()), Duration::from_secs(2)).unwrap();
        let result = call(&backend).await;
        assert_no_key(&result);
        let (reason, _) = transient(result);
        assert!(
            reason.starts_with(&format!("cannot connect to http://***@127.0.0.1:{port}/v1")),
            "{reason}"
        );
        assert!(!reason.contains("hunter2"), "{reason}");
    }

    #[tokio::test]
    async fn redirects_are_reported_not_followed() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(301).insert_header(
                "Location",
                "https://user:pw@elsewhere.example/v1/chat/completions",
            ),
        )
        .await;
        let reason = permanent(call(&backend(&server, Some(KEY))).await);
        assert!(reason.starts_with("HTTP 301 Moved Permanently"), "{reason}");
        assert!(
            reason.contains("redirects to https://***@elsewhere.example/v1/chat/completions"),
            "{reason}"
        );
        assert!(reason.contains("--base-url"), "{reason}");
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00 UTC
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", UNIX_EPOCH),
            Some(Duration::from_secs(100))
        );
        assert_eq!(
            parse_retry_after(
                "Tue, 29 Feb 2028 12:00:30 GMT",
                UNIX_EPOCH + Duration::from_secs(1_835_438_400)
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 PST", now),
            None
        );

        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_millis(250)));
        headers.insert("retry-after-ms", HeaderValue::from_static("9999999"));
        assert_eq!(retry_after(&headers, now), Some(MAX_RETRY_AFTER));
    }
}
