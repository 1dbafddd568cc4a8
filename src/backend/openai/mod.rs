//! The `openai` backend: any OpenAI-compatible `/chat/completions` endpoint (OpenAI, Azure,
//! OpenRouter, vLLM, Ollama, LiteLLM, llama.cpp's server...), through async-openai.
//!
//! async-openai's default executor retries 429 and 5xx by itself and reads error bodies as
//! JSON, losing the status of a 429 whose body is not JSON and every response header. This
//! backend replaces that executor with a plain tower service (`Transport`): exactly one HTTP
//! request per `complete` call, no retry inside (promptgate's `resilience` owns retries and
//! counts them), and every non-success status turned into an `HttpFailure` (see `errors`)
//! that keeps the status, `Retry-After` and a short body snippet, so the transient/permanent
//! decision is ours.
//!
//! Secrets: the API key and URL credentials live only in the transport and a `Scrubber`;
//! they are never formatted, and every reason is scrubbed of them (a server may echo them
//! back) before it leaves. A base URL is only ever shown through `redact_url`.

mod errors;
mod wire;

use std::fmt;
use std::sync::{Arc, Once};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{RequestBuilder, Url};

use self::errors::{HttpFailure, KEY_HINT, error_chain};
use self::wire::ChatResponse;
use super::{CallError, Request, Response};
use crate::error::Error;
use crate::secrets::{Scrubber, is_secret_param, redact_url};

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
            let _ = url.set_username("");
            let _ = url.set_password(None);
            Some(Auth::Basic { user, password })
        } else {
            None
        };
        let auth = key_header.map(Auth::Bearer).or(basic);

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
            auth,
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
        let body = wire::request_body(request);
        let result: Result<ChatResponse, OpenAIError> = self.client.chat().create_byot(body).await;
        match result {
            // A server may echo the key in an answer too: what reaches calls.jsonl, the
            // cache and the reports is scrubbed like every error reason.
            Ok(response) => response.into_response(request).map(|response| Response {
                output: self.scrubber.scrub(&response.output),
                model: self.scrubber.scrub(&response.model),
                ..response
            }),
            Err(error) => Err(self.classify(error, request)),
        }
        .map_err(|error| self.scrub(error))
    }
}

/// URL userinfo as the user meant it: "s%40cret" in a URL is the password "s@cret".
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// How `Transport` authenticates every request.
enum Auth {
    /// The API key, checked once as a header value at construction.
    Bearer(HeaderValue),
    /// Credentials from the base URL, percent-decoded.
    Basic { user: String, password: String },
}

/// The HTTP transport installed in place of async-openai's retrying executor: one request,
/// our own Authorization header, and non-success statuses kept whole.
struct Transport {
    http: reqwest::Client,
    auth: Option<Auth>,
    query: Vec<(String, String)>,
    scrubber: Arc<Scrubber>,
}

impl Transport {
    async fn send(&self, factory: HttpRequestFactory) -> Result<reqwest::Response, OpenAIError> {
        let mut request = factory.build().await?;
        request.headers_mut().remove(AUTHORIZATION);
        if !self.query.is_empty() {
            request
                .url_mut()
                .query_pairs_mut()
                .extend_pairs(self.query.iter());
        }
        let request = RequestBuilder::from_parts(self.http.clone(), request);
        let request = match &self.auth {
            Some(Auth::Bearer(value)) => request.header(AUTHORIZATION, value.clone()),
            Some(Auth::Basic { user, password }) => request.basic_auth(user, Some(password)),
            None => request,
        };
        let response = request
            .send()
            .await
            .map_err(|e| OpenAIError::Reqwest(e.without_url()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let failure = HttpFailure::read(response, &self.scrubber).await;
        Err(OpenAIError::Boxed(Box::new(failure)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::prompt::{Message, ModelSettings, Role};

    pub(super) const KEY: &str = "sk-test-Zq8vS3cr3tK3y";
    const COMPLETIONS: &str = "/v1/chat/completions";

    pub(super) fn settings() -> ModelSettings {
        ModelSettings {
            name: "gpt-4o-mini".to_string(),
            temperature: Some(0.0),
            top_p: None,
            max_tokens: Some(300),
            seed: Some(7),
            stop: None,
        }
    }

    pub(super) fn messages() -> Vec<Message> {
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

    pub(super) async fn call(backend: &OpenAiBackend) -> Result<Response, CallError> {
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

    pub(super) fn backend(server: &MockServer, key: Option<&str>) -> OpenAiBackend {
        OpenAiBackend::new(
            &format!("{}/v1", server.uri()),
            key.map(str::to_string),
            Duration::from_secs(5),
        )
        .unwrap()
    }

    pub(super) async fn serve(server: &MockServer, response: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path(COMPLETIONS))
            .respond_with(response)
            .expect(1)
            .mount(server)
            .await;
    }

    pub(super) fn completion(content: &str) -> Value {
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

    pub(super) fn transient(result: Result<Response, CallError>) -> (String, Option<Duration>) {
        match result {
            Err(CallError::Transient {
                reason,
                retry_after,
            }) => (reason, retry_after),
            other => panic!("expected a transient failure, got {other:?}"),
        }
    }

    pub(super) fn permanent(result: Result<Response, CallError>) -> String {
        match result {
            Err(CallError::Permanent { reason }) => reason,
            other => panic!("expected a permanent failure, got {other:?}"),
        }
    }

    pub(super) fn assert_no_key(result: &Result<Response, CallError>) {
        let debug = format!("{result:?}");
        assert!(!debug.contains(KEY), "key leaked: {debug}");
        assert!(!debug.contains("Zq8vS3cr3t"), "key leaked: {debug}");
        if let Err(CallError::Transient { reason, .. } | CallError::Permanent { reason }) = result {
            assert!(!reason.contains(KEY), "key leaked: {reason}");
        }
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

    #[test]
    fn userinfo_is_percent_decoded_and_a_broken_escape_kept() {
        assert_eq!(percent_decode("s%40cret%2"), "s@cret%2");
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
}
