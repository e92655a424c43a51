//! Power control: the ACPI hardware-reduced sleep control/status and reset registers
//! (the FADT points at them), and the i8042 reset command as a fallback.

use crate::bus::BusDevice;
use std::sync::Arc;

/// Sleep control/status register port (FADT SLEEP_CONTROL_REG / SLEEP_STATUS_REG).
pub const SLEEP_PORT: u16 = 0x600;
/// Reset register port (FADT RESET_REG).
pub const RESET_PORT: u16 = 0x601;
/// Value the guest writes to the reset register.
pub const RESET_VALUE: u8 = 0x01;
/// SLP_TYP the DSDT's `\_S5` object gives for soft-off.
pub const S5_SLP_TYP: u8 = 5;
/// i8042 command port.
pub const I8042_COMMAND_PORT: u16 = 0x64;

const SLP_EN: u8 = 1 << 5;

/// Real-mode code placed at the BIOS reset entry (F000:FFF0, [`crate::layout::BIOS_RESET_ENTRY`]).
///
/// There is no firmware, but Linux's reboot fallbacks (on hardware-reduced ACPI its
/// default is EFI, then a jump to the BIOS reset entry) expect something there. The
/// stub writes the reset register: `mov dx, RESET_PORT; mov al, RESET_VALUE;
/// out dx, al; hlt; jmp $-3`.
pub fn reset_entry_stub() -> [u8; 10] {
    let [lo, hi] = RESET_PORT.to_le_bytes();
    [
        0xba,
        lo,
        hi,
        0xb0,
        RESET_VALUE,
        0xee,
        0xf4,
        0xeb,
        0xfd,
        0x90,
    ]
}

/// What the guest asked the platform to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerRequest {
    /// Power off (S5).
    PowerOff,
    /// Reset.
    Reset,
}

/// Receives power requests.
pub type PowerHandler = Arc<dyn Fn(PowerRequest) + Send + Sync>;

/// The sleep/reset register pair at [`SLEEP_PORT`].
pub struct PowerRegisters {
    handler: PowerHandler,
}

impl PowerRegisters {
    /// Registers reporting to `handler`.
    pub fn new(handler: PowerHandler) -> Self {
        Self { handler }
    }
}

impl BusDevice for PowerRegisters {
    fn read(&self, _offset: u64, data: &mut [u8]) {
        // Sleep status: WAK_STS never set; reset register reads zero.
        data.fill(0);
    }

    fn write(&self, offset: u64, data: &[u8]) {
        let Some(&value) = data.first() else { return };
        tracing::debug!(offset, value, "power register write");
        match offset {
            0 if value & SLP_EN != 0 && (value >> 2) & 7 == S5_SLP_TYP => {
                (self.handler)(PowerRequest::PowerOff)
            }
            1 if value == RESET_VALUE => (self.handler)(PowerRequest::Reset),
            _ => {}
        }
    }
}

/// The i8042 keyboard controller, only as far as its reset command (0xFE on port 0x64).
/// Its status reads as "no data, input buffer empty".
pub struct I8042Reset {
    handler: PowerHandler,
}

impl I8042Reset {
    /// Reports resets to `handler`.
    pub fn new(handler: PowerHandler) -> Self {
        Self { handler }
    }
}

impl BusDevice for I8042Reset {
    fn read(&self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }

    fn write(&self, _offset: u64, data: &[u8]) {
        if data.first() == Some(&0xfe) {
            (self.handler)(PowerRequest::Reset)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[test]
    fn s5_and_reset() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let regs = PowerRegisters::new(Arc::new(move |r| s.lock().push(r)));
        regs.write(0, &[(S5_SLP_TYP << 2) | SLP_EN]);
        regs.write(0, &[(3 << 2) | SLP_EN]); // S3: not supported, ignored
        regs.write(0, &[S5_SLP_TYP << 2]); // no SLP_EN
        regs.write(1, &[RESET_VALUE]);
        regs.write(1, &[0x7]);
        regs.write(0, &[]);
        assert_eq!(
            *seen.lock(),
            vec![PowerRequest::PowerOff, PowerRequest::Reset]
        );
    }
}
