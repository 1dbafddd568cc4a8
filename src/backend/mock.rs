//! The mock backend: a small scripted model. Same input, same output, always.
//!
//! Without rules it echoes the last user message. With a rules file, the first rule whose
//! `match` regex is found in the rendered conversation answers with its `response`
//! template, rendered with the case's variables; `[default]` answers when none matches.

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::{Request, Response, conversation_text};
use crate::error::{self, Error, Location, Result};
use crate::prompt::Role;
use crate::template::Templates;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rules: Vec<Spanned<RuleFile>>,
    default: Option<DefaultFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(rename = "match")]
    pattern: String,
    response: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultFile {
    response: String,
}

struct Rule {
    pattern: Regex,
    line: usize,
}

pub struct MockBackend {
    rules_path: Option<PathBuf>,
    rules: Vec<Rule>,
    has_default: bool,
    templates: Templates,
    latency: Duration,
}

const DEFAULT_TEMPLATE: &str = "default";

fn rule_template(index: usize) -> String {
    format!("rules[{index}]")
}

impl MockBackend {
    /// The echo model: answers with the last user message.
    pub fn echo(latency: Duration) -> MockBackend {
        MockBackend {
            rules_path: None,
            rules: Vec::new(),
            has_default: false,
            templates: Templates::new(),
            latency,
        }
    }

    pub fn from_rules_file(path: &Path, latency: Duration) -> Result<MockBackend> {
        let text = error::read_text(path)?;
        let file: RulesFile =
            toml::from_str(&text).map_err(|e| error::toml_error(path, &text, &e))?;
        if file.rules.is_empty() && file.default.is_none() {
            return Err(Error::input(
                Location::file(path),
                "no [[rules]] and no [default]: a mock rules file must answer something",
            ));
        }
        let mut templates = Templates::new();
        let mut rules = Vec::new();
        for (index, spanned) in file.rules.into_iter().enumerate() {
            let line = error::line_of_offset(&text, spanned.span().start);
            let rule = spanned.into_inner();
            let pattern = Regex::new(&rule.pattern).map_err(|e| {
                Error::input(
                    Location::line(path, line),
                    format!(
                        "invalid regex {:?}: {}",
                        rule.pattern,
                        e.to_string().lines().last().unwrap_or("").trim()
                    ),
                )
            })?;
            templates
                .add(rule_template(index), rule.response)
                .map_err(|e| Error::input(Location::line(path, line), format!("response: {e}")))?;
            rules.push(Rule { pattern, line });
        }
        let has_default = file.default.is_some();
        if let Some(default) = file.default {
            templates
                .add(DEFAULT_TEMPLATE.into(), default.response)
                .map_err(|e| {
                    Error::input(Location::file(path), format!("[default] response: {e}"))
                })?;
        }
        Ok(MockBackend {
            rules_path: Some(path.to_path_buf()),
            rules,
            has_default,
            templates,
            latency,
        })
    }

    pub fn rules_path(&self) -> Option<&Path> {
        self.rules_path.as_deref()
    }

    /// The answer for one request, without the simulated latency.
    pub fn answer(&self, request: &Request<'_>) -> Result<String> {
        let Some(path) = &self.rules_path else {
            return Ok(last_user_message(request));
        };
        let conversation = conversation_text(request.messages);
        let (template, line) = match self
            .rules
            .iter()
            .position(|r| r.pattern.is_match(&conversation))
        {
            Some(index) => (rule_template(index), Some(self.rules[index].line)),
            None if self.has_default => (DEFAULT_TEMPLATE.to_string(), None),
            None => return Ok(last_user_message(request)),
        };
        let vars = crate::template::context(request.vars);
        self.templates.render(&template, &vars).map_err(|e| {
            let location = match line {
                Some(line) => Location::line(path, line),
                None => Location::file(path),
            };
            Error::input(
                location,
                format!("case {:?}: response: {e}", request.case_id),
            )
        })
    }

    pub async fn complete(&self, request: &Request<'_>) -> Result<Response> {
        let output = self.answer(request)?;
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let tokens_in = request
            .messages
            .iter()
            .map(|m| word_count(&m.content))
            .sum();
        Ok(Response {
            tokens_out: Some(word_count(&output)),
            tokens_in: Some(tokens_in),
            output,
            model: request.model.name.clone(),
        })
    }
}

fn last_user_message(request: &Request<'_>) -> String {
    request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.clone())
        .unwrap_or_default()
}

/// A deterministic stand-in for a tokenizer.
fn word_count(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::{Message, ModelSettings};
    use serde_json::{Map, json};

    fn ask(mock: &MockBackend, system: &str, question: &str) -> Result<String> {
        let model = ModelSettings {
            name: "m".into(),
            temperature: None,
            top_p: None,
            max_tokens: None,
            seed: None,
            stop: None,
        };
        let messages = vec![
            Message {
                role: Role::System,
                content: system.into(),
            },
            Message {
                role: Role::User,
                content: question.into(),
            },
        ];
        let Value::Object(vars) = json!({"question": question}) else {
            unreachable!()
        };
        let vars: Map<String, Value> = vars;
        mock.answer(&Request {
            prompt_id: "p",
            prompt_version: "v",
            model: &model,
            messages: &messages,
            vars: &vars,
            case_id: "c",
            repeat: 0,
        })
    }
    use serde_json::Value;

    fn rules(text: &str) -> (tempfile::TempDir, Result<MockBackend>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, text).unwrap();
        let mock = MockBackend::from_rules_file(&path, Duration::ZERO);
        (dir, mock)
    }

    #[test]
    fn echoes_without_rules() {
        let mock = MockBackend::echo(Duration::ZERO);
        assert_eq!(ask(&mock, "sys", "hello").unwrap(), "hello");
    }

    #[test]
    fn first_matching_rule_answers_with_case_vars() {
        let (_d, mock) = rules(
            "[[rules]]\nmatch = '(?s)agree.*refund'\nresponse = 'Great idea: {{ question }}'\n\
             [[rules]]\nmatch = 'refund'\nresponse = 'Refunds take 5 days.'\n\
             [default]\nresponse = 'Sorry?'\n",
        );
        let mock = mock.unwrap();
        assert_eq!(
            ask(&mock, "always agree", "refund?").unwrap(),
            "Great idea: refund?"
        );
        assert_eq!(
            ask(&mock, "be honest", "refund?").unwrap(),
            "Refunds take 5 days."
        );
        assert_eq!(ask(&mock, "be honest", "hello").unwrap(), "Sorry?");
    }

    #[test]
    fn bad_rules_name_the_file_and_line() {
        let (_d, mock) = rules(
            "[[rules]]\nmatch = 'a'\nresponse = 'x'\n\n[[rules]]\nmatch = '(unclosed'\nresponse = 'y'\n",
        );
        let err = mock.err().unwrap().to_string();
        assert!(
            err.contains("m.toml:5") && err.contains("invalid regex"),
            "{err}"
        );
        let (_d, mock) = rules("[[rules]]\nmatch = 'a'\nresponse = '{{ missing }}'\n");
        let err = ask(&mock.unwrap(), "", "a").unwrap_err().to_string();
        assert!(err.contains("m.toml:1") && err.contains("missing"), "{err}");
    }
}
