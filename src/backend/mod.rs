//! Where outputs come from. `mock` is deterministic and offline; it is the default.

pub mod mock;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::prompt::{Message, ModelSettings};

/// One model call: the rendered conversation for one (case, repeat).
pub struct Request<'a> {
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
    Mock(mock::MockBackend),
}

impl Backend {
    pub async fn complete(&self, request: &Request<'_>) -> Result<Response> {
        match self {
            Backend::Mock(mock) => mock.complete(request).await,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Mock(_) => "mock",
        }
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
