//! Scorers: each turns one output into a score in [0, 1], pass/fail and a one-line reason.
//!
//! A scorer is declared in the criteria (`[[scorers]]`) or in a case's own `assert` list,
//! and compiled once (regexes, lower-cased needles) before the run starts.

mod command;
mod json;
mod judge;
mod numeric;
mod set;
mod text;

pub use judge::{JudgeCall, JudgeCheck, last_verdict};
pub use set::ScorerSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a list of values combines in `contains` / `not_contains`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Any,
    All,
}

fn yes() -> bool {
    true
}

fn default_similarity_min() -> f64 {
    0.8
}

/// A scorer as written in a criteria file or a case's `assert` list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScorerKind {
    /// The output equals `value` (or the case's `expected`).
    Exact {
        value: Option<String>,
        #[serde(default)]
        case_insensitive: bool,
        #[serde(default = "yes")]
        trim: bool,
    },
    /// The output contains any (or all) of `values` (or the case's `expected`).
    Contains {
        values: Option<Vec<String>>,
        #[serde(default)]
        mode: Mode,
        #[serde(default)]
        case_insensitive: bool,
    },
    /// The output contains none of `values` (with `mode = "all"`: not all of them).
    NotContains {
        values: Vec<String>,
        #[serde(default)]
        mode: Mode,
        #[serde(default)]
        case_insensitive: bool,
    },
    /// The regex matches somewhere in the output.
    Regex {
        pattern: String,
        #[serde(default)]
        case_insensitive: bool,
    },
    /// The output parses as JSON.
    JsonValid {},
    /// The output parses as JSON and the value at a JSON pointer equals `value` (or `expected`).
    JsonField {
        pointer: String,
        value: Option<Value>,
    },
    /// A number read from the output is within tolerance of the case's `expected` number.
    Numeric {
        #[serde(default)]
        abs_tol: f64,
        #[serde(default)]
        rel_tol: f64,
    },
    /// Normalized Levenshtein similarity to the case's `expected`; passes at `min`.
    Similarity {
        #[serde(default = "default_similarity_min")]
        min: f64,
        #[serde(default)]
        case_insensitive: bool,
    },
    /// Output length in characters within `min`..=`max`.
    Length {
        min: Option<usize>,
        max: Option<usize>,
    },
    /// The call's latency is at most `max_ms`.
    Latency { max_ms: u64 },
    /// A program scores the output: `{case, output}` as JSON on stdin, `{score, passed,
    /// reason}` on stdout; anything else fails the case.
    Command {
        command: String,
        #[serde(default = "default_command_timeout")]
        timeout_secs: f64,
    },
    /// A judge model grades the output: `prompt` (a prompt file, relative to the criteria
    /// file) is rendered with the case's vars plus `output`, `expected` and `rubric`; the
    /// last `VERDICT: <choice>` line of its answer picks a choice, whose score must reach
    /// `min`. Anything else fails the case.
    LlmJudge {
        prompt: String,
        rubric: Option<String>,
        rubric_file: Option<String>,
        #[serde(default = "judge::default_choices")]
        choices: std::collections::BTreeMap<String, f64>,
        #[serde(default = "judge::default_judge_min")]
        min: f64,
    },
}

fn default_command_timeout() -> f64 {
    30.0
}

impl ScorerKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ScorerKind::Exact { .. } => "exact",
            ScorerKind::Contains { .. } => "contains",
            ScorerKind::NotContains { .. } => "not_contains",
            ScorerKind::Regex { .. } => "regex",
            ScorerKind::JsonValid {} => "json_valid",
            ScorerKind::JsonField { .. } => "json_field",
            ScorerKind::Numeric { .. } => "numeric",
            ScorerKind::Similarity { .. } => "similarity",
            ScorerKind::Length { .. } => "length",
            ScorerKind::Latency { .. } => "latency",
            ScorerKind::Command { .. } => "command",
            ScorerKind::LlmJudge { .. } => "llm_judge",
        }
    }

    /// True when the scorer compares against the case's `expected` value.
    pub fn needs_expected(&self) -> bool {
        match self {
            ScorerKind::Exact { value, .. } => value.is_none(),
            ScorerKind::Contains { values, .. } => values.is_none(),
            ScorerKind::JsonField { value, .. } => value.is_none(),
            ScorerKind::Numeric { .. } | ScorerKind::Similarity { .. } => true,
            _ => false,
        }
    }
}

