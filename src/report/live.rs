//! The live display of a run on stderr: a progress bar on a terminal, a plain line every
//! few seconds otherwise (CI logs), and the messages a person needs while it runs (an
//! interrupt, retries). A sink of the runner's events.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::Result;
use crate::run::events::{RunEvent, RunSink};

const PLAIN_EVERY: Duration = Duration::from_secs(5);

enum Progress {
    Hidden,
    Bar(ProgressBar),
    Plain {
        total: usize,
        done: usize,
        failing: usize,
        retries: usize,
        started: Instant,
        last: Instant,
    },
}

impl Progress {
    fn new(enabled: bool, total: usize) -> Progress {
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
                retries: 0,
                started: now,
                last: now,
            }
        }
    }

    fn call_finished(&mut self, failing: usize, retries: usize) {
        match self {
            Progress::Hidden => {}
            Progress::Bar(bar) => {
                bar.inc(1);
                bar.set_message(status_text(failing, retries));
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
    fn tick(&mut self) {
        if let Progress::Plain {
            total,
            done,
            failing,
            retries,
            started,
            last,
        } = self
            && last.elapsed() >= PLAIN_EVERY
        {
            *last = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            crate::interrupt::note(format_args!(
                "promptgate: {done}/{total} calls ({:.0}%), {}, {:.1} calls/s",
                100.0 * *done as f64 / (*total).max(1) as f64,
                status_text(*failing, *retries),
                *done as f64 / secs.max(1e-9)
            ));
        }
    }

    fn finish(&mut self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn status_text(failing: usize, retries: usize) -> String {
    match retries {
        0 => format!("{failing} failing"),
        1 => format!("{failing} failing, 1 retry"),
        n => format!("{failing} failing, {n} retries"),
    }
}

/// The run as a person at a terminal (or reading a CI log) follows it.
pub struct LiveDisplay {
    show_progress: bool,
    progress: Progress,
    retries: usize,
}

impl LiveDisplay {
    pub fn new(show_progress: bool) -> LiveDisplay {
        LiveDisplay {
            show_progress,
            progress: Progress::Hidden,
            retries: 0,
        }
    }
}

impl RunSink for LiveDisplay {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<()> {
        match event {
            RunEvent::Started { owed, .. } => {
                self.progress = Progress::new(self.show_progress, *owed);
            }
            RunEvent::Retrying { .. } => {
                self.retries += 1;
                if let Progress::Plain { retries, .. } = &mut self.progress {
                    *retries = self.retries;
                }
            }
            RunEvent::CallFinished { failing, .. } => {
                self.progress.call_finished(*failing, self.retries);
            }
            RunEvent::Tick => self.progress.tick(),
            RunEvent::Interrupted { grace } => {
                self.progress.finish();
                crate::interrupt::note(format_args!(
                    "promptgate: interrupted; waiting up to {}s for calls in flight",
                    grace.as_secs()
                ));
            }
            RunEvent::Finished { .. } => self.progress.finish(),
            RunEvent::Drained => {}
        }
        Ok(())
    }
}
