//! End-to-end tests: every test runs the real `promptgate` binary in a scratch project.
//!
//! `support` holds the fluent harness (`Test`, `Output`, `RunDir`); the other modules
//! each cover one part of the contract in /work/shared/design.md.

mod support;

mod command_backend;
mod command_scorer;
mod compare;
mod cost;
mod csv_sets;
mod defaults;
mod demo;
mod fail_closed;
mod gates;
mod github;
mod golden;
mod governance;
mod hash;
mod hostile;
mod inputs;
mod judge;
mod litellm;
mod messages;
mod openai_backend;
mod rejudge;
mod robustness;
mod run_dir;
mod scorers;
mod shards;
mod tampering;
