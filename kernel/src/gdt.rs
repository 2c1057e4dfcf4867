//! Per-CPU GDT and TSS with IST stacks.
//!
//! Every exception gate runs on an IST stack: the prebuilt `core` uses the red zone below
//! `rsp`, which an exception frame pushed on the interrupted stack would overwrite.

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot (0-based, as `set_stack_index` takes it) for every exception but #DF.
pub const IST_EXCEPTION: u16 = 0;
/// IST slot for the double fault, so a fault on the exception stack still gets reported.
pub const IST_DOUBLE_FAULT: u16 = 1;
/// Bytes per IST stack.
pub const IST_STACK_SIZE: usize = 16 * 1024;

/// Two IST stacks, 16-byte aligned.
#[repr(C, align(16))]
pub struct IstStacks {
    exception: [u8; IST_STACK_SIZE],
    double_fault: [u8; IST_STACK_SIZE],
}

impl IstStacks {
    /// Zeroed stacks.
    pub const fn new() -> Self {
        Self {
            exception: [0; IST_STACK_SIZE],
            double_fault: [0; IST_STACK_SIZE],
        }
    }
}

/// A CPU's descriptor tables. Must live for ever once loaded (`'static`).
pub struct CpuTables {
    tss: TaskStateSegment,
    gdt: GlobalDescriptorTable,
    code: SegmentSelector,
    data: SegmentSelector,
    tss_sel: SegmentSelector,
}

impl CpuTables {
    /// Empty tables; [`CpuTables::load`] fills and loads them.
    pub const fn new() -> Self {
        Self {
            tss: TaskStateSegment::new(),
            gdt: GlobalDescriptorTable::new(),
            code: SegmentSelector(0),
            data: SegmentSelector(0),
            tss_sel: SegmentSelector(0),
        }
    }

    /// Fills the TSS (IST pointers into `stacks`) and the GDT (code, data, TSS), loads them on
    /// this CPU and reloads CS, SS, DS, ES and TR (FS and GS are left alone: GS carries the
    /// per-CPU base).
    ///
    /// `this` is a `'static` mutable borrow: the tables may never move or change after
    /// loading. Call once per CPU with its own tables and stacks.
    pub fn load(this: &'static mut Self, stacks: &'static mut IstStacks) {
        let top = |s: &[u8]| VirtAddr::from_ptr(s.as_ptr_range().end);
        this.tss.interrupt_stack_table[usize::from(IST_EXCEPTION)] = top(&stacks.exception);
        this.tss.interrupt_stack_table[usize::from(IST_DOUBLE_FAULT)] = top(&stacks.double_fault);
        let this: &'static Self = {
            let tss: &'static TaskStateSegment = &this.tss;
            let mut gdt = GlobalDescriptorTable::new();
            this.code = gdt.append(Descriptor::kernel_code_segment());
            this.data = gdt.append(Descriptor::kernel_data_segment());
            this.tss_sel = gdt.append(Descriptor::tss_segment(tss));
            this.gdt = gdt;
            this
        };
        this.gdt.load();
        // SAFETY: the GDT just loaded holds a 64-bit code segment at `code`, a data segment at
        // `data` and an available TSS at `tss_sel`, all `'static`; reloading CS (far return),
        // the data segment registers and TR with them keeps the CPU in flat 64-bit mode.
        unsafe {
            CS::set_reg(this.code);
            SS::set_reg(this.data);
            DS::set_reg(this.data);
            ES::set_reg(this.data);
            load_tss(this.tss_sel);
        }
    }
}
