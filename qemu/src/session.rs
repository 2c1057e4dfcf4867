//! Running QEMU: spawn, stream the serial port line by line, enforce the wall-clock timeout.
//!
//! stdout (the serial port) and stderr are each drained by their own thread, so a full pipe can
//! never block QEMU; the main thread receives serial lines over a channel with a deadline, feeds
//! them to the KTAP parser and the echo callback, then waits for QEMU. At the deadline QEMU is
//! killed and reaped. Lines longer than [`MAX_LINE_BYTES`] are cut there (the rest is dropped
//! and counted), so a guest printing without newlines cannot grow the host's memory; the
//! parser caps what it stores ([`crate::ktap::MAX_STORED_BYTES`]).

#![deny(unsafe_code)]

use crate::command::QemuCommand;
use crate::error::RunnerError;
use crate::ktap::{KtapParser, KtapReport};
use crate::outcome::QemuEnd;
use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, ExitStatus};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long to wait for the output threads after QEMU is gone (a grandchild may hold the pipe).
const DRAIN_GRACE: Duration = Duration::from_millis(500);
/// Polling interval while waiting for QEMU to exit after its stdout closed.
const EXIT_POLL: Duration = Duration::from_millis(5);
/// Serial lines buffered between the reader thread and the parser; when full, the reader waits
/// (and QEMU with it) instead of the host's memory growing with a guest that floods the port.
const LINE_BUFFER: usize = 4096;
/// QEMU stderr kept for the summary; beyond this it is still forwarded but no longer stored.
const MAX_KEPT_STDERR: usize = 1 << 20;
/// Longest serial or stderr line the runner keeps; the rest of a longer line is dropped.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Reads one line (through `\n`, or to EOF) into `line`, keeping at most `cap` bytes of it and
/// consuming the rest. `Ok(None)` at EOF, else `Ok(Some(truncated))`.
pub fn read_capped_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<bool>> {
    line.clear();
    let mut truncated = false;
    let mut any = false;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(any.then_some(truncated));
        }
        any = true;
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (&buffer[..=at], true),
            None => (buffer, false),
        };
        let room = cap.saturating_sub(line.len());
        if chunk.len() > room {
            truncated = true;
            line.extend_from_slice(&chunk[..room]);
        } else {
            line.extend_from_slice(chunk);
        }
        let used = chunk.len();
        reader.consume(used);
        if done {
            return Ok(Some(truncated));
        }
    }
}

/// What one QEMU run produced.
#[derive(Debug, Clone)]
pub struct SessionOutput {
    /// The parsed serial log.
    pub report: KtapReport,
    /// How QEMU ended.
    pub end: QemuEnd,
    /// From spawning QEMU to its exit (or kill).
    pub wall_time: Duration,
    /// Everything QEMU wrote to stderr (warnings, option errors), up to 1 MiB.
    pub stderr: String,
    /// Serial lines received.
    pub serial_lines: usize,
    /// Serial lines cut at [`MAX_LINE_BYTES`].
    pub truncated_lines: usize,
}

/// Boots `command`; each serial line (without its newline) goes to `on_line` as it arrives, and
/// each stderr line to `on_stderr`.
pub fn run_session(
    command: &QemuCommand,
    timeout: Duration,
    on_line: &mut dyn FnMut(&str),
    on_stderr: impl FnMut(&str) + Send + 'static,
) -> Result<SessionOutput, RunnerError> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut child = command
        .to_command()
        .spawn()
        .map_err(|source| RunnerError::Io {
            context: format!("cannot start {}", command.program.display()),
            source,
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");

    let (sender, lines) = mpsc::sync_channel::<(String, bool)>(LINE_BUFFER);
    let stdout_thread = thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut buffer = Vec::new();
        while let Ok(Some(truncated)) = read_capped_line(&mut reader, &mut buffer, MAX_LINE_BYTES) {
            let line = String::from_utf8_lossy(&buffer);
            let line = line.trim_end_matches(['\n', '\r']);
            if sender.send((line.to_owned(), truncated)).is_err() {
                break;
            }
        }
    });
    let stderr_thread = spawn_stderr_reader(stderr, on_stderr);

    let mut parser = KtapParser::new();
    let (mut serial_lines, mut truncated_lines) = (0usize, 0usize);
    let mut receive = |(line, truncated): (String, bool)| {
        serial_lines += 1;
        truncated_lines += usize::from(truncated);
        on_line(&line);
        parser.feed_line(&line);
    };
    let mut timed_out = false;
    loop {
        // Checked before each receive: a guest that prints without pause must still time out.
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        match lines.recv_timeout(deadline - now) {
            Ok(received) => receive(received),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
        }
    }

    let status = if timed_out {
        None
    } else {
        wait_until(&mut child, deadline)?
    };
    let end = match status {
        Some(status) => end_of(status),
        None => {
            kill_and_reap(&mut child)?;
            QemuEnd::TimedOut(start.elapsed())
        }
    };
    let wall_time = start.elapsed();

    // Serial lines still in flight after a kill (QEMU wrote them before dying).
    let drain_deadline = Instant::now() + DRAIN_GRACE;
    while let Ok(received) =
        lines.recv_timeout(drain_deadline.saturating_duration_since(Instant::now()))
    {
        receive(received);
    }
    join_if_done(stdout_thread, drain_deadline);
    let stderr = join_if_done(stderr_thread, Instant::now() + DRAIN_GRACE).unwrap_or_default();

    Ok(SessionOutput {
        report: parser.finish(),
        end,
        wall_time,
        stderr,
        serial_lines,
        truncated_lines,
    })
}

