//! The WASI context a guest runs in, its builder, and the stdio streams
//! (inherited from the host, in-memory pipes, or null).

use crate::error::WasiError;
use crate::table::{Descriptor, DirDesc, FdEntry, FdTable};
use crate::types::{Filestat, Filetype, rights};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// Locks `mutex`, also when a panicking holder poisoned it: the data of a
/// pipe or context stays consistent across any panic that can happen here.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Bytes a guest reads as its standard input.
#[derive(Clone, Debug, Default)]
pub struct InputPipe {
    inner: Arc<Mutex<io::Cursor<Vec<u8>>>>,
}

impl InputPipe {
    /// Standard input that yields `bytes`, then end of file.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        InputPipe { inner: Arc::new(Mutex::new(io::Cursor::new(bytes.into()))) }
    }

    fn read(&self, buf: &mut [u8]) -> usize {
        lock(&self.inner).read(buf).unwrap_or(0)
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> u64 {
        let cursor = lock(&self.inner);
        (cursor.get_ref().len() as u64).saturating_sub(cursor.position())
    }
}

/// Captures what a guest writes to standard output or error. Clones share
/// the buffer: keep one to read [`OutputPipe::contents`] after the run.
#[derive(Clone, Debug, Default)]
pub struct OutputPipe {
    inner: Arc<Mutex<Vec<u8>>>,
}

impl OutputPipe {
    /// An empty pipe.
    pub fn new() -> Self {
        OutputPipe::default()
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        lock(&self.inner).clone()
    }
}

/// What a guest's standard input reads from.
#[derive(Debug)]
pub(crate) enum Input {
    /// End of file at once.
    Null,
    /// The host process's standard input.
    Inherit,
    Pipe(InputPipe),
}

/// Where a guest's standard output or error goes.
#[derive(Debug)]
pub(crate) enum Output {
    /// Accepted and discarded.
    Null,
    /// The host process's standard output.
    Stdout,
    /// The host process's standard error.
    Stderr,
    Pipe(OutputPipe),
}

/// The host's stdio stream `stream` as a file, to ask its metadata.
fn host_stream_metadata(stream: impl std::os::fd::AsFd) -> io::Result<std::fs::Metadata> {
    std::fs::File::from(stream.as_fd().try_clone_to_owned()?).metadata()
}

/// File type and status of a stdio stream; in-memory and null streams
/// have no file behind them and report `unknown` with zeroes.
fn stream_filestat(host: Option<io::Result<std::fs::Metadata>>) -> io::Result<Filestat> {
    match host {
        Some(meta) => Ok(Filestat::from_std(&meta?)),
        None => {
            Ok(Filestat { dev: 0, ino: 0, filetype: Filetype::Unknown, nlink: 0, size: 0, atim: 0, mtim: 0, ctim: 0 })
        }
    }
}

impl Input {
    /// Reads into `buf`; 0 is end of file.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Null => Ok(0),
            Input::Inherit => io::stdin().lock().read(buf),
            Input::Pipe(pipe) => Ok(pipe.read(buf)),
        }
    }

    pub(crate) fn filestat(&self) -> io::Result<Filestat> {
        stream_filestat(matches!(self, Input::Inherit).then(|| host_stream_metadata(io::stdin())))
    }
}

impl Output {
    /// Writes all of `data`.
    pub(crate) fn write(&self, data: &[u8]) -> io::Result<()> {
        match self {
            Output::Null => Ok(()),
            Output::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(data)?;
                out.flush()
            }
            Output::Stderr => io::stderr().lock().write_all(data),
            Output::Pipe(pipe) => {
                lock(&pipe.inner).extend_from_slice(data);
                Ok(())
            }
        }
    }

    pub(crate) fn filestat(&self) -> io::Result<Filestat> {
        stream_filestat(match self {
            Output::Stdout => Some(host_stream_metadata(io::stdout())),
            Output::Stderr => Some(host_stream_metadata(io::stderr())),
            Output::Null | Output::Pipe(_) => None,
        })
    }
}

/// Everything a guest sees of the outside world: arguments, environment,
/// and its descriptors. Made by [`WasiCtxBuilder`], handed to
/// [`add_to_linker`](crate::add_to_linker).
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) table: FdTable,
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx").field("args", &self.args).field("env", &self.env).finish_non_exhaustive()
    }
}

