//! The counted Zen 3 floors of the activation kernels: the fewest core cycles per element an
//! AVX2+FMA kernel can take on a Zen 3 core with its data in L1, counted from the busiest
//! resource (the FMA/multiply pipes FP0/FP1, the divider, or the one 256-bit store per cycle)
//! for the operations the function needs. Source: `/work/shared/simd-zen3-notes.md` (the
//! project's notes on the AVX2 path; pipes and latencies from AMD's Family 19h optimization
//! guide as LLVM's znver3 model encodes them), where they were counted. They are a
//! Zen 3 property: on any other CPU the ratios are printed but never judged.

/// One function's floor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Floor {
    /// The function's name in `simd-kernels` (and in the benchmark groups).
    pub function: &'static str,
    /// Zen 3 core cycles per element at L1.
    pub cycles_per_element: f64,
    /// What bounds it.
    pub bound: &'static str,
}

/// Every benchmarked function, in the order the report prints them.
pub const FLOORS: [Floor; 10] = [
    Floor {
        function: "relu",
        cycles_per_element: 0.125,
        bound: "one 256-bit store per cycle",
    },
    Floor {
        function: "leaky_relu",
        cycles_per_element: 0.125,
        bound: "one 256-bit store per cycle",
    },
    Floor {
        function: "sigmoid",
        cycles_per_element: 0.69,
        bound: "FP0/FP1 with the divide form",
    },
    Floor {
        function: "tanh",
        cycles_per_element: 0.81,
        bound: "FP0/FP1",
    },
    Floor {
        function: "gelu",
        cycles_per_element: 1.06,
        bound: "FP0/FP1",
    },
    Floor {
        function: "gelu_tanh",
        cycles_per_element: 1.06,
        bound: "FP0/FP1",
    },
    Floor {
        function: "silu",
        cycles_per_element: 0.75,
        bound: "FP0/FP1",
    },
    Floor {
        function: "elu",
        cycles_per_element: 0.75,
        bound: "FP0/FP1",
    },
    Floor {
        function: "exp",
        cycles_per_element: 0.625,
        bound: "FP0/FP1",
    },
    Floor {
        function: "softmax",
        cycles_per_element: 0.81,
        bound: "FP0/FP1 over its three passes",
    },
];

/// The floor of `function`, `None` for a function without one.
pub fn floor(function: &str) -> Option<&'static Floor> {
    FLOORS.iter().find(|f| f.function == function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_its_counted_floor() {
        let expected = [
            ("relu", 0.125),
            ("leaky_relu", 0.125),
            ("sigmoid", 0.69),
            ("silu", 0.75),
            ("tanh", 0.81),
            ("elu", 0.75),
            ("gelu", 1.06),
            ("gelu_tanh", 1.06),
            ("exp", 0.625),
            ("softmax", 0.81),
        ];
        for (f, c) in expected {
            assert_eq!(floor(f).map(|f| f.cycles_per_element), Some(c), "{f}");
        }
        assert_eq!(FLOORS.len(), expected.len());
    }

    #[test]
    fn lookup_is_by_exact_name() {
        assert_eq!(floor("gelu").unwrap().function, "gelu");
        assert_eq!(floor("gelu_tanh").unwrap().function, "gelu_tanh");
        assert!(floor("copy").is_none());
        assert!(floor("GELU").is_none());
    }
}
