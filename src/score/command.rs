//! `type = "command"`: a program the team already has scores the output. It reads
//! `{"case": {...}, "output": "..."}` as JSON on stdin and prints
//! `{"score": 0..1, "passed": true|false, "reason": "..."}` on stdout. It runs with the
//! command backend's rules: split like a shell would but never through one, in the criteria
//! file's folder, with a timeout; anything but that answer fails the case, never passes it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use wait_timeout::ChildExt;

use super::{Observation, Score, snippet};

/// Characters of the program's stderr or stdout kept in a reason.
const SHOWN_CHARS: usize = 300;
/// Bytes of the program's stdout read: a score is one small JSON object.
const MAX_STDOUT: u64 = 1024 * 1024;

#[derive(Debug)]
pub struct CommandCheck {
    argv: Vec<String>,
    dir: PathBuf,
    timeout: Duration,
}

/// What the program must print.
#[derive(Deserialize)]
struct Answer {
    score: f64,
    passed: bool,
    #[serde(default)]
    reason: String,
}

impl CommandCheck {
    pub fn compile(command: &str, timeout_secs: f64, dir: &Path) -> Result<CommandCheck, String> {
        let argv = shlex::split(command)
            .ok_or_else(|| format!("command {command:?}: unbalanced quotes"))?;
        if argv.is_empty() {
            return Err("command is empty: name the program to run".into());
        }
        if !(timeout_secs.is_finite() && timeout_secs > 0.0) {
            return Err(format!(
                "timeout_secs = {timeout_secs}: use a positive number"
            ));
        }
        Ok(CommandCheck {
            argv,
            dir: dir.to_path_buf(),
            timeout: Duration::from_secs_f64(timeout_secs),
        })
    }

    pub fn score(&self, obs: &Observation<'_>) -> Score {
        match self.run(obs) {
            Ok(answer) => answer,
            Err(reason) => Score::fail(format!("scorer program {}: {reason}", self.argv[0])),
        }
    }

    fn run(&self, obs: &Observation<'_>) -> Result<Score, String> {
        let input = json!({"case": obs.case, "output": obs.output}).to_string();
        let mut child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start: {e}"))?;
        // Written and read on their own threads: a program that answers before reading all
        // of its input, or fills its stderr pipe, must not deadlock the scorer.
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let read_out = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.take(MAX_STDOUT).read_to_end(&mut bytes);
            bytes
        });
        let read_err = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.take(MAX_STDOUT).read_to_end(&mut bytes);
            bytes
        });
        let status = match child.wait_timeout(self.timeout) {
            Ok(Some(status)) => status,
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {:?}", self.timeout));
            }
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        };
        let _ = writer.join();
        let stdout = read_out.join().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&read_err.join().unwrap_or_default()).into_owned();
        let stderr = snippet(stderr.trim(), SHOWN_CHARS);
        if !status.success() {
            let how = match status.code() {
                Some(code) => format!("exited with {code}"),
                None => "was killed by a signal".into(),
            };
            return Err(if stderr.is_empty() {
                how
            } else {
                format!("{how}: {stderr}")
            });
        }
        let text = String::from_utf8_lossy(&stdout);
        let answer: Answer = serde_json::from_str(text.trim()).map_err(|e| {
            format!(
                "printed {:?}, not {{\"score\": 0..1, \"passed\": true|false, \"reason\": \"...\"}} ({e})",
                snippet(text.trim(), SHOWN_CHARS)
            )
        })?;
        if !(0.0..=1.0).contains(&answer.score) {
            return Err(format!("score {} is outside 0..1", answer.score));
        }
        Ok(Score {
            score: answer.score,
            passed: answer.passed,
            reason: answer.reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(script: &str) -> CommandCheck {
        CommandCheck::compile(
            &format!("sh -c {}", shlex::try_quote(script).unwrap()),
            5.0,
            Path::new("."),
        )
        .unwrap()
    }

    fn observe(check: &CommandCheck, output: &str) -> Score {
        let case = json!({"id": "a", "vars": {}, "expected": "x", "tags": []});
        check.score(&Observation {
            output,
            latency_ms: 1,
            expected: None,
            case: Some(&case),
            judge_calls: &[],
        })
    }

    #[test]
    fn the_programs_answer_is_the_score() {
        let echo = check(
            r#"read -r line; case "$line" in *'"output":"good"'*) echo '{"score": 0.75, "passed": true, "reason": "fine"}';; *) echo '{"score": 0, "passed": false}';; esac"#,
        );
        assert_eq!(
            observe(&echo, "good"),
            Score {
                score: 0.75,
                passed: true,
                reason: "fine".into()
            }
        );
        assert!(!observe(&echo, "bad").passed);
    }

    #[test]
    fn anything_but_a_valid_answer_fails_with_the_reason() {
        for (script, needle) in [
            ("echo oops >&2; exit 3", "exited with 3: oops"),
            ("echo not json", "printed \"not json\""),
            (r#"echo '{"score": 2, "passed": true}'"#, "outside 0..1"),
            (r#"echo '{"score": 1}'"#, "missing field `passed`"),
            ("sleep 10", "timed out"),
        ] {
            let mut c = check(script);
            c.timeout = Duration::from_millis(300);
            let score = observe(&c, "x");
            assert!(!score.passed, "{script}");
            assert!(score.reason.contains(needle), "{script}: {}", score.reason);
        }
        let missing = CommandCheck::compile("/nonexistent/scorer", 1.0, Path::new(".")).unwrap();
        assert!(observe(&missing, "x").reason.contains("cannot start"));
        assert!(CommandCheck::compile("'unbalanced", 1.0, Path::new(".")).is_err());
        assert!(CommandCheck::compile("x", 0.0, Path::new(".")).is_err());
    }
}
