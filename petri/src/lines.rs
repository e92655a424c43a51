//! Reading a child's output line by line with deadlines.

use std::io::BufRead;
use std::io::BufReader;
use std::io::Read;
use std::sync::mpsc;
use std::time::Instant;

/// A line source fed by a reader thread.
pub(crate) struct LineReader {
    rx: mpsc::Receiver<String>,
}

/// What waiting for a line gave.
pub(crate) enum Next {
    /// A line (without its `\n`; a trailing `\r` is removed).
    Line(String),
    /// The stream ended.
    Eof,
    /// The deadline passed.
    Timeout,
}

impl LineReader {
    /// Reads `r` on a thread; invalid UTF-8 is replaced.
    pub fn spawn<R: Read + Send + 'static>(r: R) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(r);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let s = String::from_utf8_lossy(&buf);
                        let s = s.trim_end_matches('\n').trim_end_matches('\r');
                        if tx.send(s.to_string()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Self { rx }
    }

    /// Waits for the next line until `deadline`.
    pub fn next(&self, deadline: Instant) -> Next {
        let now = Instant::now();
        if now >= deadline {
            return match self.rx.try_recv() {
                Ok(l) => Next::Line(l),
                Err(mpsc::TryRecvError::Empty) => Next::Timeout,
                Err(mpsc::TryRecvError::Disconnected) => Next::Eof,
            };
        }
        match self.rx.recv_timeout(deadline - now) {
            Ok(l) => Next::Line(l),
            Err(mpsc::RecvTimeoutError::Timeout) => Next::Timeout,
            Err(mpsc::RecvTimeoutError::Disconnected) => Next::Eof,
        }
    }
}

/// Whether a console line is a petri marker (hidden when streaming).
pub(crate) fn is_marker(line: &str) -> bool {
    line.contains(crate::markers::GUEST_PREFIX) || line.contains(crate::markers::L1_PREFIX)
}

/// Prints a guest console to stdout as it arrives, hiding petri's markers and
/// the blank line the guest's `/init` prints before its exit sentinel.
#[derive(Default)]
pub(crate) struct Streamer {
    blank: bool,
}

impl Streamer {
    /// Handles one console line.
    pub fn line(&mut self, line: &str) {
        if is_marker(line) {
            self.blank = false;
            return;
        }
        if self.blank {
            println!();
        }
        self.blank = line.is_empty();
        if !self.blank {
            println!("{line}");
        }
    }
}
