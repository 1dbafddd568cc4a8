//! Prompt files: parsing, the content-addressed version, and rendering for one case.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::digest;
use crate::error::{self, Error, Location, Result};
use crate::template::Templates;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFile {
    id: String,
    owner: Option<String>,
    description: Option<String>,
    #[serde(default)]
    sensitive: bool,
    review_by: Option<String>,
    model: ModelSettings,
    messages: Vec<Message>,
}

/// A parsed prompt with its version and compiled message templates.
pub struct Prompt {
    pub path: PathBuf,
    pub id: String,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub review_by: Option<String>,
    pub model: ModelSettings,
    pub messages: Vec<Message>,
    pub version: String,
    templates: Templates,
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompt")
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The content that defines behaviour: everything that changes what the model is sent.
pub fn version_of(model: &ModelSettings, messages: &[Message]) -> String {
    let canonical = digest::canonical_json(&json!({ "model": model, "messages": messages }));
    digest::sha256_id(canonical.as_bytes())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

fn valid_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&date[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&date[8..10].parse::<u8>().unwrap_or(0))
}

impl Prompt {
    pub fn load(path: &Path) -> Result<Prompt> {
        let text = error::read_text(path)?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Prompt> {
        let file: PromptFile =
            toml::from_str(text).map_err(|e| error::toml_error(path, text, &e))?;
        let at = || Location::file(path);
        if !valid_id(&file.id) {
            return Err(Error::input(
                at(),
                format!(
                    "id {:?} is not valid: use lowercase letters, digits, '.', '_' and '-'",
                    file.id
                ),
            ));
        }
        if let Some(date) = &file.review_by
            && !valid_date(date)
        {
            return Err(Error::input(
                at(),
                format!("review_by {date:?} is not a date: write it as YYYY-MM-DD"),
            ));
        }
        // The ranges the OpenAI chat API accepts, which every compatible server follows.
        for (name, value, range) in [
            ("temperature", file.model.temperature, 0.0..=2.0),
            ("top_p", file.model.top_p, 0.0..=1.0),
        ] {
            if let Some(value) = value
                && !range.contains(&value)
            {
                return Err(Error::input(
                    at(),
                    format!(
                        "[model] {name} = {value} is outside {}..={}",
                        range.start(),
                        range.end()
                    ),
                ));
            }
        }
        if file.model.name.trim().is_empty() {
            return Err(Error::input(at(), "[model] name is empty"));
        }
        if file.messages.is_empty() {
            return Err(Error::input(
                at(),
                "no [[messages]]: a prompt needs at least one message",
            ));
        }
        let mut templates = Templates::new();
        for (i, message) in file.messages.iter().enumerate() {
            templates
                .add(template_name(i), message.content.clone())
                .map_err(|e| {
                    Error::input(
                        at(),
                        format!("messages[{i}] ({}): {e}", message.role.as_str()),
                    )
                })?;
        }
        let version = version_of(&file.model, &file.messages);
        Ok(Prompt {
            path: path.to_path_buf(),
            id: file.id,
            owner: file.owner,
            description: file.description,
            sensitive: file.sensitive,
            review_by: file.review_by,
            model: file.model,
            messages: file.messages,
            version,
            templates,
        })
    }

    pub fn short_version(&self) -> &str {
        digest::short(&self.version)
    }

    /// Variables the messages read (with `nested`, as attribute paths such as `user.name`),
    /// so a golden set can be checked before any call is made.
    pub fn variables(&self, nested: bool) -> Vec<String> {
        let mut all: Vec<String> = (0..self.messages.len())
            .flat_map(|i| self.templates.variables(&template_name(i), nested))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Renders every message for one case.
    pub fn render(&self, vars: &minijinja::Value) -> std::result::Result<Vec<Message>, String> {
        self.messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                self.templates
                    .render(&template_name(i), vars)
                    .map(|content| Message {
                        role: m.role,
                        content,
                    })
                    .map_err(|e| format!("messages[{i}] ({}): {e}", m.role.as_str()))
            })
            .collect()
    }
}

fn template_name(index: usize) -> String {
    format!("messages[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
id = "demo"
owner = "a@example.com"
description = "x"
[model]
name = "m"
temperature = 0.0
[[messages]]
role = "system"
content = "Be honest."
[[messages]]
role = "user"
content = "{{ question }}"
"#;

    fn version(text: &str) -> String {
        Prompt::parse(Path::new("p.toml"), text).unwrap().version
    }

    #[test]
    fn metadata_does_not_change_the_version() {
        let edited = BASE.replace("a@example.com", "b@example.com").replace(
            "description = \"x\"",
            "description = \"y\"\nsensitive = true\nreview_by = \"2027-01-01\"",
        );
        assert_eq!(version(BASE), version(&edited));
    }

    #[test]
    fn any_behaviour_change_changes_the_version() {
        let base = version(BASE);
        for edited in [
            BASE.replace("Be honest.", "Be honest!"),
            BASE.replace("temperature = 0.0", "temperature = 0.1"),
            BASE.replace("name = \"m\"", "name = \"m2\""),
            BASE.replace("temperature = 0.0", "temperature = 0.0\nseed = 1"),
            BASE.replace("role = \"system\"", "role = \"user\""),
        ] {
            assert_ne!(base, version(&edited), "{edited}");
        }
    }

    #[test]
    fn version_is_a_full_sha256_id() {
        let v = version(BASE);
        assert!(v.starts_with("sha256:") && v.len() == 71, "{v}");
    }

    #[test]
    fn renders_strictly() {
        let p = Prompt::parse(Path::new("p.toml"), BASE).unwrap();
        assert_eq!(p.variables(false), vec!["question".to_string()]);
        let ok = p
            .render(&crate::template::context(
                &serde_json::json!({"question": "hi"}),
            ))
            .unwrap();
        assert_eq!(ok[1].content, "hi");
        let err = p
            .render(&crate::template::context(&serde_json::json!({})))
            .unwrap_err();
        assert!(err.contains("messages[1]"), "{err}");
    }

    #[test]
    fn rejects_bad_ids_and_unknown_fields() {
        let bad_id = BASE.replace("id = \"demo\"", "id = \"Demo Prompt\"");
        let err = Prompt::parse(Path::new("p.toml"), &bad_id).unwrap_err();
        assert!(err.to_string().contains("not valid"), "{err}");
        let unknown = BASE.replace("[model]", "colour = \"red\"\n[model]");
        let err = Prompt::parse(Path::new("p.toml"), &unknown).unwrap_err();
        assert!(err.to_string().starts_with("p.toml:"), "{err}");
        for (from, to, needle) in [
            (
                "temperature = 0.0",
                "temperature = 7",
                "temperature = 7 is outside 0..=2",
            ),
            ("temperature = 0.0", "temperature = -0.5", "outside 0..=2"),
            ("temperature = 0.0", "temperature = nan", "outside 0..=2"),
            (
                "temperature = 0.0",
                "top_p = 1.5",
                "top_p = 1.5 is outside 0..=1",
            ),
        ] {
            let err = Prompt::parse(Path::new("p.toml"), &BASE.replace(from, to)).unwrap_err();
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
