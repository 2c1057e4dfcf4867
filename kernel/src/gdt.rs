//! Per-CPU GDT and TSS with IST stacks ([`crate::stacks::Ist`]: #DF, NMI, #MC, and the
//! external interrupts that return).

use crate::stacks::{Ist, ist_top};
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

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

    /// Fills the TSS (IST pointers to CPU `cpu`'s IST stacks from [`crate::stacks`]) and the
    /// GDT (code, data, TSS), loads them on this CPU and reloads CS, SS, DS, ES and TR (FS and
    /// GS are left alone: GS carries the per-CPU base).
    ///
    /// `this` is a `'static` mutable borrow: the tables may never move or change after
    /// loading. Call once per CPU, on CPU `cpu`, with its own tables.
    pub fn load(this: &'static mut Self, cpu: usize) {
        for ist in Ist::ALL {
            this.tss.interrupt_stack_table[usize::from(ist.slot())] =
                VirtAddr::new(ist_top(cpu, ist));
        }
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