/// A named scorer declaration. `name` defaults to the type.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorerSpec {
    pub name: String,
    pub kind: ScorerKind,
}

impl<'de> Deserialize<'de> for ScorerSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        // `name` is shared by every type; serde cannot flatten it next to an internally
        // tagged enum that denies unknown fields, so it is taken off first.
        let mut value = Value::deserialize(deserializer)?;
        let table = value
            .as_object_mut()
            .ok_or_else(|| D::Error::custom("a scorer must be a table with a `type`"))?;
        let name = match table.remove("name") {
            None => None,
            Some(Value::String(name)) if !name.trim().is_empty() => Some(name),
            Some(_) => return Err(D::Error::custom("scorer `name` must be a non-empty string")),
        };
        if !table.contains_key("type") {
            return Err(D::Error::custom(
                "scorer has no `type` (exact, contains, not_contains, regex, json_valid, \
                 json_field, numeric, similarity, length, latency, command, llm_judge)",
            ));
        }
        let kind: ScorerKind = serde_json::from_value(value).map_err(D::Error::custom)?;
        Ok(ScorerSpec {
            name: name.unwrap_or_else(|| kind.type_name().to_string()),
            kind,
        })
    }
}

impl Serialize for ScorerSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.kind).map_err(serde::ser::Error::custom)?;
        if let Some(table) = value.as_object_mut() {
            table.insert("name".into(), Value::String(self.name.clone()));
        }
        value.serialize(serializer)
    }
}

/// One scorer's judgement of one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub score: f64,
    pub passed: bool,
    pub reason: String,
}

impl Score {
    pub fn pass(reason: impl Into<String>) -> Score {
        Score {
            score: 1.0,
            passed: true,
            reason: reason.into(),
        }
    }

    pub fn fail(reason: impl Into<String>) -> Score {
        Score {
            score: 0.0,
            passed: false,
            reason: reason.into(),
        }
    }

    pub(crate) fn graded(score: f64, passed: bool, reason: impl Into<String>) -> Score {
        Score {
            score: score.clamp(0.0, 1.0),
            passed,
            reason: reason.into(),
        }
    }
}

/// What a scorer sees of one call.
pub struct Observation<'a> {
    pub output: &'a str,
    pub latency_ms: u64,
    /// The case's `expected`, what the built-in scorers read of a case.
    pub expected: Option<&'a Value>,
    /// The whole case (`id`, `vars`, `expected`, `tags`) as JSON, for a `command` scorer;
    /// None when no command scorer needs it.
    pub case: Option<&'a Value>,
    /// The judge calls made (or recorded) for this output, read by `llm_judge` scorers.
    pub judge_calls: &'a [JudgeCall],
}

/// A scorer ready to run: its checks compiled once.
#[derive(Debug)]
pub struct Scorer {
    pub name: String,
    pub spec: ScorerKind,
    check: Check,
}

#[derive(Debug)]
enum Check {
    Text(text::TextCheck),
    Json(json::JsonCheck),
    Numeric(numeric::NumericCheck),
    Latency { max_ms: u64 },
    Command(command::CommandCheck),
    Judge(Box<judge::JudgeCheck>),
}

impl Scorer {
    /// Compiles a declaration; the error says what is wrong with it in one line.
    pub fn compile(spec: &ScorerSpec) -> Result<Scorer, String> {
        Scorer::compile_in(spec, std::path::Path::new("."))
    }

    /// Compiles a declaration of the criteria file in `dir`, where a `command` scorer runs.
    pub fn compile_in(spec: &ScorerSpec, dir: &std::path::Path) -> Result<Scorer, String> {
        let check = match &spec.kind {
            ScorerKind::Command {
                command,
                timeout_secs,
            } => Check::Command(command::CommandCheck::compile(command, *timeout_secs, dir)?),
            ScorerKind::LlmJudge {
                prompt,
                rubric,
                rubric_file,
                choices,
                min,
            } => Check::Judge(Box::new(judge::JudgeCheck::compile(
                prompt,
                rubric.as_deref(),
                rubric_file.as_deref(),
                choices,
                *min,
                dir,
            )?)),
            ScorerKind::JsonValid {} | ScorerKind::JsonField { .. } => {
                Check::Json(json::JsonCheck::compile(&spec.kind)?)
            }
            ScorerKind::Numeric { abs_tol, rel_tol } => {
                Check::Numeric(numeric::NumericCheck::compile(*abs_tol, *rel_tol)?)
            }
            ScorerKind::Latency { max_ms } => Check::Latency { max_ms: *max_ms },
            other => Check::Text(text::TextCheck::compile(other)?),
        };
        Ok(Scorer {
            name: spec.name.clone(),
            spec: spec.kind.clone(),
            check,
        })
    }

