//! How a running VM ends: the first power-off, reset or fatal error wins and wakes
//! whoever waits for it.

use parking_lot::Condvar;
use parking_lot::Mutex;

/// Why the VM stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitReason {
    /// The guest powered off.
    PowerOff,
    /// The guest reset (reboot or triple fault).
    Reset,
    /// The VMM could not continue.
    Error(String),
}

/// The VM's end, reported once.
#[derive(Default)]
pub struct VmControl {
    reason: Mutex<Option<ExitReason>>,
    cv: Condvar,
}

impl VmControl {
    /// A running VM.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends the VM with `reason` unless it already ended.
    pub fn request(&self, reason: ExitReason) {
        let mut r = self.reason.lock();
        if r.is_none() {
            tracing::debug!(?reason, "VM ending");
            *r = Some(reason);
            self.cv.notify_all();
        }
    }

    /// Whether the VM ended.
    pub fn ended(&self) -> bool {
        self.reason.lock().is_some()
    }

    /// Blocks until the VM ends.
    pub fn wait(&self) -> ExitReason {
        let mut r = self.reason.lock();
        loop {
            if let Some(reason) = r.clone() {
                return reason;
            }
            self.cv.wait(&mut r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins() {
        let c = VmControl::new();
        assert!(!c.ended());
        c.request(ExitReason::Reset);
        c.request(ExitReason::PowerOff);
        assert_eq!(c.wait(), ExitReason::Reset);
    }
}
