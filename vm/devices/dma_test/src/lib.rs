//! `dma_test`: a small PCI Express endpoint that DMAs where the guest tells it to, so
//! tests can make a device read and write any bus address (and, behind an IOMMU, see
//! the access translated or blocked and reported).
//!
//! Identity: vendor [`pci_core::spec::VENDOR_ID`] (0x1414), device [`DEVICE_ID`]
//! (0xd7e5), class 0x088000 (system peripheral, other), one MSI-X vector.
//!
//! # Register map (BAR 0: 64-bit, non-prefetchable, 4 KiB)
//!
//! All registers are little-endian and accessed with 32-bit accesses at 4-byte
//! aligned offsets; 64-bit accesses at 8-byte aligned offsets also work (as two
//! 32-bit accesses, low half first). Other widths read as zero and are ignored on
//! write. Reserved offsets read as zero.
//!
//! | offset | name | access | meaning |
//! |---|---|---|---|
//! | 0x00 | `ADDR_A_LO` | RW | bus address A (source of COPY), bits 31:0 |
//! | 0x04 | `ADDR_A_HI` | RW | bus address A, bits 63:32 |
//! | 0x08 | `ADDR_B_LO` | RW | bus address B (destination of COPY and FILL), bits 31:0 |
//! | 0x0c | `ADDR_B_HI` | RW | bus address B, bits 63:32 |
//! | 0x10 | `LENGTH` | RW | bytes to copy or fill (at most `MAX_LENGTH`) |
//! | 0x14 | `FILL` | RW | fill byte (bits 7:0; upper bits read as zero) |
//! | 0x18 | `COMMAND` | RW | writing starts a command (below); reads the last one |
//! | 0x1c | `STATUS` | RO | outcome of the last command (below) |
//! | 0x20 | `COMPLETIONS` | RO | commands completed since reset, successful or not (wraps) |
//! | 0x28 | `FAULT_ADDR_LO` | RO | bus address whose access failed last, bits 31:0 |
//! | 0x2c | `FAULT_ADDR_HI` | RO | bits 63:32 |
//! | 0x30 | `ID` | RO | [`ID_VALUE`] (0xd7e5_0001) |
//! | 0x34 | `MAX_LENGTH` | RO | [`MAX_LENGTH`] (0x0010_0000, 1 MiB) |
//! | 0x800 | MSI-X table | | one vector |
//! | 0xc00 | MSI-X PBA | | |
//!
//! Commands ([`COMMAND`]):
//! * 1 `COPY`: copy `LENGTH` bytes from A to B (memmove semantics if they overlap).
//! * 2 `FILL`: write `LENGTH` copies of `FILL` at B.
//! * 3 `INTERRUPT`: only complete (raising the vector).
//!
//! Status values ([`STATUS`]): 0 `IDLE` (since reset), 1 `BUSY` (never seen: commands
//! run synchronously), 2 `DONE`, 3 `DMA_FAILED` (a translation fault or an address
//! outside guest memory; `FAULT_ADDR` says where; bytes before it may have been
//! written), 4 `BAD_LENGTH` (`LENGTH` > `MAX_LENGTH`, nothing touched), 5
//! `BAD_COMMAND`.
//!
//! Each command runs to completion inside the guest's MMIO write (at most 1 MiB,
//! through a 64 KiB bounce buffer), then increments `COMPLETIONS`, sets `STATUS`, and
//! raises MSI-X vector 0 if MSI-X is enabled (pending if masked). So a guest may read
//! `STATUS` right after writing `COMMAND`. The device keeps working after any failure.
//! It does not check the command register's bus-master enable, so `devmem` alone can
//! drive it once memory decoding is on. All DMA goes through the device's
//! [`iommu_common::DmaTarget`].

#![forbid(unsafe_code)]

mod device;
mod ratelimit;
pub mod regs;

pub use device::DmaTestDevice;
pub use regs::*;
