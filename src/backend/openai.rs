//! The `openai` backend: any OpenAI-compatible `/chat/completions` endpoint (OpenAI, Azure,
//! OpenRouter, vLLM, Ollama, LiteLLM, llama.cpp's server...), through async-openai.
//!
//! async-openai's default executor retries 429 and 5xx by itself and reads error bodies as
//! JSON, losing the status of a 429 whose body is not JSON and every response header. This
//! backend replaces that executor with a plain tower service (`Transport`): exactly one HTTP
//! request per `complete` call, no retry inside (promptgate's `resilience` owns retries and
//! counts them), and every non-success status turned here into an `HttpFailure` that keeps the
//! status, `Retry-After` and a short body snippet, so the transient/permanent decision is ours.
//!
//! Secrets: the API key lives only in a sensitive header value and a scrubber; it is never
//! formatted, and every reason is scrubbed of it (a server may echo it back) before it leaves.
//! A base URL is only ever shown through `redact_url`.

use std::fmt;
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{CallError, Request, Response};
use crate::error::Error;

/// Characters of a server's error body kept in a failure reason.
const BODY_CHARS: usize = 300;
/// Bytes of an error body read at most: enough for any error message, bounded for HTML pages.
const BODY_BYTES: usize = 16 * 1024;
/// The longest `Retry-After` honoured as given. A server asking for hours means "not today";
/// the retry policy caps its own waits as well.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// Secrets shorter than this are scrubbed only where they stand as whole words.
const SHORT_SECRET_CHARS: usize = 8;
/// What the user sets to give a key; named in every authentication failure.
const KEY_HINT: &str = "OPENAI_API_KEY (or the variable named by --api-key-env)";

/// An OpenAI-compatible chat endpoint.
pub struct OpenAiBackend {
    client: Client<OpenAIConfig>,
    /// The base URL as it may be printed: credentials redacted.
    endpoint: String,
    timeout: Duration,
    has_key: bool,
    scrubber: Arc<Scrubber>,
}

impl fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiBackend")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field("api_key", &if self.has_key { "***" } else { "none" })
            .finish()
    }
}

/// Installs rustls's ring crypto provider once. Idempotent; never panics when the process
/// already has a provider (installed by us or anyone else).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Err only when another thread won the race: its provider serves as well.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

impl OpenAiBackend {
    /// `base_url` e.g. "http://127.0.0.1:4000/v1"; `api_key` None sends no Authorization
    /// header (local servers need none). `timeout` bounds one HTTP attempt (connect +
    /// response). Credentials in the URL are sent as HTTP basic auth unless a key is given;
    /// query parameters in the URL (Azure's `api-version`) are sent with every request.
    pub fn new(
        base_url: &str,
        api_key: Option<String>,
        timeout: Duration,
    ) -> Result<OpenAiBackend, Error> {
        install_crypto_provider();
        let base_url = base_url.trim();
        let shown = redact_url(base_url);
        let mut url = Url::parse(base_url).map_err(|e| {
            Error::usage(format!(
                "--base-url {shown}: not a valid URL ({e}); example: http://127.0.0.1:8000/v1"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::usage(format!(
                "--base-url {shown}: must be an http:// or https:// URL with a host; \
                 example: http://127.0.0.1:8000/v1"
            )));
        }

        let mut scrubber = Scrubber::default();
        let api_key = api_key
            .map(|key| key.trim().to_string())
            .filter(|key| !key.is_empty());
        let key_header = match &api_key {
            Some(key) => {
                scrubber.add(key);
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    Error::usage(format!(
                        "the API key in {KEY_HINT} holds characters an HTTP header cannot \
                         carry (a line break or a non-ASCII character?)"
                    ))
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };

        // Credentials in the URL: sent as basic auth, never left in a URL that an error
        // message might quote.
        let basic = if !url.username().is_empty() || url.password().is_some() {
            let user = percent_decode(url.username());
            let password = url.password().map(percent_decode).unwrap_or_default();
            match url.password() {
                Some(raw) => {
                    scrubber.add(raw);
                    scrubber.add(&password);
                }
                // "https://TOKEN@host": the user name is the secret.
                None => {
                    scrubber.add(url.username());
                    scrubber.add(&user);
                }
            }
            let encoded = base64(format!("{user}:{password}").as_bytes());
            let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
                .expect("base64 is a valid header value");
            value.set_sensitive(true);
            let _ = url.set_username("");
            let _ = url.set_password(None);
            Some(value)
        } else {
            None
        };
        let authorization = key_header.or(basic);

        // Query parameters are appended after async-openai joins base and path.
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        for (name, value) in &query {
            if is_secret_param(name) {
                scrubber.add(value);
            }
        }
        url.set_query(None);
        url.set_fragment(None);
        let api_base = url.as_str().trim_end_matches('/').to_string();

        let endpoint = {
            let parsed = Url::parse(base_url).expect("parsed above");
            let text = parsed.to_string();
            let text = if parsed.query().is_none() && parsed.fragment().is_none() {
                text.trim_end_matches('/').to_string()
            } else {
                text
            };
            redact_url(&text)
        };

        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // One attempt means one attempt: reqwest's own (protocol-NACK) retries are off,
            // and a redirect is reported rather than followed (a followed POST redirect
            // turns into a GET and fails obscurely).
            .retry(reqwest::retry::never())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::infrastructure(format!(
                    "cannot set up the HTTP client: {}",
                    error_chain(&e.without_url())
                ))
            })?;
        let scrubber = Arc::new(scrubber);
        let transport = Arc::new(Transport {
            http: http.clone(),
            authorization,
            query,
            scrubber: Arc::clone(&scrubber),
        });
        let service = tower::service_fn(move |factory: HttpRequestFactory| {
            let transport = Arc::clone(&transport);
            async move { transport.send(factory).await }
        });
        // The key is not handed to async-openai: `Transport` sets the Authorization header
        // itself (and removes the empty one the config always adds).
        let config = OpenAIConfig::new().with_api_base(api_base).with_api_key("");
        let client = Client::build(http, config).with_http_service(service);
        Ok(OpenAiBackend {
            client,
            endpoint,
            timeout,
            has_key: api_key.is_some(),
            scrubber,
        })
    }

    /// The endpoint as it may be printed or stored: credentials in the URL redacted.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    pub async fn complete(&self, request: &Request<'_>) -> Result<Response, CallError> {
        let body = request_body(request);
        let result: Result<ChatResponse, OpenAIError> = self.client.chat().create_byot(body).await;
        match result {
            Ok(response) => self.response(response, request),
            Err(error) => Err(self.classify(error, request)),
        }
        .map_err(|error| self.scrub(error))
    }

