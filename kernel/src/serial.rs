//! COM1 console (16550 UART at port 0x3f8, 115200 8N1) and the `print!`/`println!` macros.
//!
//! Output goes through one lock so lines from several CPUs do not interleave mid-line. The
//! fatal paths (panic, exception) do not take the lock: they write with [`raw_write`], which
//! only polls the line-status register, so a report gets out even when the lock is held.

use core::fmt::{self, Write};
use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{BaudRate, Config, Uart16550};
use x86_64::instructions::port::Port;

/// I/O port base of COM1.
const COM1: u16 = 0x3f8;

/// The console; `None` until [`init`] ran.
static CONSOLE: Mutex<Option<Uart16550<PioBackend>>> = Mutex::new(None);

/// Programs COM1 for 115200 8N1 with FIFOs. Output before this goes nowhere (never lost
/// silently by the fatal paths, which use [`raw_write`]).
pub fn init() {
    // SAFETY: 0x3f8..0x400 is COM1 on every PC-compatible machine (QEMU q35 included); the
    // kernel owns it exclusively from here on (only `raw_write` also polls/writes it, on
    // fatal paths that never return).
    let uart = unsafe { Uart16550::new_port(COM1) };
    let Ok(mut uart) = uart else {
        return;
    };
    let config = Config {
        baud_rate: BaudRate::Baud115200,
        ..Config::default()
    };
    if uart.init(config).is_ok() {
        *CONSOLE.lock() = Some(uart);
    }
}

/// A `fmt::Write` adapter over the locked UART.
struct Console<'a>(&'a mut Uart16550<PioBackend>);

impl Write for Console<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.send_bytes_exact(s.as_bytes());
        Ok(())
    }
}

/// Writes formatted text to COM1 under the console lock (used by the macros).
pub fn write_fmt(args: fmt::Arguments<'_>) {
    let mut guard = CONSOLE.lock();
    match guard.as_mut() {
        Some(uart) => {
            let _ = Console(uart).write_fmt(args);
        }
        None => raw_write(args),
    }
}

/// Lock-free fallback writer for fatal paths: polls LSR.THRE and writes THR directly.
pub fn raw_write(args: fmt::Arguments<'_>) {
    struct Raw;
    impl Write for Raw {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for &b in s.as_bytes() {
                raw_byte(b);
            }
            Ok(())
        }
    }
    let _ = Raw.write_fmt(args);
}

/// Sends one byte on COM1 by polling, without the lock.
fn raw_byte(byte: u8) {
    let mut lsr: Port<u8> = Port::new(COM1 + 5);
    let mut thr: Port<u8> = Port::new(COM1);
    for _ in 0..100_000 {
        // SAFETY: reading COM1's line-status register has no side effects.
        if unsafe { lsr.read() } & 0x20 != 0 {
            break;
        }
    }
    // SAFETY: writing COM1's transmit holding register sends one byte; no memory effects.
    unsafe { thr.write(byte) };
}

/// Prints to COM1.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::serial::write_fmt(format_args!($($arg)*)) };
}

/// Prints a line to COM1 (one locked write, so lines from several CPUs stay whole).
#[macro_export]
macro_rules! println {
    () => { $crate::serial::write_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::serial::write_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}
