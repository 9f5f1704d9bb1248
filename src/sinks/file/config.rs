use crate::config::SinkSettings;
use std::path::PathBuf;

/// What the file sink needs from `[[sinks]]`.
#[derive(Debug, Clone)]
pub struct FileConfig {
    pub name: String,
    /// Appended to; created (with its directory) if missing.
    pub path: PathBuf,
}

impl FileConfig {
    pub fn from_settings(settings: &SinkSettings) -> Result<Self, String> {
        let path = settings
            .path
            .clone()
            .ok_or_else(|| "a file sink needs `path`".to_owned())?;
        Ok(FileConfig {
            name: settings.name.clone(),
            path,
        })
    }
}
