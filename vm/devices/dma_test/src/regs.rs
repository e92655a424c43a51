//! Register offsets and values (see the crate documentation for the map).

/// PCI device id.
pub const DEVICE_ID: u16 = 0xd7e5;
/// PCI class code: system peripheral, other.
pub const CLASS: u32 = 0x08_80_00;
/// BAR size.
pub const BAR_SIZE: u64 = 0x1000;
/// MSI-X table offset in the BAR.
pub const MSIX_TABLE: u32 = 0x800;
/// MSI-X PBA offset in the BAR.
pub const MSIX_PBA: u32 = 0xc00;

/// Bus address A, low half.
pub const ADDR_A_LO: u64 = 0x00;
/// Bus address A, high half.
pub const ADDR_A_HI: u64 = 0x04;
/// Bus address B, low half.
pub const ADDR_B_LO: u64 = 0x08;
/// Bus address B, high half.
pub const ADDR_B_HI: u64 = 0x0c;
/// Length in bytes.
pub const LENGTH: u64 = 0x10;
/// Fill byte.
pub const FILL: u64 = 0x14;
/// Command.
pub const COMMAND: u64 = 0x18;
/// Status.
pub const STATUS: u64 = 0x1c;
/// Completion counter.
pub const COMPLETIONS: u64 = 0x20;
/// Faulting address, low half.
pub const FAULT_ADDR_LO: u64 = 0x28;
/// Faulting address, high half.
pub const FAULT_ADDR_HI: u64 = 0x2c;
/// Identification register.
pub const ID: u64 = 0x30;
/// Maximum length register.
pub const MAX_LENGTH_REG: u64 = 0x34;

/// Value of [`ID`].
pub const ID_VALUE: u32 = 0xd7e5_0001;
/// Largest `LENGTH` accepted.
pub const MAX_LENGTH: u32 = 1 << 20;

/// Command: copy A to B.
pub const CMD_COPY: u32 = 1;
/// Command: fill B.
pub const CMD_FILL: u32 = 2;
/// Command: raise the interrupt only.
pub const CMD_INTERRUPT: u32 = 3;

/// Status: nothing run since reset.
pub const STATUS_IDLE: u32 = 0;
/// Status: running (never observable).
pub const STATUS_BUSY: u32 = 1;
/// Status: completed successfully.
pub const STATUS_DONE: u32 = 2;
/// Status: a DMA access failed.
pub const STATUS_DMA_FAILED: u32 = 3;
/// Status: `LENGTH` above [`MAX_LENGTH`].
pub const STATUS_BAD_LENGTH: u32 = 4;
/// Status: unknown command.
pub const STATUS_BAD_COMMAND: u32 = 5;
