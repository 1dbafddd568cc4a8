//! The response cache: content-addressed files under `.promptgate/cache/` beside
//! promptgate.toml. The key covers everything that decides an answer (backend, endpoint,
//! model settings, rendered messages, repeat index), so a hit is the answer the same call
//! would get. Entries are written to a temporary file and renamed into place, so concurrent
//! runs sharing a cache never see half an entry.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::backend::Response;
use crate::digest;
use crate::prompt::{Message, ModelSettings};

pub const DIR: &str = ".promptgate/cache";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub output: String,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub model: String,
    /// The original call's latency, so latency gates judge a cached run as they did live.
    pub latency_ms: u64,
}

impl Entry {
    pub fn response(self) -> (Response, u64) {
        (
            Response {
                output: self.output,
                tokens_in: self.tokens_in,
                tokens_out: self.tokens_out,
                model: self.model,
            },
            self.latency_ms,
        )
    }
}

pub struct Cache {
    dir: PathBuf,
    warned: AtomicBool,
}

/// What identifies a backend for caching: its kind and where it sends requests.
pub struct BackendKey<'a> {
    pub kind: &'a str,
    pub endpoint: Option<&'a str>,
    pub command: Option<&'a str>,
}

impl Cache {
    pub fn new(project_root: &Path) -> Cache {
        Cache {
            dir: project_root.join(DIR),
            warned: AtomicBool::new(false),
        }
    }

    pub fn key(
        backend: &BackendKey<'_>,
        model: &ModelSettings,
        messages: &[Message],
        repeat: u32,
    ) -> String {
        let canonical = digest::canonical_json(&json!({
            "backend": backend.kind,
            "endpoint": backend.endpoint,
            "command": backend.command,
            "model": model,
            "messages": messages,
            "repeat": repeat,
        }));
        digest::sha256_id(canonical.as_bytes())
    }

    /// The key of a judge call: the judge backend, the judge prompt's version, its model
    /// settings, the rendered judge request (rubric and candidate output included) and the
    /// repeat index, so each repeat gets its own judgement. Never equal to a candidate key.
    pub fn judge_key(
        backend: &BackendKey<'_>,
        judge_version: &str,
        model: &ModelSettings,
        messages: &[Message],
        repeat: u32,
    ) -> String {
        let canonical = digest::canonical_json(&json!({
            "judge": judge_version,
            "backend": backend.kind,
            "endpoint": backend.endpoint,
            "command": backend.command,
            "model": model,
            "messages": messages,
            "repeat": repeat,
        }));
        digest::sha256_id(canonical.as_bytes())
    }

    fn path(&self, key: &str) -> PathBuf {
        let hex = key.strip_prefix("sha256:").unwrap_or(key);
        self.dir.join(&hex[..2]).join(format!("{}.json", &hex[2..]))
    }

    /// The cached answer, if a readable entry exists; a damaged entry is a miss.
    pub fn get(&self, key: &str) -> Option<Entry> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores an answer. A cache that cannot be written slows later runs but does not
    /// change this one's results, so it warns once instead of failing the run.
    pub fn put(&self, key: &str, entry: &Entry) {
        if let Err(e) = self.try_put(key, entry)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            crate::interrupt::note(format_args!(
                "promptgate: warning: cannot write the response cache in {}: {e}",
                self.dir.display()
            ));
        }
    }

    fn try_put(&self, key: &str, entry: &Entry) -> std::io::Result<()> {
        let path = self.path(key);
        let shard = path.parent().expect("entries live in a shard folder");
        std::fs::create_dir_all(shard)?;
        let tmp = shard.join(format!(
            ".{}.{}-{:08x}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::write(&tmp, serde_json::to_vec(entry).expect("entries serialize"))?;
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::Role;

    fn model(temperature: f64) -> ModelSettings {
        ModelSettings {
            name: "m".into(),
            temperature: Some(temperature),
            top_p: None,
            max_tokens: None,
            seed: None,
            stop: None,
        }
    }

    #[test]
    fn round_trips_and_keys_on_everything_that_decides_an_answer() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let backend = BackendKey {
            kind: "openai",
            endpoint: Some("http://a/v1"),
            command: None,
        };
        let messages = vec![Message {
            role: Role::User,
            content: "hi".into(),
        }];
        let key = Cache::key(&backend, &model(0.0), &messages, 0);
        assert!(cache.get(&key).is_none());
        let entry = Entry {
            output: "hello".into(),
            tokens_in: Some(1),
            tokens_out: Some(1),
            model: "m".into(),
            latency_ms: 12,
        };
        cache.put(&key, &entry);
        assert_eq!(cache.get(&key), Some(entry));
        let other_endpoint = BackendKey {
            endpoint: Some("http://b/v1"),
            ..backend
        };
        for other in [
            Cache::key(&backend, &model(0.5), &messages, 0),
            Cache::key(&backend, &model(0.0), &messages, 1),
            Cache::key(&other_endpoint, &model(0.0), &messages, 0),
        ] {
            assert_ne!(other, key);
        }
    }

    #[test]
    fn a_damaged_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = digest::sha256_id(b"x");
        let path = cache.path(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{\"output\": ").unwrap();
        assert!(cache.get(&key).is_none());
    }
}
