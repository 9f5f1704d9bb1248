//! File sink: one normalized STIX object per line (JSONL), appended and fsync'd per batch, for archives and
//! for tools that tail files.

mod config;
mod encoder;
mod sink;

pub use config::FileConfig;
pub use encoder::encode_line;
pub use sink::FileSink;
