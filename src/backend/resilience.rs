//! Retries with exponential backoff and jitter, a per-attempt timeout, and a
//! requests-per-minute pace shared by every worker. promptgate owns retries so each call's
//! `attempts` is counted, never hidden inside a client library.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{Backend, CallError, Request, Response};

/// How failed attempts are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry; doubles with each further one.
    pub base_delay: Duration,
    /// No single wait is longer, even when the server's Retry-After asks for more.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): the server's Retry-After when it
    /// sent one, else exponential backoff; plus up to 50% random jitter so that many
    /// workers hit by the same 429 do not return in lockstep.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)));
        let wait = retry_after.unwrap_or(backoff).min(self.max_delay);
        let jitter = wait.mul_f64(fastrand::f64() * 0.5);
        (wait + jitter).min(self.max_delay)
    }
}

/// Spaces request starts evenly at `rpm` per minute across all workers.
pub struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl RateLimiter {
    pub fn per_minute(rpm: u32) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs(60) / rpm.max(1),
            next_slot: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// Everything that wraps a single backend call.
pub struct CallPolicy {
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub limiter: Option<RateLimiter>,
}

/// The end of one call after its retries.
pub struct Attempted {
    pub result: Result<Response, String>,
    pub attempts: u32,
    /// Duration of the last attempt: the one whose answer (or failure) is recorded.
    pub latency: Duration,
}

impl CallPolicy {
    /// Calls the backend until it answers, fails for good, or retries run out. Input errors
    /// stop at once: they are the user's to fix and no retry changes them. `on_retry` hears
    /// of each failed attempt that will be retried: (attempt, reason, delay).
    pub async fn call(
        &self,
        backend: &Backend,
        request: &Request<'_>,
        on_retry: &mut (dyn FnMut(u32, &str, Duration) + Send),
    ) -> Result<Attempted, crate::error::Error> {
        let mut attempts = 0;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.acquire().await;
            }
            attempts += 1;
            let started = Instant::now();
            let outcome = match tokio::time::timeout(self.timeout, backend.complete(request)).await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(CallError::transient(format!(
                    "timed out after {}",
                    humantime::format_duration(self.timeout)
                ))),
            };
            let latency = started.elapsed();
            let (reason, retry_after) = match outcome {
                Ok(response) => {
                    return Ok(Attempted {
                        result: Ok(response),
                        attempts,
                        latency,
                    });
                }
                Err(CallError::Input(error)) => return Err(error),
                Err(CallError::Permanent { reason }) => {
                    return Ok(Attempted {
                        result: Err(reason),
                        attempts,
                        latency,
                    });
                }
                Err(CallError::Transient {
                    reason,
                    retry_after,
                }) => (reason, retry_after),
            };
            let retry = attempts - 1;
            if retry >= self.retry.max_retries {
                let reason = if attempts > 1 {
                    format!("{reason} (after {attempts} attempts)")
                } else {
                    reason
                };
                return Ok(Attempted {
                    result: Err(reason),
                    attempts,
                    latency,
                });
            }
            let delay = self.retry.delay(retry, retry_after);
            on_retry(attempts, &reason, delay);
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_honours_retry_after_and_stays_capped() {
        let policy = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        };
        for retry in 0..4 {
            let base = Duration::from_millis(100 * 2u64.pow(retry));
            let d = policy.delay(retry, None);
            assert!(d >= base && d <= base.mul_f64(1.5), "{retry}: {d:?}");
        }
        let d = policy.delay(0, Some(Duration::from_secs(1)));
        assert!(
            d >= Duration::from_secs(1) && d <= Duration::from_millis(1500),
            "{d:?}"
        );
        assert_eq!(policy.delay(30, None), Duration::from_secs(2));
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(600))),
            Duration::from_secs(2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_spaces_requests() {
        let limiter = RateLimiter::per_minute(600);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }
}
