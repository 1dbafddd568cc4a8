//! The numeric scorer: read a number from the output, compare it with `expected`.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::{Observation, Score};

#[derive(Debug)]
pub struct NumericCheck {
    abs_tol: f64,
    rel_tol: f64,
}

fn number_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?").expect("valid pattern")
    })
}

/// The first number in `text`: the whole text if it is one, else the first number-looking
/// token (thousands separators allowed).
pub fn read_number(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    if let Ok(n) = trimmed.parse::<f64>()
        && n.is_finite()
    {
        return Some(n);
    }
    let token = number_pattern().find(trimmed)?.as_str().replace(',', "");
    token.parse::<f64>().ok().filter(|n| n.is_finite())
}

pub fn expected_number(expected: Option<&Value>) -> Result<f64, String> {
    match expected {
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| "expected is not a finite number".into()),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("expected {s:?} is not a number")),
        Some(other) => Err(format!("expected {other} is not a number")),
        None => Err("the case has no expected number".into()),
    }
}

impl NumericCheck {
    pub fn compile(abs_tol: f64, rel_tol: f64) -> Result<NumericCheck, String> {
        if !(abs_tol >= 0.0 && rel_tol >= 0.0) {
            return Err("numeric: abs_tol and rel_tol must be >= 0".into());
        }
        Ok(NumericCheck { abs_tol, rel_tol })
    }

    pub fn score(&self, obs: &Observation<'_>) -> Score {
        let Ok(want) = expected_number(obs.expected) else {
            return Score::fail("no expected number");
        };
        let Some(got) = read_number(obs.output) else {
            return Score::fail("no number in output");
        };
        let diff = (got - want).abs();
        // Floating-point noise must not fail an exact comparison.
        let tolerance = self.abs_tol.max(self.rel_tol * want.abs()).max(1e-9);
        if diff <= tolerance {
            Score::pass(format!("{got} within {tolerance} of {want}"))
        } else {
            Score::fail(format!(
                "{got} differs from {want} by {diff} (tolerance {tolerance})"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_number;
    use crate::score::tests::run;
    use serde_json::json;

    #[test]
    fn reads_numbers_from_prose() {
        assert_eq!(read_number(" 42 "), Some(42.0));
        assert_eq!(read_number("The total is $1,234.50."), Some(1234.5));
        assert_eq!(read_number("-3e2 degrees"), Some(-300.0));
        assert_eq!(read_number("none"), None);
    }

    #[test]
    fn tolerances() {
        assert!(run("type = \"numeric\"", "42", Some(json!(42))).passed);
        assert!(!run("type = \"numeric\"", "43", Some(json!(42))).passed);
        assert!(run("type = \"numeric\"\nabs_tol = 1.0", "43", Some(json!("42"))).passed);
        assert!(
            run(
                "type = \"numeric\"\nrel_tol = 0.1",
                "about 105",
                Some(json!(100))
            )
            .passed
        );
        assert!(!run("type = \"numeric\"", "no idea", Some(json!(1))).passed);
    }
}
