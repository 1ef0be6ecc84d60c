//! The errors of the counters.

/// What can go wrong with the counters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CounterError {
    /// The server could not be reached or lost the connection.
    #[error("{backend} is unavailable: {reason}")]
    Unavailable {
        /// The backend (`redis`).
        backend: &'static str,
        /// What happened.
        reason: String,
    },
    /// The server did not answer within the timeout.
    #[error("{backend} did not answer within {millis} ms")]
    Timeout {
        /// The backend.
        backend: &'static str,
        /// The timeout.
        millis: u64,
    },
    /// The server answered something this version does not understand.
    #[error("{backend} answered unexpectedly: {reason}")]
    Protocol {
        /// The backend.
        backend: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A request's time lies outside the range the store can hold (2000–2136).
    #[error("time {now} (Unix seconds) is out of range")]
    InvalidTime {
        /// The time given.
        now: i64,
    },
    /// A configuration value is unusable.
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// A snapshot file could not be written or read.
    #[error("snapshot {path}: {reason}")]
    Snapshot {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
        /// The I/O error, if that was the cause.
        #[source]
        source: Option<std::io::Error>,
    },
}