    fn response(
        &self,
        response: ChatResponse,
        request: &Request<'_>,
    ) -> Result<Response, CallError> {
        let Some(choice) = response.choices.and_then(|c| c.into_iter().next()) else {
            return Err(CallError::transient(match response.error {
                Some(error) => format!(
                    "the server answered 200 with an error: {}",
                    body_message(&error)
                ),
                None => "malformed response: no choices".to_string(),
            }));
        };
        let output = match (choice.message, choice.text) {
            (Some(message), _) => content_text(message.content),
            (None, Some(text)) => text,
            (None, None) => {
                return Err(CallError::transient(
                    "malformed response: the first choice has no message",
                ));
            }
        };
        let usage = response.usage.unwrap_or_default();
        // A server may echo the key in an answer too: what reaches calls.jsonl, the cache
        // and the reports is scrubbed like every error reason.
        Ok(Response {
            output: self.scrubber.scrub(&output),
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
            model: self.scrubber.scrub(
                &response
                    .model
                    .filter(|model| !model.trim().is_empty())
                    .unwrap_or_else(|| request.model.name.clone()),
            ),
        })
    }

    fn classify(&self, error: OpenAIError, request: &Request<'_>) -> CallError {
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

    fn scrub(&self, error: CallError) -> CallError {
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

/// The chat request: the prompt's model settings (only those it sets) and the messages.
fn request_body(request: &Request<'_>) -> Value {
    let model = request.model;
    let mut body = Map::new();
    body.insert("model".into(), Value::from(model.name.as_str()));
    body.insert(
        "messages".into(),
        serde_json::to_value(request.messages).expect("messages serialize"),
    );
    if let Some(temperature) = model.temperature {
        body.insert("temperature".into(), Value::from(temperature));
    }
    if let Some(top_p) = model.top_p {
        body.insert("top_p".into(), Value::from(top_p));
    }
    if let Some(max_tokens) = model.max_tokens {
        body.insert("max_tokens".into(), Value::from(max_tokens));
    }
    if let Some(seed) = model.seed {
        body.insert("seed".into(), Value::from(seed));
    }
    if let Some(stop) = model.stop.as_ref().filter(|stop| !stop.is_empty()) {
        body.insert("stop".into(), Value::from(stop.clone()));
    }
    body.insert("stream".into(), Value::Bool(false));
    Value::Object(body)
}

/// Only what promptgate reads: lenient servers omit `id`, `object`, `created`, `usage`...
#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<Usage>,
    /// Some proxies answer 200 with an error object.
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ChoiceMessage>,
    /// The legacy completions shape, which a few servers still send.
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    /// A string, null (a refusal or tool call: no text), or a list of content parts.
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

fn content_text(content: Value) -> String {
    match content {
        Value::String(text) => text,
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| match part {
                Value::String(text) => Some(text.as_str()),
                _ => part.get("text").and_then(Value::as_str),
            })
            .collect(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The HTTP transport installed in place of async-openai's retrying executor: one request,
/// our own Authorization header, and non-success statuses kept whole.
struct Transport {
    http: reqwest::Client,
    authorization: Option<HeaderValue>,
    query: Vec<(String, String)>,
    scrubber: Arc<Scrubber>,
}

impl Transport {
    async fn send(&self, factory: HttpRequestFactory) -> Result<reqwest::Response, OpenAIError> {
        let mut request = factory.build().await?;
        let headers = request.headers_mut();
        headers.remove(AUTHORIZATION);
        if let Some(value) = &self.authorization {
            headers.insert(AUTHORIZATION, value.clone());
        }
        if !self.query.is_empty() {
            request
                .url_mut()
                .query_pairs_mut()
                .extend_pairs(self.query.iter());
        }
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| OpenAIError::Reqwest(e.without_url()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let failure = HttpFailure::read(response, &self.scrubber).await;
        Err(OpenAIError::Boxed(Box::new(failure)))
    }
}

/// A non-success HTTP answer, with what async-openai would have dropped.
#[derive(Debug)]
struct HttpFailure {
    status: StatusCode,
    retry_after: Option<Duration>,
    /// The server's error message (or the start of its body), scrubbed of secrets.
    body: String,
    /// A 429 that means "out of quota", which no retry fixes.
    quota: bool,
}

impl HttpFailure {
    async fn read(mut response: reqwest::Response, scrubber: &Scrubber) -> HttpFailure {
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
fn body_message(json: &Value) -> String {
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
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
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
    let at = parse_http_date(value)?;
    // A date in the past means "now".
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", the form servers must send), with the
/// weekday optional.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    let value = match value.split_once(',') {
        Some((_weekday, rest)) => rest,
        None => value,
    };
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [day, month, year, time, zone] = fields.as_slice() else {
        return None;
    };
    if !matches!(*zone, "GMT" | "UTC" | "Z") {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|name| name.eq_ignore_ascii_case(month))? as u32
        + 1;
    let year: i64 = year.parse().ok()?;
    let mut clock = time.split(':').map(|part| part.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if clock.next().is_some() || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days.checked_mul(86_400)? + (hour * 3600 + minute * 60 + second) as i64;
    let seconds = u64::try_from(seconds).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Removes secrets (the key, URL credentials) from text that is about to leave the backend.
#[derive(Default)]
struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    fn add(&mut self, secret: &str) {
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
    fn scrub(&self, text: &str) -> String {
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
fn is_secret_param(name: &str) -> bool {
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

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(TABLE[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::prompt::{Message, ModelSettings, Role};

    const KEY: &str = "sk-test-Zq8vS3cr3tK3y";
    const COMPLETIONS: &str = "/v1/chat/completions";

    fn settings() -> ModelSettings {
        ModelSettings {
            name: "gpt-4o-mini".to_string(),
            temperature: Some(0.0),
            top_p: None,
            max_tokens: Some(300),
            seed: Some(7),
            stop: None,
        }
    }

    fn messages() -> Vec<Message> {
        vec![
            Message {
                role: Role::System,
                content: "You are a support assistant.".to_string(),
            },
            Message {
                role: Role::User,
                content: "Where is my refund?".to_string(),
            },
        ]
    }

    async fn call(backend: &OpenAiBackend) -> Result<Response, CallError> {
        let model = settings();
        let messages = messages();
        let vars = Map::new();
        let request = Request {
            prompt_id: "support-assistant",
            prompt_version: "sha256:abc",
            model: &model,
            messages: &messages,
            vars: &vars,
            case_id: "refund-001",
            repeat: 0,
        };
        backend.complete(&request).await
    }

    fn backend(server: &MockServer, key: Option<&str>) -> OpenAiBackend {
        OpenAiBackend::new(
            &format!("{}/v1", server.uri()),
            key.map(str::to_string),
            Duration::from_secs(5),
        )
        .unwrap()
    }

    async fn serve(server: &MockServer, response: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path(COMPLETIONS))
            .respond_with(response)
            .expect(1)
            .mount(server)
            .await;
    }

    fn completion(content: &str) -> Value {
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 21, "completion_tokens": 5, "total_tokens": 26}
        })
    }

    fn transient(result: Result<Response, CallError>) -> (String, Option<Duration>) {
        match result {
            Err(CallError::Transient {
                reason,
                retry_after,
            }) => (reason, retry_after),
            other => panic!("expected a transient failure, got {other:?}"),
        }
    }

    fn permanent(result: Result<Response, CallError>) -> String {
        match result {
            Err(CallError::Permanent { reason }) => reason,
            other => panic!("expected a permanent failure, got {other:?}"),
        }
    }

    fn assert_no_key(result: &Result<Response, CallError>) {
        let debug = format!("{result:?}");
        assert!(!debug.contains(KEY), "key leaked: {debug}");
        assert!(!debug.contains("Zq8vS3cr3t"), "key leaked: {debug}");
        if let Err(CallError::Transient { reason, .. } | CallError::Permanent { reason }) = result {
            assert!(!reason.contains(KEY), "key leaked: {reason}");
        }
    }

    #[tokio::test]
    async fn success_reports_output_usage_and_server_model() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200).set_body_json(completion("Your refund is on its way.")),
        )
        .await;
        let result = call(&backend(&server, Some(KEY))).await;
        assert_eq!(
            result.unwrap(),
            Response {
                output: "Your refund is on its way.".to_string(),
                tokens_in: Some(21),
                tokens_out: Some(5),
                model: "gpt-4o-mini-2024-07-18".to_string(),
            }
        );
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        let body: Value = requests[0].body_json().unwrap();
        assert_eq!(
            body,
            json!({
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "You are a support assistant."},
                    {"role": "user", "content": "Where is my refund?"}
                ],
                "temperature": 0.0,
                "max_tokens": 300,
                "seed": 7,
                "stream": false
            })
        );
        assert_eq!(
            requests[0].headers.get("authorization").unwrap(),
            &format!("Bearer {KEY}")
        );
    }

    #[tokio::test]
    async fn top_p_and_stop_are_sent_when_set() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200).set_body_json(completion("ok")),
        )
        .await;
        let backend = backend(&server, None);
        let model = ModelSettings {
            top_p: Some(0.9),
            stop: Some(vec!["\n\n".to_string()]),
            temperature: None,
            max_tokens: None,
            seed: None,
            ..settings()
        };
        let messages = messages();
        let vars = Map::new();
        let request = Request {
            prompt_id: "p",
            prompt_version: "v",
            model: &model,
            messages: &messages,
            vars: &vars,
            case_id: "c",
            repeat: 1,
        };
        backend.complete(&request).await.unwrap();
        let body: Value = server.received_requests().await.unwrap()[0]
            .body_json()
            .unwrap();
        assert_eq!(body["top_p"], json!(0.9));
        assert_eq!(body["stop"], json!(["\n\n"]));
        for absent in ["temperature", "max_tokens", "seed"] {
            assert!(body.get(absent).is_none(), "{absent} sent: {body}");
        }
    }

    #[tokio::test]
    async fn lenient_response_without_id_object_created_or_usage_parses() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200)
                .set_body_json(json!({"choices": [{"message": {"content": "hello"}}]})),
        )
        .await;
        let response = call(&backend(&server, None)).await.unwrap();
        assert_eq!(response.output, "hello");
        assert_eq!(response.tokens_in, None);
        assert_eq!(response.tokens_out, None);
        assert_eq!(
            response.model, "gpt-4o-mini",
            "falls back to the prompt's model"
        );
    }

    #[tokio::test]
    async fn null_content_is_empty_output() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200).set_body_json(json!({
                "model": "local",
                "choices": [{"message": {"role": "assistant", "content": null}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": null}
            })),
        )
        .await;
        let response = call(&backend(&server, None)).await.unwrap();
        assert_eq!(response.output, "");
        assert_eq!(response.model, "local");
        assert_eq!(response.tokens_in, Some(3));
        assert_eq!(response.tokens_out, None);
    }

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
    async fn malformed_success_bodies_are_transient() {
        let bodies = [
            ResponseTemplate::new(200).set_body_string("this is not json"),
            ResponseTemplate::new(200).set_body_json(json!({"choices": []})),
            ResponseTemplate::new(200).set_body_json(json!({"object": "chat.completion"})),
            ResponseTemplate::new(200).set_body_json(json!({"choices": [{"index": 0}]})),
            ResponseTemplate::new(200).set_body_json(json!({"choices": "nope"})),
        ];
        for body in bodies {
            let server = MockServer::start().await;
            serve(&server, body).await;
            let (reason, _) = transient(call(&backend(&server, Some(KEY))).await);
            assert!(reason.starts_with("malformed response"), "{reason}");
        }

        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200)
                .set_body_json(json!({"error": {"message": "upstream died"}})),
        )
        .await;
        let (reason, _) = transient(call(&backend(&server, None)).await);
        assert!(reason.contains("upstream died"), "{reason}");
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
    async fn no_authorization_header_without_a_key() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200).set_body_json(completion("ok")),
        )
        .await;
        // An empty key (an exported but blank variable) counts as none.
        let backend = OpenAiBackend::new(
            &format!("{}/v1/", server.uri()),
            Some("  ".to_string()),
            Duration::from_secs(5),
        )
        .unwrap();
        call(&backend).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get("authorization").is_none());
    }

    #[tokio::test]
    async fn url_credentials_become_basic_auth_and_query_parameters_are_kept() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200).set_body_json(completion("ok")),
        )
        .await;
        let address = server.address();
        let url = format!("http://alice:s%40cret@{address}/v1/?api-version=2024-06-01&api-key=xyz");
        let backend = OpenAiBackend::new(&url, None, Duration::from_secs(5)).unwrap();
        assert_eq!(
            backend.endpoint(),
            format!("http://***@{address}/v1/?api-version=2024-06-01&api-key=***")
        );
        call(&backend).await.unwrap();
        let request = &server.received_requests().await.unwrap()[0];
        // base64("alice:s@cret")
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            "Basic YWxpY2U6c0BjcmV0"
        );
        assert_eq!(request.url.path(), COMPLETIONS);
        assert_eq!(
            request.url.query(),
            Some("api-version=2024-06-01&api-key=xyz")
        );
    }

    #[tokio::test]
    async fn the_key_never_shows_in_debug_or_display() {
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(500).set_body_string(format!("auth header was Bearer {KEY}")),
        )
        .await;
        let backend = backend(&server, Some(KEY));
        let debug = format!("{backend:?}");
        assert!(!debug.contains(KEY), "{debug}");
        assert!(debug.contains("***"), "{debug}");
        let result = call(&backend).await;
        assert_no_key(&result);
        let (reason, _) = transient(result);
        assert!(reason.contains("Bearer ***"), "{reason}");
        assert!(!format!("{:?}", backend.client).contains(KEY));
    }

    #[test]
    fn invalid_base_urls_are_usage_errors_naming_the_flag() {
        for url in [
            "not a url",
            "localhost:8000/v1",
            "ftp://host/v1",
            "http://user:pw@",
        ] {
            let error = OpenAiBackend::new(url, None, Duration::from_secs(1)).unwrap_err();
            let text = error.to_string();
            assert!(matches!(error, Error::Usage(_)), "{url}: {text}");
            assert!(text.starts_with("--base-url "), "{text}");
            assert!(!text.contains("pw@"), "{text}");
        }
        let error = OpenAiBackend::new(
            "http://127.0.0.1:1/v1",
            Some("sk-line\nX9q7".to_string()),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(error, Error::Usage(_)));
        assert!(!error.to_string().contains("X9q7"), "{error}");
    }

    #[test]
    fn endpoint_is_normalised_and_redacted() {
        let make = |url: &str| {
            OpenAiBackend::new(url, Some(KEY.to_string()), Duration::from_secs(1))
                .unwrap()
                .endpoint()
        };
        assert_eq!(make("http://127.0.0.1:4000/v1"), "http://127.0.0.1:4000/v1");
        assert_eq!(
            make(" http://127.0.0.1:4000/v1/ "),
            "http://127.0.0.1:4000/v1"
        );
        assert_eq!(
            make("https://u:p@example.com/v1"),
            "https://***@example.com/v1"
        );
    }

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

    #[tokio::test]
    async fn backend_and_its_calls_can_cross_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let server = MockServer::start().await;
        serve(
            &server,
            ResponseTemplate::new(200).set_body_json(completion("ok")),
        )
        .await;
        let backend = Arc::new(backend(&server, None));
        send_sync(&*backend);
        let future = async move { call(&backend).await };
        send(&future);
        let output = tokio::spawn(future).await.unwrap().unwrap().output;
        assert_eq!(output, "ok");
    }

    #[test]
    fn crypto_provider_install_is_idempotent() {
        install_crypto_provider();
        install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
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
            parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_835_438_400))
        );
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 PST"), None);

        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_millis(250)));
        headers.insert("retry-after-ms", HeaderValue::from_static("9999999"));
        assert_eq!(retry_after(&headers, now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
        assert_eq!(percent_decode("s%40cret%2"), "s@cret%2");
    }
}