fn spawn_stderr_reader(
    stderr: impl Read + Send + 'static,
    mut on_stderr: impl FnMut(&str) + Send + 'static,
) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut all = String::new();
        let mut reader = BufReader::new(stderr);
        let mut buffer = Vec::new();
        while let Ok(Some(_)) = read_capped_line(&mut reader, &mut buffer, MAX_LINE_BYTES) {
            let line = String::from_utf8_lossy(&buffer);
            on_stderr(line.trim_end_matches(['\n', '\r']));
            if all.len() + line.len() <= MAX_KEPT_STDERR {
                all.push_str(&line);
            }
        }
        all
    })
}

/// Waits for `child` until `deadline`; `None` if it is still running then.
fn wait_until(child: &mut Child, deadline: Instant) -> Result<Option<ExitStatus>, RunnerError> {
    loop {
        let polled = child.try_wait().map_err(|source| RunnerError::Io {
            context: "waiting for QEMU".to_owned(),
            source,
        })?;
        if polled.is_some() {
            return Ok(polled);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(EXIT_POLL.min(deadline - now));
    }
}

fn kill_and_reap(child: &mut Child) -> Result<(), RunnerError> {
    // `kill` fails only if the child already exited; `wait` then reaps it either way.
    let _ = child.kill();
    child.wait().map(drop).map_err(|source| RunnerError::Io {
        context: "reaping QEMU after the timeout".to_owned(),
        source,
    })
}

fn end_of(status: ExitStatus) -> QemuEnd {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => QemuEnd::Exited(code),
        (None, Some(signal)) => QemuEnd::Signaled(signal),
        (None, None) => QemuEnd::Exited(-1),
    }
}

/// Joins `handle` if its thread ends before `deadline`; otherwise leaves it detached.
fn join_if_done<T>(handle: JoinHandle<T>, deadline: Instant) -> Option<T> {
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(EXIT_POLL);
    }
    handle.join().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_the_rest_consumed() {
        let mut input = io::Cursor::new(b"short\nabcdefghij\nlast".to_vec());
        let mut line = Vec::new();
        assert_eq!(
            read_capped_line(&mut input, &mut line, 4).unwrap(),
            Some(true)
        );
        assert_eq!(line, b"shor");
        assert_eq!(
            read_capped_line(&mut input, &mut line, 4).unwrap(),
            Some(true)
        );
        assert_eq!(line, b"abcd");
        assert_eq!(
            read_capped_line(&mut input, &mut line, 4).unwrap(),
            Some(false)
        );
        assert_eq!(line, b"last");
        assert_eq!(read_capped_line(&mut input, &mut line, 4).unwrap(), None);
    }

    #[test]
    fn a_newline_free_flood_stays_within_the_cap() {
        let flood = vec![b'x'; 10 * MAX_LINE_BYTES];
        let mut input = BufReader::with_capacity(4096, io::Cursor::new(flood));
        let mut line = Vec::new();
        assert_eq!(
            read_capped_line(&mut input, &mut line, MAX_LINE_BYTES).unwrap(),
            Some(true)
        );
        assert_eq!(line.len(), MAX_LINE_BYTES);
        assert_eq!(
            read_capped_line(&mut input, &mut line, MAX_LINE_BYTES).unwrap(),
            None
        );
    }
}
