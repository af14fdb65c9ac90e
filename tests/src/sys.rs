//! The two system calls the load driver needs and std does not offer:
//! `poll(2)` and `fcntl(2)` to make a pipe non-blocking. With them one
//! thread can write tuples and read acks without a reader thread, so the
//! driver pays no channel hand-over and no futex wake-up per batch (the
//! cost that made the old driver as slow as the children it measured).
//! Linux only, like the rest of the harness (`/proc`, pid files).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

const F_GETFL: i32 = 3;
const F_SETFL: i32 = 4;
/// The same value on x86-64 and aarch64 Linux.
const O_NONBLOCK: i32 = 0o4000;

/// Readable.
pub const POLLIN: i16 = 0x1;
/// Writable.
pub const POLLOUT: i16 = 0x4;

#[repr(C)]
struct PollFd {
    fd: RawFd,
    events: i16,
    revents: i16,
}

extern "C" {
    fn fcntl(fd: RawFd, cmd: i32, ...) -> i32;
    fn poll(fds: *mut PollFd, nfds: u64, timeout_ms: i32) -> i32;
}

/// Makes reads and writes on `fd` return `WouldBlock` instead of waiting.
pub fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl with F_GETFL/F_SETFL only reads and sets the flags of a
    // descriptor the caller owns; no memory is passed.
    let flags = unsafe { fcntl(fd, F_GETFL) };
    if flags < 0 || unsafe { fcntl(fd, F_SETFL, flags | O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Waits until one of `fds` is ready for its `events`, or `timeout`.
/// Returns the ready events of each (0 for none). A hang-up or error counts
/// as ready: the next read or write then reports it.
pub fn wait(fds: &[(RawFd, i16)], timeout: Duration) -> io::Result<[i16; 2]> {
    assert!(fds.len() <= 2, "the driver polls at most stdin and stdout");
    let mut set: [PollFd; 2] = std::array::from_fn(|i| match fds.get(i) {
        Some(&(fd, events)) => PollFd { fd, events, revents: 0 },
        None => PollFd { fd: -1, events: 0, revents: 0 }, // poll ignores fd -1
    });
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `set` is a valid array of two pollfd structs for the duration
    // of the call, and nfds says so.
    let n = unsafe { poll(set.as_mut_ptr(), set.len() as u64, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok([0, 0]);
        }
        return Err(e);
    }
    Ok([set[0].revents, set[1].revents])
}
