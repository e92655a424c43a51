//! 16550A UARTs (vm-superio) on the legacy COM ports, interrupting through IOAPIC pins.

use super::ioapic::IoapicLine;
use crate::bus::BusDevice;
use parking_lot::Mutex;
use std::io::Read;
use std::io::Write;
use std::sync::Arc;
use vm_superio::Serial;
use vm_superio::Trigger;

/// COM1 I/O base.
pub const COM1_BASE: u16 = 0x3f8;
/// COM1 ISA IRQ.
pub const COM1_IRQ: u8 = 4;
/// COM2 I/O base.
pub const COM2_BASE: u16 = 0x2f8;
/// COM2 ISA IRQ.
pub const COM2_IRQ: u8 = 3;
/// Register window size.
pub const COM_SIZE: u64 = 8;

/// Raises the UART's interrupt as an edge on its IOAPIC pin (ISA interrupts are edge).
pub struct LineTrigger(IoapicLine);

impl Trigger for LineTrigger {
    type E = std::convert::Infallible;

    fn trigger(&self) -> Result<(), Self::E> {
        self.0.pulse();
        Ok(())
    }
}

/// Where a UART's output goes.
pub type SerialOutput = Box<dyn Write + Send>;

/// A UART on the port bus.
pub struct SerialPort {
    uart: Mutex<Serial<LineTrigger, vm_superio::serial::NoEvents, SerialOutput>>,
}

impl SerialPort {
    /// A UART writing to `out` and interrupting on `line`.
    pub fn new(line: IoapicLine, out: SerialOutput) -> Arc<Self> {
        Arc::new(Self {
            uart: Mutex::new(Serial::new(LineTrigger(line), out)),
        })
    }

    /// Queues host input for the guest; returns how many bytes fitted in the FIFO.
    pub fn enqueue_input(&self, bytes: &[u8]) -> usize {
        self.uart.lock().enqueue_raw_bytes(bytes).unwrap_or(0)
    }

    /// Feeds `input` to the guest from a thread until it ends, retrying while the
    /// receive FIFO is full.
    pub fn spawn_input_thread(self: &Arc<Self>, mut input: impl Read + Send + 'static) {
        let port = self.clone();
        std::thread::Builder::new()
            .name("serial-input".into())
            .spawn(move || {
                let mut buf = [0u8; 64];
                loop {
                    let n = match input.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let mut pending = &buf[..n];
                    while !pending.is_empty() {
                        let done = port.enqueue_input(pending);
                        pending = &pending[done..];
                        if !pending.is_empty() {
                            std::thread::sleep(std::time::Duration::from_millis(5));
                        }
                    }
                }
            })
            .expect("spawning a thread");
    }
}

impl BusDevice for SerialPort {
    fn read(&self, offset: u64, data: &mut [u8]) {
        let mut uart = self.uart.lock();
        for (i, b) in data.iter_mut().enumerate() {
            *b = uart.read((offset as u8).wrapping_add(i as u8));
        }
    }

    fn write(&self, offset: u64, data: &[u8]) {
        let mut uart = self.uart.lock();
        for (i, b) in data.iter().enumerate() {
            // Output errors (a closed stdout) lose the byte, as a real line would.
            let _ = uart.write((offset as u8).wrapping_add(i as u8), *b);
        }
    }
}
