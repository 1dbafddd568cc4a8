//! Prices per token, read from a price file in LiteLLM's
//! `model_prices_and_context_window.json` format, pinned by `[cost] sha256`.

use std::collections::HashMap;
use std::path::Path;

use crate::digest;
use crate::error::{self, Error, Location, Result};

/// USD per token of one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

/// The models a price file prices, and the file's sha256.
#[derive(Debug, Clone)]
pub struct Prices {
    pub hash: String,
    pub models: HashMap<String, Price>,
}

impl Prices {
    /// Reads the price file at `path` and checks it against the pin `sha256`.
    pub fn load(path: &Path, sha256: &str, criteria: &Path) -> Result<Prices> {
        let bytes = error::read_bytes(path)?;
        let hash = digest::sha256_id(&bytes);
        if hash != sha256 {
            return Err(Error::input(
                Location::file(path),
                format!(
                    "price file hash does not match the {sha256} pinned by [cost] sha256 in {}: \
                     the price file changed since the criteria were written; its sha256 is now {hash}. \
                     If the change is intended, set [cost] sha256 = \"{hash}\" in {}",
                    criteria.display(),
                    criteria.display()
                ),
            ));
        }
        let text = error::text_from_bytes(path, bytes)?;
        let models = parse(&text).map_err(|e| Error::input(Location::file(path), e))?;
        Ok(Prices { hash, models })
    }

    /// The cost of one call of `model`.
    pub fn call_cost(
        &self,
        model: &str,
        tokens_in: Option<u64>,
        tokens_out: Option<u64>,
    ) -> std::result::Result<f64, String> {
        let (Some(tokens_in), Some(tokens_out)) = (tokens_in, tokens_out) else {
            return Err(format!("a call of model {model:?} has no token counts"));
        };
        let price = self
            .models
            .get(model)
            .ok_or_else(|| format!("model {model:?} has no price in the price file"))?;
        Ok(tokens_in as f64 * price.input + tokens_out as f64 * price.output)
    }
}

/// Parses a LiteLLM price file: an object keyed by model name, each entry with
/// `input_cost_per_token` and `output_cost_per_token` (other keys, and entries without
/// both prices such as `sample_spec`, are ignored).
pub fn parse(text: &str) -> std::result::Result<HashMap<String, Price>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("price file is not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or("price file must be a JSON object keyed by model name")?;
    let mut models = HashMap::new();
    for (name, entry) in object {
        if name == "sample_spec" {
            continue;
        }
        let cost = |key: &str| entry.get(key).and_then(serde_json::Value::as_f64);
        if let (Some(input), Some(output)) =
            (cost("input_cost_per_token"), cost("output_cost_per_token"))
        {
            if !(input.is_finite() && output.is_finite() && input >= 0.0 && output >= 0.0) {
                return Err(format!(
                    "model {name:?}: prices must be finite and not negative"
                ));
            }
            models.insert(name.clone(), Price { input, output });
        }
    }
    Ok(models)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
        "sample_spec": {"input_cost_per_token": 0, "output_cost_per_token": 0, "max_tokens": "LEGACY"},
        "gpt-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "mode": "chat", "max_tokens": 8192},
        "embed-only": {"input_cost_per_token": 1e-7, "mode": "embedding"}
    }"#;

    fn prices() -> Prices {
        Prices {
            hash: String::new(),
            models: parse(FILE).unwrap(),
        }
    }

    #[test]
    fn price_file_parses_litellm_entries_and_ignores_the_rest() {
        let models = parse(FILE).unwrap();
        assert_eq!(models.len(), 1);
        assert_eq!(
            models["gpt-x"],
            Price {
                input: 1e-6,
                output: 2e-6
            }
        );
        assert!(parse("[1]").is_err());
        assert!(parse("nope").is_err());
        assert!(
            parse(r#"{"m": {"input_cost_per_token": -1, "output_cost_per_token": 1}}"#).is_err()
        );
    }

    #[test]
    fn call_cost_is_tokens_times_prices() {
        let cost = prices().call_cost("gpt-x", Some(1000), Some(500)).unwrap();
        assert!((cost - (1000.0 * 1e-6 + 500.0 * 2e-6)).abs() < 1e-15);
    }

    #[test]
    fn call_cost_fails_closed() {
        let p = prices();
        assert!(
            p.call_cost("unknown", Some(1), Some(1))
                .unwrap_err()
                .contains("no price")
        );
        assert!(p.call_cost("embed-only", Some(1), Some(1)).is_err());
        assert!(
            p.call_cost("gpt-x", None, Some(1))
                .unwrap_err()
                .contains("token counts")
        );
        assert!(p.call_cost("gpt-x", Some(1), None).is_err());
    }
}
