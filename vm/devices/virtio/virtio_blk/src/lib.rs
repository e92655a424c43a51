//! virtio-blk over the virtio 1.2 modern PCI transport (§4.1, §5.2).
//!
//! A PCI Express endpoint `1af4:1042` (revision 1, class 0x018000) with one 64-bit
//! BAR holding the common configuration, ISR, device configuration, one notification
//! doorbell per queue and the MSI-X table and PBA (see [`layout`]). It offers
//! VIRTIO_F_VERSION_1, VIRTIO_F_ACCESS_PLATFORM (so a Linux guest uses the DMA API and
//! therefore the IOMMU), VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_BLK_F_FLUSH, SEG_MAX,
//! BLK_SIZE, MQ (more than one queue) and RO (read-only backends), and serves IN, OUT,
//! FLUSH and GET_ID from a raw file with positional I/O.
//!
//! Every guest-memory access — rings, descriptors, data, status — goes through the
//! device's [`iommu_common::DmaTarget`], so it is translated by the covering IOMMU
//! (identity without one) with the requester id current at that moment. The split ring
//! is implemented here over `guestmem::GuestMemoryAccess` rather than with the
//! `virtio-queue` crate, which needs a vm-memory `GuestMemory` handing out host
//! slices; see [`queue`].
//!
//! Each queue has a worker thread woken by the queue's doorbell eventfd (a KVM
//! ioeventfd once the BAR is mapped), handling a bounded batch per wakeup and raising
//! the queue's MSI-X vector (an irqfd: no exit to userspace either way).
//!
//! Hostile guests: a request with bad contents (short header, wrong buffer direction,
//! out-of-range sectors, oversize, unreachable buffers) completes with
//! VIRTIO_BLK_S_IOERR or UNSUPP; a chain the device cannot walk (index outside the
//! table, loop or longer than the queue, bad indirect table, unreadable ring, no
//! writable status byte) or a queue enabled with invalid parameters sets
//! DEVICE_NEEDS_RESET, announced with a configuration-change interrupt, and stops that
//! queue. Nothing the guest writes can panic the device or make it allocate more than
//! its fixed per-queue buffers.

#![forbid(unsafe_code)]

pub mod backend;
pub mod chain;
pub mod common_cfg;
mod device;
pub mod device_config;
pub mod isr;
pub mod layout;
pub mod notify;
pub mod queue;
mod ratelimit;
pub mod request;
pub mod spec;
mod worker;

#[cfg(test)]
mod test_support;

pub use backend::BlockBackend;
pub use backend::FileBackend;
pub use device::NewError;
pub use device::VirtioBlkDevice;
pub use device::VirtioBlkOptions;
