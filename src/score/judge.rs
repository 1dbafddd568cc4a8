//! `type = "llm_judge"`: a second model grades the output. The judge prompt is an ordinary
//! prompt file with its own content-addressed version, rendered with the case's variables
//! plus `output`, `expected` and `rubric`. The run makes the judge call (see `run`); this
//! scorer only reads the recorded answer, so every re-judgement parses the same answer and
//! never calls the judge. The verdict is the LAST line of the answer reading
//! `VERDICT: <choice>`, and the choice must be one offered; anything else fails the case.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Observation, Score, expected_text, snippet};
use crate::prompt::{Message, Prompt};

/// Characters of a judge's raw answer quoted in a reason.
const SHOWN_CHARS: usize = 300;

/// One judge call, as calls.jsonl records it beside the candidate's call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeCall {
    /// The llm_judge scorer that asked.
    pub scorer: String,
    /// The judge prompt's content-addressed version.
    pub prompt_version: String,
    pub model: String,
    pub answer: String,
    /// sha256 of `answer`; None when the call failed.
    pub answer_hash: Option<String>,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub latency_ms: u64,
    pub attempts: u32,
    pub cached: bool,
    /// Why the judge call failed for good.
    pub error: Option<String>,
}

impl JudgeCall {
    /// Like a call's response_hash: an answered judge call records the sha256 of its
    /// answer, a failed one records none.
    pub fn check_answer_hash(&self) -> Result<(), String> {
        match (&self.answer_hash, &self.error) {
            (Some(hash), None) if *hash == crate::digest::sha256_id(self.answer.as_bytes()) => {
                Ok(())
            }
            (Some(hash), None) => Err(format!(
                "judge call of scorer {:?}: the answer does not match its answer_hash {hash}",
                self.scorer
            )),
            (None, Some(_)) => Ok(()),
            (None, None) => Err(format!(
                "judge call of scorer {:?}: an answer without an answer_hash",
                self.scorer
            )),
            (Some(_), Some(_)) => Err(format!(
                "judge call of scorer {:?}: a failed judge call with an answer_hash",
                self.scorer
            )),
        }
    }
}

pub fn default_choices() -> BTreeMap<String, f64> {
    BTreeMap::from([("PASS".to_string(), 1.0), ("FAIL".to_string(), 0.0)])
}

pub fn default_judge_min() -> f64 {
    0.5
}

#[derive(Debug)]
pub struct JudgeCheck {
    pub prompt: Prompt,
    rubric: String,
    /// Choices by their upper-cased name, with the name as written.
    choices: Vec<(String, String, f64)>,
    min: f64,
}

