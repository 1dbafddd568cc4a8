//! Strict minijinja templates: a variable the case lacks is an error, never an empty string.

use minijinja::{Environment, UndefinedBehavior};

/// The template context for a case's variables.
pub fn context(vars: &impl serde::Serialize) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(vars))
}

/// A set of named templates compiled once and rendered many times.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        // Prompts are plain text: no HTML escaping whatever the template name.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        Templates { env }
    }

    /// Compiles `source` under `name`; the error is a one-line description.
    pub fn add(&mut self, name: String, source: String) -> Result<(), String> {
        self.env
            .add_template_owned(name, source)
            .map_err(|e| describe(&e))
    }

    /// Top-level variables the template reads that it neither defines nor gets from the
    /// environment's globals (such as `range`); with `nested`, the attribute paths read
    /// from them too (`user.name`).
    pub fn variables(&self, name: &str, nested: bool) -> Vec<String> {
        let mut vars: Vec<String> = self
            .env
            .get_template(name)
            .map(|t| t.undeclared_variables(nested).into_iter().collect())
            .unwrap_or_default();
        vars.retain(|v| {
            let top = v.split('.').next().unwrap_or(v);
            !self.env.globals().any(|(global, _)| global == top)
        });
        vars.sort();
        vars
    }

    pub fn render(&self, name: &str, vars: &minijinja::Value) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| describe(&e))?;
        template.render(vars).map_err(|e| {
            if e.kind() == minijinja::ErrorKind::UndefinedError {
                let missing: Vec<String> = self
                    .variables(name, false)
                    .into_iter()
                    .filter(|v| vars.get_attr(v).map_or(true, |value| value.is_undefined()))
                    .collect();
                if !missing.is_empty() {
                    return format!("undefined variable {}", missing.join(", "));
                }
            }
            describe(&e)
        })
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// minijinja's `Display` names the template and line; keep only the sentence a user acts on.
fn describe(err: &minijinja::Error) -> String {
    let mut message = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    if let Some(line) = err.line() {
        message.push_str(&format!(" (template line {line})"));
    }
    message
}
