//! Errors a user can cause or meet, each knowing its exit code and how to say what to fix.

use std::fmt;
use std::path::Path;

use crate::exit;

/// Where in the user's input a problem is: a file, and a line when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
}

impl Location {
    pub fn file(path: impl AsRef<Path>) -> Self {
        Location {
            file: path.as_ref().display().to_string(),
            line: None,
        }
    }

    pub fn line(path: impl AsRef<Path>, line: usize) -> Self {
        Location {
            file: path.as_ref().display().to_string(),
            line: Some(line),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.file, line),
            None => f.write_str(&self.file),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file the user pointed us at is missing, unreadable or malformed.
    #[error("{location}: {message}")]
    Input { location: Location, message: String },
    /// Flags that do not make sense together or out of range.
    #[error("{0}")]
    Usage(String),
    /// The backend failed or the run directory could not be written.
    #[error("{0}")]
    Infrastructure(String),
    /// Ctrl-C: finished calls are on disk.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl Error {
    pub fn input(location: Location, message: impl Into<String>) -> Self {
        Error::Input {
            location,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    pub fn infrastructure(message: impl Into<String>) -> Self {
        Error::Infrastructure(message.into())
    }

    /// An I/O failure while reading a file the user named: their input, so exit 2.
    pub fn unreadable(path: &Path, err: &std::io::Error) -> Self {
        let message = match err.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            std::io::ErrorKind::IsADirectory => "is a directory, expected a file".to_string(),
            _ => format!("cannot read: {err}"),
        };
        Error::input(Location::file(path), message)
    }

    /// An I/O failure while writing the run's own files: exit 3.
    pub fn write_failed(path: &Path, err: &std::io::Error) -> Self {
        Error::infrastructure(format!("cannot write {}: {err}", path.display()))
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } | Error::Usage(_) => exit::INPUT,
            Error::Infrastructure(_) => exit::INFRASTRUCTURE,
            Error::Interrupted(_) => exit::INTERRUPTED,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads a user-supplied text file, refusing bytes that are not UTF-8 with the line they sit on.
/// The longest single line promptgate reads from an input file (a golden case, a
/// calls.jsonl line): beyond it the file is not what it claims to be.
pub const MAX_LINE_BYTES: u64 = 64 * 1024 * 1024;

/// Opens an input file, refusing anything but a regular file: a FIFO would hang the read
/// and a device such as /dev/zero would fill memory.
pub fn open_regular(path: &Path) -> Result<std::fs::File> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::unreadable(path, &e))?;
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(Error::input(
            Location::file(path),
            format!("is {kind}: give the path of a regular file"),
        ));
    }
    std::fs::File::open(path).map_err(|e| Error::unreadable(path, &e))
}

/// The bytes of a regular input file.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::unreadable(path, &e))?;
    Ok(bytes)
}

pub fn read_text(path: &Path) -> Result<String> {
    text_from_bytes(path, read_bytes(path)?)
}

pub fn text_from_bytes(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Error::input(
            Location::line(path, line),
            "not valid UTF-8: save the file as UTF-8",
        )
    })
}

/// The line (1-based) holding byte `offset` of `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Turns a TOML parse error into one message naming the file and line, without the
/// multi-line source excerpt the toml crate prints.
pub fn toml_error(path: &Path, text: &str, err: &toml::de::Error) -> Error {
    let message = err.message().trim().to_string();
    let location = match err.span() {
        Some(span) => Location::line(path, line_of_offset(text, span.start)),
        None => Location::file(path),
    };
    Error::input(location, format!("invalid TOML: {message}"))
}
