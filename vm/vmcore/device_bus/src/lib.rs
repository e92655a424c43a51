//! Port I/O and MMIO dispatch: devices claim ranges, vCPU exits are routed to them.

#![forbid(unsafe_code)]

use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A device that answers accesses within the range it was registered for.
///
/// `offset` is relative to the start of that range. Accesses a device does not
/// implement read as all-ones and ignore writes.
pub trait BusDevice: Send + Sync {
    /// Handles a read of `data.len()` bytes at `offset`.
    fn read(&self, offset: u64, data: &mut [u8]);
    /// Handles a write of `data` at `offset`.
    fn write(&self, offset: u64, data: &[u8]);
}

/// Error registering a range.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The range overlaps one already registered.
    #[error("range {start:#x}+{len:#x} overlaps an existing device")]
    Overlap {
        /// Start of the rejected range.
        start: u64,
        /// Length of the rejected range.
        len: u64,
    },
    /// Zero-length or overflowing range.
    #[error("invalid range {start:#x}+{len:#x}")]
    InvalidRange {
        /// Start of the rejected range.
        start: u64,
        /// Length of the rejected range.
        len: u64,
    },
}

#[derive(Clone)]
struct Entry {
    len: u64,
    name: &'static str,
    device: Arc<dyn BusDevice>,
}

/// A set of non-overlapping ranges, each served by one device.
#[derive(Default)]
pub struct Bus {
    ranges: RwLock<BTreeMap<u64, Entry>>,
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `device` for `[start, start + len)`.
    pub fn insert(
        &self,
        name: &'static str,
        start: u64,
        len: u64,
        device: Arc<dyn BusDevice>,
    ) -> Result<(), BusError> {
        let end = start
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or(BusError::InvalidRange { start, len })?;
        let mut ranges = self.ranges.write();
        if let Some((&s, e)) = ranges.range(..end).next_back() {
            if s + e.len > start {
                return Err(BusError::Overlap { start, len });
            }
        }
        ranges.insert(start, Entry { len, name, device });
        Ok(())
    }

    /// Removes the device registered at exactly `start`.
    pub fn remove(&self, start: u64) -> bool {
        self.ranges.write().remove(&start).is_some()
    }

    fn find(&self, addr: u64, len: usize) -> Option<(u64, Entry)> {
        let ranges = self.ranges.read();
        let (&start, entry) = ranges.range(..=addr).next_back()?;
        let end = start + entry.len;
        let access_end = addr.checked_add(len as u64)?;
        (access_end <= end).then(|| (start, entry.clone()))
    }

    /// Dispatches a read; returns false (and fills all-ones) if no device claims it.
    pub fn read(&self, addr: u64, data: &mut [u8]) -> bool {
        match self.find(addr, data.len()) {
            Some((start, entry)) => {
                entry.device.read(addr - start, data);
                true
            }
            None => {
                data.fill(0xff);
                false
            }
        }
    }

    /// Dispatches a write; returns false if no device claims it.
    pub fn write(&self, addr: u64, data: &[u8]) -> bool {
        match self.find(addr, data.len()) {
            Some((start, entry)) => {
                entry.device.write(addr - start, data);
                true
            }
            None => false,
        }
    }

    /// Names and ranges of registered devices.
    pub fn devices(&self) -> Vec<(&'static str, u64, u64)> {
        self.ranges
            .read()
            .iter()
            .map(|(&s, e)| (e.name, s, e.len))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(u64, Vec<u8>)>>);

    impl BusDevice for Recorder {
        fn read(&self, offset: u64, data: &mut [u8]) {
            data.fill(offset as u8);
        }
        fn write(&self, offset: u64, data: &[u8]) {
            self.0.lock().push((offset, data.to_vec()));
        }
    }

    #[test]
    fn dispatch_and_overlap() {
        let bus = Bus::new();
        let dev = Arc::new(Recorder::default());
        bus.insert("a", 0x3f8, 8, dev.clone()).unwrap();
        assert!(bus.insert("b", 0x3fc, 8, dev.clone()).is_err());
        assert!(bus.insert("c", 0x3f0, 9, dev.clone()).is_err());
        bus.insert("d", 0x400, 1, dev.clone()).unwrap();
        let mut b = [0u8; 1];
        assert!(bus.read(0x3fa, &mut b));
        assert_eq!(b, [2]);
        assert!(bus.write(0x3ff, &[7]));
        assert_eq!(dev.0.lock()[0], (7, vec![7]));
        // Straddling the end of a range is not claimed.
        let mut w = [0u8; 2];
        assert!(!bus.read(0x3ff, &mut w));
        assert_eq!(w, [0xff, 0xff]);
        assert!(!bus.read(u64::MAX, &mut w));
        assert!(bus.insert("e", u64::MAX, 2, dev).is_err());
    }
}
