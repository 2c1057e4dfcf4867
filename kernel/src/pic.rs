//! The legacy 8259 PICs: masked for good, so that only the LAPIC delivers interrupts (an
//! unmasked PIT on IRQ 0 would arrive as vector 8, indistinguishable from a double fault).

use x86_64::instructions::port::Port;

/// Masks every line of both 8259s.
pub fn mask_all() {
    for data_port in [0x21u16, 0xa1] {
        let mut port: Port<u8> = Port::new(data_port);
        // SAFETY: writing 0xff to a PIC's data port (OCW1) masks all its lines; it touches no
        // memory, and the kernel uses no PIC interrupt.
        unsafe { port.write(0xff) };
    }
}
