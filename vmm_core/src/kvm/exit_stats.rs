//! Counts of vCPU exits to userspace by kind: how the VMM proves a path stays in the
//! kernel (an MSI-X interrupt on irqfd, a doorbell on ioeventfd adds none).

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;

/// Exit counters shared by all vCPUs.
#[derive(Debug, Default)]
pub struct ExitStats {
    /// Port reads.
    pub pio_read: AtomicU64,
    /// Port writes.
    pub pio_write: AtomicU64,
    /// MMIO reads.
    pub mmio_read: AtomicU64,
    /// MMIO writes.
    pub mmio_write: AtomicU64,
    /// IOAPIC EOIs (split irqchip).
    pub ioapic_eoi: AtomicU64,
    /// Everything else (shutdown, system events, interrupted runs).
    pub other: AtomicU64,
}

impl ExitStats {
    /// Adds one to `counter`.
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Total exits to userspace.
    pub fn total(&self) -> u64 {
        [
            &self.pio_read,
            &self.pio_write,
            &self.mmio_read,
            &self.mmio_write,
            &self.ioapic_eoi,
            &self.other,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    /// One line for logs: `exits total=N pio_read=N ...`.
    pub fn summary(&self) -> String {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "exits total={} pio_read={} pio_write={} mmio_read={} mmio_write={} ioapic_eoi={} other={}",
            self.total(),
            l(&self.pio_read),
            l(&self.pio_write),
            l(&self.mmio_read),
            l(&self.mmio_write),
            l(&self.ioapic_eoi),
            l(&self.other)
        )
    }
}
