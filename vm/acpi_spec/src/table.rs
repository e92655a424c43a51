//! Assembling a table: a header followed by fixed fields and variable structures.

use crate::header::checksum;
use crate::header::SdtHeader;
use zerocopy::Immutable;
use zerocopy::IntoBytes;

/// A table under construction: push structures in order, then [`Table::finish`].
#[derive(Debug, Clone)]
pub struct Table {
    bytes: Vec<u8>,
}

impl Table {
    /// Starts a table with `header` (length and checksum are filled in by `finish`).
    pub fn new(header: SdtHeader) -> Self {
        Self {
            bytes: header.as_bytes().to_vec(),
        }
    }

    /// Appends a structure.
    pub fn push<T: IntoBytes + Immutable + ?Sized>(&mut self, value: &T) -> &mut Self {
        self.bytes.extend_from_slice(value.as_bytes());
        self
    }

    /// Appends raw bytes.
    pub fn extend(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// Current length in bytes (header included): the offset of the next structure.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether only the header is present.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() <= size_of::<SdtHeader>()
    }

    /// Overwrites bytes at `offset` (used to patch lengths of nested structures).
    ///
    /// Panics if the range is outside what was pushed: a builder bug, never guest input.
    pub fn patch(&mut self, offset: usize, bytes: &[u8]) {
        self.bytes[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    /// Sets the header length and checksum and returns the table bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.bytes.len() as u32;
        self.bytes[4..8].copy_from_slice(&len.to_le_bytes());
        self.bytes[9] = 0;
        self.bytes[9] = checksum(&self.bytes);
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_sets_length_and_checksum() {
        let mut t = Table::new(SdtHeader::new(b"TEST", 1));
        t.push(&[1u8, 2, 3]);
        let bytes = t.finish();
        assert_eq!(bytes.len(), 39);
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 39);
        assert_eq!(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
    }
}
