// exp() over arrays of doubles, for the softmax of the initial-state policies
// (the largest elementwise cost of a P4L evaluation: states x individuals x
// actions exponentials per pass).
//
// One algorithm (Cephes' rational approximation: x = n ln2 + r with n the
// nearest integer, |r| <= ln2/2, exp(r) = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)),
// then the product with 2^n built in the exponent bits), written three times
// with the same operations in the same order: a scalar loop, SSE2 (every
// x86-64 CPU) and AVX2 (chosen at run time when the CPU has it; not on
// Windows, whose GCC does not align the stack for AVX). Every step is a
// correctly rounded IEEE operation or an integer shift (no fused
// multiply-add, no library call), so on x86-64 the three give bitwise the
// same result on any CPU and for any thread count (elsewhere only the scalar
// loop runs; a compiler that contracts its multiply-adds into FMAs may change
// the last bit there). Accuracy: within 2 ulp of exp()
// on [-708, 709]; below -708 the result is 0 (exp < 3.3e-308), above 709 it
// is +Inf, and NaN stays NaN.
#pragma once
#include <cstddef>

namespace p4l {

// x[k] <- exp(x[k]) for k < n.
void vexp_inplace(double* x, std::ptrdiff_t n);

// Which implementation runs on this CPU ("avx2", "sse2" or "scalar").
const char* vexp_kind();

// The named implementation ("avx2", "sse2", "scalar"), for the tests that
// compare them; false (x untouched) when this CPU or build does not have it.
bool vexp_inplace_with(double* x, std::ptrdiff_t n, const char* kind);

}  // namespace p4l
