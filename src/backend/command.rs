//! The `command` backend: any program that reads a JSON request on stdin and writes
//! `{"output": "...", "tokens_in": N, "tokens_out": N}` on stdout. One process per call,
//! started directly from its argv: no shell ever sees the prompt or the model's output.

use std::path::PathBuf;
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{CallError, Request, Response};
use crate::error::Error;
use crate::prompt::{Message, ModelSettings};

/// Characters of the program's stderr kept in a failure reason.
const STDERR_CHARS: usize = 500;

pub struct CommandBackend {
    argv: Vec<String>,
    /// The folder the program runs in: the project root, so relative paths in the command
    /// mean the same wherever promptgate is started.
    working_dir: PathBuf,
}

#[derive(Serialize)]
struct CommandRequest<'a> {
    prompt_id: &'a str,
    prompt_version: &'a str,
    model: &'a ModelSettings,
    messages: &'a [Message],
    case_id: &'a str,
    repeat: u32,
}

#[derive(Deserialize)]
struct CommandResponse {
    output: String,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    model: Option<String>,
}

impl CommandBackend {
    /// Splits `command` with POSIX shell quoting rules (without running a shell).
    pub fn new(command: &str, working_dir: PathBuf) -> Result<CommandBackend, Error> {
        let argv = shlex::split(command)
            .ok_or_else(|| Error::usage(format!("--command {command:?}: unbalanced quotes")))?;
        if argv.is_empty() {
            return Err(Error::usage("--command is empty: name the program to run"));
        }
        Ok(CommandBackend { argv, working_dir })
    }

    pub fn command_line(&self) -> String {
        shlex::try_join(self.argv.iter().map(String::as_str))
            .unwrap_or_else(|_| self.argv.join(" "))
    }

    pub async fn complete(&self, request: &Request<'_>) -> Result<Response, CallError> {
        let body = serde_json::to_vec(&CommandRequest {
            prompt_id: request.prompt_id,
            prompt_version: request.prompt_version,
            model: request.model,
            messages: request.messages,
            case_id: request.case_id,
            repeat: request.repeat,
        })
        .expect("requests serialize");
        let mut child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .current_dir(&self.working_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A timed-out call drops this future: the program must not outlive it.
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                let message = match e.kind() {
                    std::io::ErrorKind::NotFound => "program not found".to_string(),
                    std::io::ErrorKind::PermissionDenied => "program is not executable".to_string(),
                    _ => format!("cannot start: {e}"),
                };
                CallError::Input(Error::usage(format!(
                    "--command {}: {message}",
                    self.argv[0]
                )))
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A program that exits without reading its input is judged by its exit status.
            let _ = stdin.write_all(&body).await;
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| CallError::transient(format!("command failed: {e}")))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = crate::score::snippet(stderr.trim(), STDERR_CHARS);
        if !output.status.success() {
            let status = match output.status.code() {
                Some(code) => format!("exit status {code}"),
                None => "killed by a signal".to_string(),
            };
            return Err(CallError::transient(if stderr.is_empty() {
                format!("command {status}")
            } else {
                format!("command {status}: {stderr}")
            }));
        }
        let response: CommandResponse = serde_json::from_slice(&output.stdout).map_err(|e| {
            CallError::transient(format!(
                "command printed no valid response JSON ({e}){}",
                if stderr.is_empty() {
                    String::new()
                } else {
                    format!(": {stderr}")
                }
            ))
        })?;
        Ok(Response {
            output: response.output,
            tokens_in: response.tokens_in,
            tokens_out: response.tokens_out,
            model: response.model.unwrap_or_else(|| request.model.name.clone()),
        })
    }
}
