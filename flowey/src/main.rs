//! flowey

fn main() {}