    /// Checks that a case whose `expected` is this carries what this scorer needs, before
    /// any call is made.
    pub fn check_expected(&self, expected: Option<&Value>) -> Result<(), String> {
        if self.spec.needs_expected() && expected.is_none() {
            return Err(format!(
                "scorer {:?} ({}) compares with `expected`, but the case has none",
                self.name,
                self.spec.type_name()
            ));
        }
        if matches!(self.spec, ScorerKind::Contains { values: None, .. })
            && expected_text(expected).is_empty()
        {
            return Err(format!(
                "scorer {:?} (contains) looks for `expected`, which is empty: every output contains it",
                self.name
            ));
        }
        if let Check::Numeric(_) = &self.check {
            numeric::expected_number(expected)
                .map_err(|e| format!("scorer {:?} (numeric): {e}", self.name))?;
        }
        Ok(())
    }

    pub fn score(&self, obs: &Observation<'_>) -> Score {
        match &self.check {
            Check::Text(check) => check.score(obs),
            Check::Json(check) => check.score(obs),
            Check::Numeric(check) => check.score(obs),
            Check::Command(check) => check.score(obs),
            Check::Judge(check) => check.score(&self.name, obs),
            Check::Latency { max_ms } => {
                if obs.latency_ms <= *max_ms {
                    Score::pass(format!("latency {} ms <= {max_ms} ms", obs.latency_ms))
                } else {
                    Score::fail(format!("latency {} ms > {max_ms} ms", obs.latency_ms))
                }
            }
        }
    }
}

impl Scorer {
    /// True for a scorer that runs a program: it needs the whole case and may block.
    pub fn runs_a_program(&self) -> bool {
        matches!(self.check, Check::Command(_))
    }

    /// The judge of an `llm_judge` scorer, whose call the run makes before scoring.
    pub fn judge(&self) -> Option<&judge::JudgeCheck> {
        match &self.check {
            Check::Judge(check) => Some(check),
            _ => None,
        }
    }
}

/// The case's `expected` as text: strings as they are, anything else as JSON.
pub fn expected_text(expected: Option<&Value>) -> String {
    match expected {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Shortens text for a one-line reason.
pub fn snippet(text: &str, max_chars: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut chars = flat.chars();
    let head: String = chars.by_ref().take(max_chars).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn run(spec_toml: &str, output: &str, expected: Option<Value>) -> Score {
        let spec: ScorerSpec = toml::from_str(spec_toml).expect("spec parses");
        let scorer = Scorer::compile(&spec).expect("compiles");
        scorer.check_expected(expected.as_ref()).expect("case fits");
        scorer.score(&Observation {
            output,
            latency_ms: 10,
            expected: expected.as_ref(),
            case: None,
            judge_calls: &[],
        })
    }

    #[test]
    fn name_defaults_to_type_and_unknown_fields_are_rejected() {
        let spec: ScorerSpec = toml::from_str("type = \"json_valid\"").unwrap();
        assert_eq!(spec.name, "json_valid");
        let err = toml::from_str::<ScorerSpec>("type = \"regex\"\npattern = \"a\"\npatern = \"b\"")
            .unwrap_err();
        assert!(err.to_string().contains("patern"), "{err}");
        let err = toml::from_str::<ScorerSpec>("type = \"bleu\"").unwrap_err();
        assert!(err.to_string().contains("bleu"), "{err}");
    }

    #[test]
    fn latency_scorer() {
        assert!(run("type = \"latency\"\nmax_ms = 10", "x", None).passed);
        assert!(!run("type = \"latency\"\nmax_ms = 9", "x", None).passed);
    }

    #[test]
    fn missing_expected_is_reported_before_the_run() {
        let spec: ScorerSpec = toml::from_str("type = \"similarity\"").unwrap();
        let scorer = Scorer::compile(&spec).unwrap();
        let err = scorer.check_expected(None).unwrap_err();
        assert!(err.contains("expected"), "{err}");
    }
}
