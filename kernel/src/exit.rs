//! Leaving QEMU through the `isa-debug-exit` device (port 0xf4): QEMU exits with `(v << 1) | 1`.

use x86_64::instructions::port::Port;

/// The exit values of the kernel <-> runner protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// Every selected test passed (QEMU exit 33).
    Success = 0x10,
    /// The suite ran to the end, at least one test failed (QEMU exit 35).
    Failed = 0x11,
    /// Kernel panic or CPU exception (QEMU exit 37).
    Crashed = 0x12,
}

/// Exits QEMU with `code`; halts forever if the device is missing.
pub fn exit_qemu(code: ExitCode) -> ! {
    let mut port: Port<u32> = Port::new(0xf4);
    // SAFETY: port 0xf4 is the isa-debug-exit device on the protocol's QEMU command line; a
    // write there ends the VM and touches no memory. Without the device the write is ignored.
    unsafe { port.write(code as u32) };
    halt_forever()
}

/// Stops this CPU for good (interrupts off, `hlt` in a loop).
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
