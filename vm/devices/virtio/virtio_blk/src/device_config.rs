//! The block device's configuration structure (`struct virtio_blk_config`, §5.2.4).
//! Read-only: no field this device offers is driver-writable.

use crate::spec::SECTOR_SIZE;

/// Bytes of the structure the BAR exposes.
pub const DEVICE_CFG_LEN: u64 = 0x40;

/// The values the device reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, inspect::Inspect)]
pub struct BlkConfig {
    /// Capacity in 512-byte sectors.
    pub capacity: u64,
    /// Maximum segments per request.
    pub seg_max: u32,
    /// Block size reported to the driver.
    pub blk_size: u32,
    /// Number of request queues.
    pub num_queues: u16,
}

impl BlkConfig {
    /// The configuration of a disk of `len_bytes` with `num_queues` queues of
    /// `queue_size` entries.
    pub fn new(len_bytes: u64, num_queues: u16, queue_size: u16) -> Self {
        Self {
            capacity: len_bytes / SECTOR_SIZE,
            // A request needs a header and a status descriptor besides its data.
            seg_max: u32::from(queue_size.saturating_sub(2).max(1)),
            blk_size: SECTOR_SIZE as u32,
            num_queues,
        }
    }

    fn image(&self) -> [u8; DEVICE_CFG_LEN as usize] {
        let mut b = [0u8; DEVICE_CFG_LEN as usize];
        b[0..8].copy_from_slice(&self.capacity.to_le_bytes());
        // size_max (8) is not offered; seg_max at 12.
        b[12..16].copy_from_slice(&self.seg_max.to_le_bytes());
        // geometry (16) not offered; blk_size at 20.
        b[20..24].copy_from_slice(&self.blk_size.to_le_bytes());
        // topology (24..32), writeback (32): not offered; num_queues at 34.
        b[34..36].copy_from_slice(&self.num_queues.to_le_bytes());
        b
    }

    /// Guest read at `offset` (any width; bytes past the structure read 0).
    pub fn read(&self, offset: u64, data: &mut [u8]) {
        let image = self.image();
        for (i, d) in data.iter_mut().enumerate() {
            *d = offset
                .checked_add(i as u64)
                .and_then(|at| image.get(usize::try_from(at).ok()?))
                .copied()
                .unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let c = BlkConfig::new(1 << 30 | 100, 4, 256);
        let mut b = [0u8; 8];
        c.read(0, &mut b);
        assert_eq!(u64::from_le_bytes(b), 1 << 21);
        let mut w = [0u8; 4];
        c.read(12, &mut w);
        assert_eq!(u32::from_le_bytes(w), 254);
        c.read(20, &mut w);
        assert_eq!(u32::from_le_bytes(w), 512);
        let mut h = [0u8; 2];
        c.read(34, &mut h);
        assert_eq!(u16::from_le_bytes(h), 4);
        c.read(0x3f, &mut w);
        assert_eq!(w, [0; 4]);
        c.read(u64::MAX, &mut w);
        assert_eq!(w, [0; 4]);
    }
}
