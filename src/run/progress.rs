//! Progress: a bar on a terminal, a plain line every few seconds otherwise (CI logs).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub enum Progress {
    Hidden,
    Bar(ProgressBar),
    Plain {
        total: usize,
        done: usize,
        failing: usize,
        started: Instant,
        last: Instant,
    },
}

impl Progress {
    pub fn new(enabled: bool, total: usize) -> Progress {
        if !enabled {
            return Progress::Hidden;
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} calls, {msg} ({per_sec}, eta {eta})",
                )
                .expect("valid progress template"),
            );
            bar.set_message("0 failing");
            Progress::Bar(bar)
        } else {
            let now = Instant::now();
            Progress::Plain {
                total,
                done: 0,
                failing: 0,
                started: now,
                last: now,
            }
        }
    }

    pub fn call_finished(&mut self, failing: usize) {
        match self {
            Progress::Hidden => {}
            Progress::Bar(bar) => {
                bar.inc(1);
                bar.set_message(format!("{failing} failing"));
            }
            Progress::Plain {
                done, failing: f, ..
            } => {
                *done += 1;
                *f = failing;
                self.tick();
            }
        }
    }

    /// Prints the plain line when it is due; called on results and on a timer.
    pub fn tick(&mut self) {
        if let Progress::Plain {
            total,
            done,
            failing,
            started,
            last,
        } = self
            && last.elapsed() >= PLAIN_EVERY
        {
            *last = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            crate::interrupt::note(format_args!(
                "promptgate: {done}/{total} calls ({:.0}%), {failing} failing, {:.1} calls/s",
                100.0 * *done as f64 / (*total).max(1) as f64,
                *done as f64 / secs.max(1e-9)
            ));
        }
    }

    pub fn finish(&mut self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
