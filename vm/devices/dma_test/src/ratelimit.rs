//! Rate limiting for guest-triggerable log lines.

use std::time::Duration;
use std::time::Instant;

/// Allows up to `burst` messages per `period`; counts what it suppresses.
#[derive(Debug)]
pub(crate) struct RateLimit {
    window_start: Option<Instant>,
    in_window: u32,
    burst: u32,
    period: Duration,
    /// Messages suppressed so far.
    pub suppressed: u64,
}

impl RateLimit {
    /// Up to `burst` messages per second.
    pub const fn per_second(burst: u32) -> Self {
        Self {
            window_start: None,
            in_window: 0,
            burst,
            period: Duration::from_secs(1),
            suppressed: 0,
        }
    }

    /// Whether a message may be logged now.
    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < self.period => {}
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
        let mut r = RateLimit::per_second(3);
        let allowed = (0..100).filter(|_| r.allow()).count();
        assert_eq!(allowed, 3);
        assert_eq!(r.suppressed, 97);
    }
}
