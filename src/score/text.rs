//! Text scorers: exact, contains, not_contains, regex, similarity, length.

use regex::{Regex, RegexBuilder};

use super::{Mode, Observation, Score, ScorerKind, expected_text, snippet};

#[derive(Debug)]
pub enum TextCheck {
    Exact {
        value: Option<String>,
        case_insensitive: bool,
        trim: bool,
    },
    Contains {
        needles: Option<Vec<Needle>>,
        mode: Mode,
        case_insensitive: bool,
    },
    NotContains {
        needles: Vec<Needle>,
        mode: Mode,
        case_insensitive: bool,
    },
    Regex(Regex),
    Similarity {
        min: f64,
        case_insensitive: bool,
    },
    Length {
        min: Option<usize>,
        max: Option<usize>,
    },
}

/// A value to look for: as written (for reasons) and as compared.
#[derive(Debug)]
pub struct Needle {
    written: String,
    folded: String,
}

impl Needle {
    fn new(written: &str, case_insensitive: bool) -> Needle {
        Needle {
            written: written.to_string(),
            folded: fold(written, case_insensitive),
        }
    }
}

impl AsRef<str> for Needle {
    fn as_ref(&self) -> &str {
        &self.written
    }
}

fn fold(text: &str, case_insensitive: bool) -> String {
    if case_insensitive {
        text.to_lowercase()
    } else {
        text.to_string()
    }
}

fn non_empty(values: &[String], what: &str) -> Result<(), String> {
    if values.is_empty() {
        return Err(format!("{what}: `values` is empty"));
    }
    if values.iter().any(|v| v.is_empty()) {
        return Err(format!(
            "{what}: `values` holds an empty string, which every output contains"
        ));
    }
    Ok(())
}

impl TextCheck {
    pub fn compile(kind: &ScorerKind) -> Result<TextCheck, String> {
        Ok(match kind {
            ScorerKind::Exact {
                value,
                case_insensitive,
                trim,
            } => TextCheck::Exact {
                value: value.clone(),
                case_insensitive: *case_insensitive,
                trim: *trim,
            },
            ScorerKind::Contains {
                values,
                mode,
                case_insensitive,
            } => {
                if let Some(values) = values {
                    non_empty(values, "contains")?;
                }
                TextCheck::Contains {
                    needles: values.as_ref().map(|v| {
                        v.iter()
                            .map(|s| Needle::new(s, *case_insensitive))
                            .collect()
                    }),
                    mode: *mode,
                    case_insensitive: *case_insensitive,
                }
            }
            ScorerKind::NotContains {
                values,
                mode,
                case_insensitive,
            } => {
                non_empty(values, "not_contains")?;
                TextCheck::NotContains {
                    needles: values
                        .iter()
                        .map(|s| Needle::new(s, *case_insensitive))
                        .collect(),
                    mode: *mode,
                    case_insensitive: *case_insensitive,
                }
            }
            ScorerKind::Regex {
                pattern,
                case_insensitive,
            } => TextCheck::Regex(
                RegexBuilder::new(pattern)
                    .case_insensitive(*case_insensitive)
                    .build()
                    .map_err(|e| {
                        format!(
                            "invalid regex {pattern:?}: {}",
                            e.to_string().lines().last().unwrap_or("").trim()
                        )
                    })?,
            ),
            ScorerKind::Similarity {
                min,
                case_insensitive,
            } => {
                if !(0.0..=1.0).contains(min) {
                    return Err(format!("similarity: min = {min} is outside 0..=1"));
                }
                TextCheck::Similarity {
                    min: *min,
                    case_insensitive: *case_insensitive,
                }
            }
            ScorerKind::Length { min, max } => {
                if min.is_none() && max.is_none() {
                    return Err("length: set `min`, `max` or both".into());
                }
                if let (Some(lo), Some(hi)) = (min, max)
                    && lo > hi
                {
                    return Err(format!("length: min = {lo} is above max = {hi}"));
                }
                TextCheck::Length {
                    min: *min,
                    max: *max,
                }
            }
            other => unreachable!("{} is not a text scorer", other.type_name()),
        })
    }