impl JudgeCheck {
    pub fn compile(
        prompt: &str,
        rubric: Option<&str>,
        rubric_file: Option<&str>,
        choices: &BTreeMap<String, f64>,
        min: f64,
        dir: &Path,
    ) -> Result<JudgeCheck, String> {
        let rubric = match (rubric, rubric_file) {
            (Some(_), Some(_)) => return Err("give `rubric` or `rubric_file`, not both".into()),
            (Some(text), None) => text.to_string(),
            (None, Some(file)) => {
                crate::error::read_text(&dir.join(file)).map_err(|e| e.to_string())?
            }
            (None, None) => {
                return Err("an llm_judge scorer needs a `rubric` (or `rubric_file`)".into());
            }
        };
        if rubric.trim().is_empty() {
            return Err("the rubric is empty: say what the judge checks".into());
        }
        if choices.is_empty() {
            return Err("`choices` is empty: offer the judge at least two verdicts".into());
        }
        let mut compiled: Vec<(String, String, f64)> = Vec::new();
        for (name, score) in choices {
            let key = name.trim().to_uppercase();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(format!(
                    "choice {name:?}: a choice is one word the judge writes after VERDICT:"
                ));
            }
            if !(score.is_finite() && (0.0..=1.0).contains(score)) {
                return Err(format!("choice {name:?} = {score}: a score is from 0 to 1"));
            }
            if compiled.iter().any(|(k, _, _)| *k == key) {
                return Err(format!(
                    "choices {name:?} differ only in case: verdicts are read case-insensitively"
                ));
            }
            compiled.push((key, name.clone(), *score));
        }
        if !(min.is_finite() && (0.0..=1.0).contains(&min)) {
            return Err(format!("min = {min}: use a score from 0 to 1"));
        }
        let prompt = Prompt::load(&dir.join(prompt)).map_err(|e| e.to_string())?;
        Ok(JudgeCheck {
            prompt,
            rubric,
            choices: compiled,
            min,
        })
    }

    /// The variables the judge prompt renders with: the case's, then `output`, `expected`
    /// and `rubric`.
    pub fn vars(
        &self,
        case_vars: &Map<String, Value>,
        output: &str,
        expected: Option<&Value>,
    ) -> Map<String, Value> {
        let mut vars = case_vars.clone();
        vars.insert("output".into(), Value::String(output.to_string()));
        vars.insert("expected".into(), Value::String(expected_text(expected)));
        vars.insert("rubric".into(), Value::String(self.rubric.clone()));
        vars
    }

    /// Variables the judge prompt reads that neither the case nor the judge provides.
    pub fn missing_variables(&self, case_vars: &Map<String, Value>) -> Vec<String> {
        self.prompt
            .variables(false)
            .into_iter()
            .filter(|v| {
                !case_vars.contains_key(v)
                    && !["output", "expected", "rubric"].contains(&v.as_str())
            })
            .collect()
    }

    /// The judge's request messages for these variables.
    pub fn render(&self, vars: &Map<String, Value>) -> Result<Vec<Message>, String> {
        self.prompt.render(&crate::template::context(vars))
    }

    /// Scores from the recorded judge call of scorer `name`; a missing, failed or
    /// unparseable one fails.
    pub fn score(&self, name: &str, obs: &Observation<'_>) -> Score {
        let Some(call) = obs.judge_calls.iter().find(|c| c.scorer == name) else {
            return Score::fail("no judge call is recorded for this scorer");
        };
        if let Some(error) = &call.error {
            return Score::fail(format!("judge call failed: {error}"));
        }
        if call.prompt_version != self.prompt.version {
            return Score::fail(format!(
                "the recorded judge answer is of judge prompt version {}, not of {} ({}), which this scorer uses",
                crate::digest::short(&call.prompt_version),
                crate::digest::short(&self.prompt.version),
                self.prompt.path.display()
            ));
        }
        match self.verdict(&call.answer) {
            Ok((choice, score)) => {
                let passed = score >= self.min;
                Score::graded(
                    score,
                    passed,
                    format!(
                        "judge says {choice} ({score} {} min {})",
                        if passed { ">=" } else { "<" },
                        self.min
                    ),
                )
            }
            Err(reason) => Score::fail(format!(
                "{reason}: judge answered {:?}",
                snippet(&call.answer, SHOWN_CHARS)
            )),
        }
    }

    fn verdict(&self, answer: &str) -> Result<(String, f64), String> {
        let Some(word) = last_verdict(answer) else {
            return Err("judge answer not parseable (no line `VERDICT: <choice>`)".into());
        };
        let key = word.to_uppercase();
        match self.choices.iter().find(|(k, _, _)| *k == key) {
            Some((_, name, score)) => Ok((name.clone(), *score)),
            None => Err(format!(
                "judge verdict {word:?} is not one of the choices ({})",
                self.choices
                    .iter()
                    .map(|(_, n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// The word after `VERDICT:` on the last line that has one (case-insensitive; whitespace
/// and punctuation around the line and the word trimmed). An earlier verdict, such as one
/// quoted from the candidate's output, never wins over a later one.
pub fn last_verdict(answer: &str) -> Option<String> {
    let trim = |s: &str| -> String {
        s.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
            .to_string()
    };
    answer.lines().rev().find_map(|line| {
        let line = trim(line);
        let head = line.get(..8)?;
        if !head.eq_ignore_ascii_case("verdict:") {
            return None;
        }
        let word = trim(&line[8..]);
        (!word.is_empty()).then_some(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_verdict_line_binds() {
        assert_eq!(last_verdict("VERDICT: PASS").as_deref(), Some("PASS"));
        assert_eq!(last_verdict("  verdict:  fail.  ").as_deref(), Some("fail"));
        assert_eq!(last_verdict("**VERDICT: PASS**").as_deref(), Some("PASS"));
        assert_eq!(
            last_verdict("The answer says \"VERDICT: PASS\"\nbut it is wrong.\nVERDICT: FAIL")
                .as_deref(),
            Some("FAIL")
        );
        assert_eq!(
            last_verdict("VERDICT: FAIL\nquoted: VERDICT: PASS").as_deref(),
            Some("FAIL"),
            "a verdict in the middle of a line is not a verdict line"
        );
        assert_eq!(last_verdict("I think it passes."), None);
        assert_eq!(last_verdict("VERDICT:"), None);
        assert_eq!(last_verdict(""), None);
        assert_eq!(last_verdict("VERDICT: É"), Some("É".into()));
    }

    fn check(choices: &[(&str, f64)]) -> JudgeCheck {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("j.toml"),
            "id = \"j\"\n[model]\nname = \"judge\"\n[[messages]]\nrole = \"user\"\ncontent = \"{{ rubric }}: {{ output }}\"\n",
        )
        .unwrap();
        let choices = choices.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        JudgeCheck::compile(
            "j.toml",
            Some("is it right"),
            None,
            &choices,
            0.5,
            dir.path(),
        )
        .unwrap()
    }

    fn judged(check: &JudgeCheck, answer: &str) -> Score {
        let calls = [JudgeCall {
            scorer: "j".into(),
            prompt_version: check.prompt.version.clone(),
            model: "m".into(),
            answer: answer.into(),
            answer_hash: Some(crate::digest::sha256_id(answer.as_bytes())),
            tokens_in: None,
            tokens_out: None,
            latency_ms: 0,
            attempts: 1,
            cached: false,
            error: None,
        }];
        check.score(
            "j",
            &Observation {
                output: "x",
                latency_ms: 0,
                expected: None,
                case: None,
                judge_calls: &calls,
            },
        )
    }

    #[test]
    fn verdicts_score_by_their_choice_and_anything_else_fails() {
        let c = check(&[("PASS", 1.0), ("FAIL", 0.0)]);
        let s = judged(&c, "Fine.\nverdict: pass");
        assert!(s.passed && s.score == 1.0, "{s:?}");
        assert!(!judged(&c, "VERDICT: FAIL").passed);
        let s = judged(&c, "looks good to me");
        assert!(
            !s.passed && s.reason.contains("not parseable") && s.reason.contains("looks good"),
            "{s:?}"
        );
        let s = judged(&c, "VERDICT: MAYBE");
        assert!(
            !s.passed && s.reason.contains("not one of the choices"),
            "{s:?}"
        );
        let s = judged(&c, "The output says VERDICT: PASS\nVERDICT: FAIL");
        assert!(!s.passed, "{s:?}");
        let graded = check(&[("A", 1.0), ("B", 0.6), ("C", 0.2)]);
        let s = judged(&graded, "VERDICT: B");
        assert!(s.passed && (s.score - 0.6).abs() < 1e-9, "{s:?}");
        assert!(!judged(&graded, "VERDICT: C").passed);
        let s = check(&[("PASS", 1.0)]).score(
            "other",
            &Observation {
                output: "x",
                latency_ms: 0,
                expected: None,
                case: None,
                judge_calls: &[],
            },
        );
        assert!(!s.passed && s.reason.contains("no judge call"), "{s:?}");
    }
}
