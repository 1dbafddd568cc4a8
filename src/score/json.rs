//! JSON scorers: json_valid and json_field (a JSON pointer equals a value).

use serde_json::Value;

use super::{Observation, Score, ScorerKind, snippet};

#[derive(Debug)]
pub enum JsonCheck {
    Valid,
    Field {
        pointer: String,
        value: Option<Value>,
    },
}

/// Models often wrap JSON in a Markdown code fence; the content is what counts.
fn unfenced(output: &str) -> &str {
    let trimmed = output.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let Some(body) = rest.strip_suffix("```") else {
        return trimmed;
    };
    let body = body.strip_prefix("json").unwrap_or(body);
    body.trim()
}

fn parse(output: &str) -> Result<Value, Score> {
    serde_json::from_str(unfenced(output)).map_err(|e| Score::fail(format!("not valid JSON: {e}")))
}

impl JsonCheck {
    pub fn compile(kind: &ScorerKind) -> Result<JsonCheck, String> {
        match kind {
            ScorerKind::JsonValid {} => Ok(JsonCheck::Valid),
            ScorerKind::JsonField { pointer, value } => {
                if !(pointer.is_empty() || pointer.starts_with('/')) {
                    return Err(format!(
                        "json_field: pointer {pointer:?} must be empty or start with '/' (RFC 6901), e.g. \"/answer\""
                    ));
                }
                Ok(JsonCheck::Field {
                    pointer: pointer.clone(),
                    value: value.clone(),
                })
            }
            other => unreachable!("{} is not a JSON scorer", other.type_name()),
        }
    }

    pub fn score(&self, obs: &Observation<'_>) -> Score {
        let parsed = match parse(obs.output) {
            Ok(v) => v,
            Err(score) => return score,
        };
        match self {
            JsonCheck::Valid => Score::pass("valid JSON"),
            JsonCheck::Field { pointer, value } => {
                let want = value.as_ref().or(obs.expected);
                match (parsed.pointer(pointer), want) {
                    (None, _) => Score::fail(format!("no field at {pointer}")),
                    (Some(got), Some(want)) if got == want => {
                        Score::pass(format!("{pointer} = {}", snippet(&got.to_string(), 40)))
                    }
                    (Some(got), want) => Score::fail(format!(
                        "{pointer} = {}, expected {}",
                        snippet(&got.to_string(), 40),
                        snippet(&want.map(Value::to_string).unwrap_or_default(), 40)
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::score::tests::run;
    use serde_json::json;

    #[test]
    fn json_valid_accepts_fenced_json() {
        assert!(run("type = \"json_valid\"", "{\"a\": 1}", None).passed);
        assert!(run("type = \"json_valid\"", "```json\n{\"a\": 1}\n```", None).passed);
        assert!(!run("type = \"json_valid\"", "{a: 1}", None).passed);
    }

    #[test]
    fn json_field_compares_typed_values() {
        let spec = "type = \"json_field\"\npointer = \"/answer/code\"";
        assert!(run(spec, r#"{"answer": {"code": 7}}"#, Some(json!(7))).passed);
        assert!(!run(spec, r#"{"answer": {"code": "7"}}"#, Some(json!(7))).passed);
        assert!(!run(spec, r#"{"answer": {}}"#, Some(json!(7))).passed);
        let fixed = "type = \"json_field\"\npointer = \"/ok\"\nvalue = true";
        assert!(run(fixed, r#"{"ok": true}"#, None).passed);
    }
}
