//! The ISR status byte (§4.1.4.5): read-to-clear interrupt causes.

use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering;

/// A used buffer notification.
pub const ISR_QUEUE: u8 = 1;
/// A configuration change (DEVICE_NEEDS_RESET is announced this way).
pub const ISR_CONFIG: u8 = 2;

/// The ISR status register.
#[derive(Debug, Default)]
pub struct Isr(AtomicU8);

impl Isr {
    /// Sets cause bits.
    pub fn raise(&self, bits: u8) {
        self.0.fetch_or(bits, Ordering::SeqCst);
    }

    /// The guest's read: returns the causes and clears them.
    pub fn read_clear(&self) -> u8 {
        self.0.swap(0, Ordering::SeqCst)
    }

    /// The causes, without clearing (for inspection).
    pub fn peek(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }

    /// Clears everything (device reset).
    pub fn clear(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

impl inspect::Inspect for Isr {
    fn inspect(&self, node: &mut inspect::Node) {
        node.set_value(format!("{:#x}", self.peek()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_clears() {
        let isr = Isr::default();
        isr.raise(ISR_QUEUE);
        isr.raise(ISR_CONFIG);
        assert_eq!(isr.read_clear(), 3);
        assert_eq!(isr.read_clear(), 0);
    }
}