    pub fn score(&self, obs: &Observation<'_>) -> Score {
        match self {
            TextCheck::Exact {
                value,
                case_insensitive,
                trim,
            } => {
                let expected = value.clone().unwrap_or_else(|| expected_text(obs.expected));
                let (a, b) = if *trim {
                    (obs.output.trim(), expected.trim())
                } else {
                    (obs.output, expected.as_str())
                };
                let equal = if *case_insensitive {
                    a.to_lowercase() == b.to_lowercase()
                } else {
                    a == b
                };
                if equal {
                    Score::pass("output equals expected")
                } else {
                    Score::fail(format!("output differs from expected {:?}", snippet(b, 60)))
                }
            }
            TextCheck::Contains {
                needles,
                mode,
                case_insensitive,
            } => {
                let from_case;
                let needles = match needles {
                    Some(n) => n,
                    None => {
                        from_case =
                            vec![Needle::new(&expected_text(obs.expected), *case_insensitive)];
                        &from_case
                    }
                };
                let haystack = fold(obs.output, *case_insensitive);
                let (found, missing): (Vec<&Needle>, Vec<&Needle>) = needles
                    .iter()
                    .partition(|n| haystack.contains(n.folded.as_str()));
                match mode {
                    Mode::Any if !found.is_empty() => {
                        Score::pass(format!("contains {:?}", snippet(&found[0].written, 60)))
                    }
                    Mode::Any => Score::fail(format!("contains none of {}", quote_list(needles))),
                    Mode::All => {
                        let share = found.len() as f64 / needles.len() as f64;
                        if missing.is_empty() {
                            Score::pass(format!("contains all {} values", needles.len()))
                        } else {
                            Score::graded(share, false, format!("missing {}", quote_list(&missing)))
                        }
                    }
                }
            }
            TextCheck::NotContains {
                needles,
                mode,
                case_insensitive,
            } => {
                let haystack = fold(obs.output, *case_insensitive);
                let found: Vec<&Needle> = needles
                    .iter()
                    .filter(|n| haystack.contains(n.folded.as_str()))
                    .collect();
                let forbidden = match mode {
                    Mode::Any => !found.is_empty(),
                    Mode::All => found.len() == needles.len(),
                };
                if forbidden {
                    Score::fail(format!("contains {}", quote_list(&found)))
                } else {
                    Score::pass(format!("none of {} forbidden values", needles.len()))
                }
            }
            TextCheck::Regex(re) => match re.find(obs.output) {
                Some(m) => Score::pass(format!("matches at {:?}", snippet(m.as_str(), 40))),
                None => Score::fail(format!("no match for /{}/", re.as_str())),
            },
            TextCheck::Similarity {
                min,
                case_insensitive,
            } => {
                let expected = expected_text(obs.expected);
                let (a, b) = (
                    fold(obs.output.trim(), *case_insensitive),
                    fold(expected.trim(), *case_insensitive),
                );
                let similarity = normalized_levenshtein(&a, &b);
                let passed = similarity >= *min;
                let op = if passed { ">=" } else { "<" };
                Score::graded(
                    similarity,
                    passed,
                    format!("similarity {similarity:.3} {op} {min:.3}"),
                )
            }
            TextCheck::Length { min, max } => {
                let len = obs.output.chars().count();
                if let Some(lo) = min
                    && len < *lo
                {
                    return Score::fail(format!("{len} chars < min {lo}"));
                }
                if let Some(hi) = max
                    && len > *hi
                {
                    return Score::fail(format!("{len} chars > max {hi}"));
                }
                Score::pass(format!("{len} chars"))
            }
        }
    }
}

/// 1 - edit distance / length of the longer text, in characters; 1.0 for two empty texts.
/// rapidfuzz's bit-parallel Levenshtein gives strsim's `normalized_levenshtein` values at a
/// fraction of the cost (it dominated the 100,000-case benchmark); a test pins the two
/// together.
pub fn normalized_levenshtein(a: &str, b: &str) -> f64 {
    rapidfuzz::distance::levenshtein::normalized_similarity(a.chars(), b.chars())
}