impl WasiCtx {
    /// A builder.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }
}

/// Builds a [`WasiCtx`]. Nothing is granted unless asked for: no
/// arguments, no environment, no directories, and null stdio (reads see end
/// of file, writes are discarded).
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Input>,
    stdout: Option<Output>,
    stderr: Option<Output>,
    preopens: Vec<(cap_std::fs::Dir, String)>,
}

impl std::fmt::Debug for WasiCtxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtxBuilder")
            .field("args", &self.args)
            .field("env", &self.env)
            .field("preopens", &self.preopens.iter().map(|(_, guest)| guest).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl WasiCtxBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        WasiCtxBuilder::default()
    }

    /// Appends one argument; the first is the program name (`argv[0]`).
    pub fn arg(&mut self, arg: impl AsRef<str>) -> &mut Self {
        self.args.push(arg.as_ref().to_string());
        self
    }

    /// Appends arguments.
    pub fn args(&mut self, args: impl IntoIterator<Item = impl AsRef<str>>) -> &mut Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Sets an environment variable, replacing an earlier value of `key`.
    pub fn env(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        let (key, value) = (key.as_ref(), value.as_ref());
        match self.env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.env.push((key.to_string(), value.to_string())),
        }
        self
    }

    /// Passes the host's environment on (variables that are not UTF-8 are
    /// left out: WASI strings are UTF-8).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (key, value) in std::env::vars_os() {
            if let (Some(key), Some(value)) = (key.to_str(), value.to_str()) {
                self.env(key, value);
            }
        }
        self
    }

    /// Opens the host directory `host` now and makes it available to the
    /// guest as `guest`. Preopens get fds 3, 4, … in the order given; the
    /// guest can reach nothing outside them.
    pub fn preopened_dir(&mut self, host: impl AsRef<Path>, guest: impl AsRef<str>) -> Result<&mut Self, WasiError> {
        let host = host.as_ref();
        let dir = cap_std::fs::Dir::open_ambient_dir(host, cap_std::ambient_authority())
            .map_err(|error| WasiError::Preopen { path: host.to_path_buf(), error })?;
        self.preopens.push((dir, guest.as_ref().to_string()));
        Ok(self)
    }

    /// Standard input reads the host's.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin = Some(Input::Inherit);
        self
    }

    /// Standard output goes to the host's.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout = Some(Output::Stdout);
        self
    }

    /// Standard error goes to the host's.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr = Some(Output::Stderr);
        self
    }

    /// All three stdio streams are the host's.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Standard input reads `input`.
    pub fn stdin(&mut self, input: InputPipe) -> &mut Self {
        self.stdin = Some(Input::Pipe(input));
        self
    }

    /// Standard output is captured in `out`.
    pub fn stdout(&mut self, out: OutputPipe) -> &mut Self {
        self.stdout = Some(Output::Pipe(out));
        self
    }

    /// Standard error is captured in `out`.
    pub fn stderr(&mut self, out: OutputPipe) -> &mut Self {
        self.stderr = Some(Output::Pipe(out));
        self
    }

    /// The context; the builder is left empty.
    pub fn build(&mut self) -> WasiCtx {
        let this = std::mem::take(self);
        let mut table = FdTable::default();
        let stdin = this.stdin.unwrap_or(Input::Null);
        table.insert_at(0, FdEntry::new(Descriptor::Stdin(stdin), rights::STDIN, 0));
        table.insert_at(1, FdEntry::new(Descriptor::Stdout(this.stdout.unwrap_or(Output::Null)), rights::STDOUT, 0));
        table.insert_at(2, FdEntry::new(Descriptor::Stdout(this.stderr.unwrap_or(Output::Null)), rights::STDOUT, 0));
        for (fd, (dir, guest)) in (3u32..).zip(this.preopens) {
            let desc = Descriptor::Dir(DirDesc { dir, preopen: Some(guest), listing: None });
            table.insert_at(fd, FdEntry::new(desc, rights::DIRECTORY, rights::DIRECTORY | rights::REGULAR_FILE));
        }
        WasiCtx { args: this.args, env: this.env, table }
    }
}
