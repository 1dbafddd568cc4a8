//! Where outputs come from. `mock` is deterministic and offline; it is the default.
//! `openai` talks to any OpenAI-compatible endpoint; `command` runs any program per call. Every backend reports failures as a `CallError`
//! whose kind decides whether the call is retried (see `resilience`).

pub mod command;
pub mod mock;
pub mod openai;
pub mod resilience;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::prompt::{Message, ModelSettings};

/// The kinds of backend, as flags, promptgate.toml and manifests name them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Deterministic scripted model: echo, or the rules in a mock-rules file. No network.
    #[default]
    Mock,
    /// Any program: the request as JSON on stdin, {"output": ...} on stdout.
    Command,
    /// Any OpenAI-compatible chat completions endpoint.
    Openai,
}

impl BackendKind {
    pub const ALL: [BackendKind; 3] =
        [BackendKind::Mock, BackendKind::Command, BackendKind::Openai];

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Mock => "mock",
            BackendKind::Command => "command",
            BackendKind::Openai => "openai",
        }
    }

    pub fn parse(text: &str) -> Option<BackendKind> {
        BackendKind::ALL.into_iter().find(|k| k.name() == text)
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a call failed.
#[derive(Debug)]
pub enum CallError {
    /// Worth another attempt: 429, 5xx, a timeout, a dropped connection, a garbled answer.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// No retry can help (401, 400, 404): the call fails for good at once.
    Permanent { reason: String },
    /// The user's files are wrong (a mock rule's template, a program that does not exist):
    /// the run stops with exit 2.
    Input(Error),
}

impl CallError {
    pub fn transient(reason: impl Into<String>) -> CallError {
        CallError::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

impl From<Error> for CallError {
    fn from(error: Error) -> Self {
        CallError::Input(error)
    }
}

/// One model call: the rendered conversation for one (case, repeat).
pub struct Request<'a> {
    pub prompt_id: &'a str,
    pub prompt_version: &'a str,
    pub model: &'a ModelSettings,
    pub messages: &'a [Message],
    pub vars: &'a Map<String, Value>,
    pub case_id: &'a str,
    pub repeat: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub output: String,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    /// The model id the backend reports answering with.
    pub model: String,
}

/// The backend a run talks to. An enum rather than a trait object: the set is closed and
/// static dispatch keeps the hot path free of boxing.
pub enum Backend {
    Mock(Box<mock::MockBackend>),
    Command(command::CommandBackend),
    OpenAi(Box<openai::OpenAiBackend>),
}

impl Backend {
    pub async fn complete(&self, request: &Request<'_>) -> Result<Response, CallError> {
        match self {
            Backend::Mock(mock) => mock.complete(request).await.map_err(CallError::Input),
            Backend::Command(command) => command.complete(request).await,
            Backend::OpenAi(openai) => openai.complete(request).await,
        }
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            Backend::Mock(_) => BackendKind::Mock,
            Backend::Command(_) => BackendKind::Command,
            Backend::OpenAi(_) => BackendKind::Openai,
        }
    }

    /// Whether answers are worth caching: the mock computes them faster than a disk read.
    pub fn is_cacheable(&self) -> bool {
        !matches!(self, Backend::Mock(_))
    }
}

/// Joins messages into the "role: content" lines mock rules are matched against.
pub fn conversation_text(messages: &[Message]) -> String {
    let mut text = String::new();
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(message.role.as_str());
        text.push_str(": ");
        text.push_str(&message.content);
    }
    text
}
