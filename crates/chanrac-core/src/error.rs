//! Errors of the core: configuration errors name the file, the line and the reason.

/// A rule pack, policy or list that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid for its format: `file:line:column: reason`.
    #[error("{file}:{line}:{column}: {reason}")]
    At {
        /// The file (or built-in name).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// Something invalid that has no position in a file.
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    /// An error at a byte offset of `text`.
    pub fn at(file: &str, text: &str, offset: usize, reason: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        ConfigError::At {
            file: file.to_string(),
            line,
            column,
            reason: reason.into(),
        }
    }

    /// A TOML parse or schema error (unknown key, wrong type) with its position.
    pub fn parse(file: &str, text: &str, e: &toml::de::Error) -> Self {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        Self::at(file, text, offset, e.message().trim_end_matches('.').to_string())
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