fn quote_list(values: &[impl AsRef<str>]) -> String {
    let shown: Vec<String> = values
        .iter()
        .take(3)
        .map(|v| format!("{:?}", snippet(v.as_ref(), 40)))
        .collect();
    let more = values.len().saturating_sub(3);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use crate::score::tests::run;
    use serde_json::json;

    #[test]
    fn exact_trims_and_folds_case() {
        assert!(run("type = \"exact\"", " Paris\n", Some(json!("Paris"))).passed);
        assert!(!run("type = \"exact\"", "paris", Some(json!("Paris"))).passed);
        assert!(
            run(
                "type = \"exact\"\ncase_insensitive = true",
                "paris",
                Some(json!("Paris"))
            )
            .passed
        );
        assert!(
            !run(
                "type = \"exact\"\ntrim = false",
                " Paris",
                Some(json!("Paris"))
            )
            .passed
        );
        assert!(run("type = \"exact\"\nvalue = \"42\"", "42", None).passed);
    }

    #[test]
    fn contains_any_and_all() {
        let any =
            "type = \"contains\"\nvalues = [\"doctor\", \"physician\"]\ncase_insensitive = true";
        assert!(run(any, "Ask your Physician.", None).passed);
        assert!(!run(any, "Ask a friend.", None).passed);
        let all = "type = \"contains\"\nvalues = [\"a\", \"b\"]\nmode = \"all\"";
        let half = run(all, "a only", None);
        assert!(!half.passed);
        assert_eq!(half.score, 0.5);
        assert!(
            run(
                "type = \"contains\"",
                "the answer is 42.",
                Some(json!("42"))
            )
            .passed
        );
    }

    #[test]
    fn not_contains_reports_the_forbidden_value() {
        let spec = "type = \"not_contains\"\nvalues = [\"great idea\"]\ncase_insensitive = true";
        let score = run(spec, "What a GREAT idea!", None);
        assert!(!score.passed);
        assert_eq!(score.score, 0.0);
        assert!(score.reason.contains("great idea"), "{}", score.reason);
        assert!(run(spec, "Please see a doctor.", None).passed);
        let all = "type = \"not_contains\"\nvalues = [\"a\", \"b\"]\nmode = \"all\"";
        assert!(run(all, "a", None).passed);
        assert!(!run(all, "a b", None).passed);
    }

    #[test]
    fn regex_and_length() {
        assert!(run("type = \"regex\"\npattern = \"^\\\\d+$\"", "123", None).passed);
        assert!(
            run(
                "type = \"regex\"\npattern = \"yes\"\ncase_insensitive = true",
                "YES",
                None
            )
            .passed
        );
        assert!(!run("type = \"length\"\nmin = 5", "abc", None).passed);
        assert!(run("type = \"length\"\nmax = 3", "äöü", None).passed);
    }

    #[test]
    fn similarity_matches_strsim() {
        let texts = [
            "",
            "a",
            "kitten",
            "sitting",
            "Refunds reach your card within 5 business days.",
            "Refunds reach the card in five days",
            "héllo wörld ✓",
            "hello world",
        ];
        for a in texts {
            for b in texts {
                let ours = super::normalized_levenshtein(a, b);
                let reference = strsim::normalized_levenshtein(a, b);
                assert!(
                    (ours - reference).abs() < 1e-12,
                    "{a:?} {b:?}: {ours} vs {reference}"
                );
            }
        }
    }

    #[test]
    fn similarity_is_normalized_levenshtein() {
        let s = run(
            "type = \"similarity\"\nmin = 0.5",
            "kitten",
            Some(json!("sitting")),
        );
        assert!((s.score - (1.0 - 3.0 / 7.0)).abs() < 1e-12);
        assert!(s.passed);
        let s = run("type = \"similarity\"", "abc", Some(json!("xyz")));
        assert_eq!(s.score, 0.0);
        assert!(!s.passed);
    }
}
