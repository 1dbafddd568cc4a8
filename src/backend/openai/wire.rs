//! The chat-completions wire format: the request body promptgate sends, the lenient subset
//! of the answer it reads, and how that answer becomes a `Response`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::errors::body_message;
use crate::backend::{CallError, Request, Response};

/// The chat request: the prompt's model settings (only those it sets) and the messages.
pub(super) fn request_body(request: &Request<'_>) -> Value {
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
pub(super) struct ChatResponse {
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

impl ChatResponse {
    /// The first choice's text, unscrubbed. A server that names no model answered with the
    /// one the prompt asked for.
    pub(super) fn into_response(self, request: &Request<'_>) -> Result<Response, CallError> {
        let Some(choice) = self.choices.and_then(|c| c.into_iter().next()) else {
            return Err(CallError::transient(match self.error {
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
        let usage = self.usage.unwrap_or_default();
        Ok(Response {
            output,
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
            model: self
                .model
                .filter(|model| !model.trim().is_empty())
                .unwrap_or_else(|| request.model.name.clone()),
        })
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::{MockServer, ResponseTemplate};

    use super::*;
    use crate::backend::openai::tests::{
        KEY, backend, call, completion, messages, serve, settings, transient,
    };
    use crate::prompt::ModelSettings;

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
}
