//! Intrusive lists threaded through free objects (every object is at least 64 bytes, so it
//! has room for the two words used here: word 0 = next object, word 1 = next magazine).

use core::ptr;

/// A LIFO list of free objects with its length (a magazine, or a partial batch).
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) head: *mut u8,
    pub(crate) count: usize,
}

impl Batch {
    /// The empty list.
    pub(crate) const EMPTY: Batch = Batch {
        head: ptr::null_mut(),
        count: 0,
    };

    /// Pushes `obj`.
    ///
    /// # Safety
    /// `obj` is a free object of at least two words, aligned for a pointer, writable, and not
    /// in any list.
    #[inline]
    pub(crate) unsafe fn push(&mut self, obj: *mut u8) {
        // SAFETY: the caller guarantees `obj` is writable, aligned and free.
        unsafe { obj.cast::<*mut u8>().write(self.head) };
        self.head = obj;
        self.count += 1;
    }

    /// Pushes `obj`, writing its link word through `link` (the same address, possibly with the
    /// caller's narrower provenance, see `SlabPool::own`).
    ///
    /// # Safety
    /// As [`Batch::push`], and `link` is `obj`'s address, valid for writing one pointer.
    #[inline]
    pub(crate) unsafe fn push_linked(&mut self, obj: *mut u8, link: *mut u8) {
        debug_assert_eq!(obj.addr(), link.addr());
        // SAFETY: the caller guarantees `link` is writable, aligned and free.
        unsafe { link.cast::<*mut u8>().write(self.head) };
        self.head = obj;
        self.count += 1;
    }

    /// Pops an object, or returns null when empty.
    ///
    /// # Safety
    /// Every object in the list is still free and was pushed with [`Batch::push`] (its word 0
    /// holds the next object).
    #[inline]
    pub(crate) unsafe fn pop(&mut self) -> *mut u8 {
        let head = self.head;
        if !head.is_null() {
            // SAFETY: `head` is a free object of this list; word 0 is its link.
            self.head = unsafe { head.cast::<*mut u8>().read() };
            self.count -= 1;
        }
        head
    }

    /// Takes the whole list, leaving it empty.
    #[inline]
    pub(crate) fn take(&mut self) -> Batch {
        core::mem::replace(self, Batch::EMPTY)
    }
}

/// A stack of full magazines (the depot of one class), linked through word 1 of each
/// magazine's head object.
#[derive(Debug)]
pub(crate) struct MagazineStack {
    head: *mut u8,
    pub(crate) len: usize,
}

impl MagazineStack {
    /// The empty stack.
    pub(crate) const EMPTY: MagazineStack = MagazineStack {
        head: ptr::null_mut(),
        len: 0,
    };

    /// Pushes a non-empty magazine.
    ///
    /// # Safety
    /// `mag` is a non-empty list of free objects not in any other list.
    pub(crate) unsafe fn push(&mut self, mag: Batch) {
        debug_assert!(!mag.head.is_null());
        // SAFETY: the head object is free and has a second word (objects are >= 64 bytes).
        unsafe { mag.head.cast::<*mut u8>().add(1).write(self.head) };
        self.head = mag.head;
        self.len += 1;
    }

    /// Pops a magazine of `count` objects (every magazine in the stack has the class's batch
    /// size), or `None` when empty.
    ///
    /// # Safety
    /// The stack was built with [`MagazineStack::push`] of magazines of `count` objects.
    pub(crate) unsafe fn pop(&mut self, count: usize) -> Option<Batch> {
        let head = self.head;
        if head.is_null() {
            return None;
        }
        // SAFETY: `head` heads a magazine in this stack; word 1 links the next magazine.
        self.head = unsafe { head.cast::<*mut u8>().add(1).read() };
        self.len -= 1;
        Some(Batch { head, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_is_lifo_and_magazines_keep_their_objects() {
        let mut storage = [[0usize; 8]; 4];
        let objs: std::vec::Vec<*mut u8> =
            storage.iter_mut().map(|o| o.as_mut_ptr().cast()).collect();
        let mut b = Batch::EMPTY;
        // SAFETY: each object is a distinct, aligned 64-byte array owned by this test.
        unsafe {
            for &o in &objs {
                b.push(o);
            }
            assert_eq!(b.count, 4);
            let mut stack = MagazineStack::EMPTY;
            stack.push(b.take());
            assert!(b.head.is_null());
            let mut m = stack.pop(4).unwrap();
            assert!(stack.pop(4).is_none());
            for &o in objs.iter().rev() {
                assert_eq!(m.pop(), o);
            }
            assert!(m.pop().is_null());
            assert_eq!(m.count, 0);
        }
    }
}
