//! Leaving QEMU through the `isa-debug-exit` device: QEMU exits with `(v << 1) | 1`
//! (port and values: [`ktap_abi`]).

use x86_64::instructions::port::Port;

pub use ktap_abi::ExitCode;

/// Exits QEMU with `code`; halts forever if the device is missing.
pub fn exit_qemu(code: ExitCode) -> ! {
    let mut port: Port<u32> = Port::new(ktap_abi::EXIT_PORT);
    // SAFETY: the exit port is the isa-debug-exit device on the protocol's QEMU command line;
    // a write there ends the VM and touches no memory. Without the device the write is ignored.
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
