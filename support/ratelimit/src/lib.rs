//! Rate limiting for guest-triggerable log lines: a guest that provokes the same
//! warning in a loop must not flood the host's logs.

#![forbid(unsafe_code)]

use std::time::Duration;
use std::time::Instant;

/// Allows up to `burst` messages per second and counts the rest.
#[derive(Debug, inspect::Inspect)]
pub struct RateLimit {
    #[inspect(skip)]
    window_start: Option<Instant>,
    in_window: u32,
    burst: u32,
    /// Messages suppressed so far.
    pub suppressed: u64,
}

impl RateLimit {
    /// A limiter allowing `burst` messages per second.
    pub const fn per_second(burst: u32) -> Self {
        Self {
            window_start: None,
            in_window: 0,
            burst,
            suppressed: 0,
        }
    }

    /// Whether a message may be logged now (counts it either way).
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < Duration::from_secs(1) => {}
            _ => {
                self.window_start = Some(now);
                self.in_window = 0;
            }
        }
        if self.in_window < self.burst {
            self.in_window += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_bursts() {
        let mut r = RateLimit::per_second(4);
        assert_eq!((0..50).filter(|_| r.allow()).count(), 4);
        assert_eq!(r.suppressed, 46);
    }
}
