// The weighted cross product C = A' diag(w) B of two tall column-major blocks,
// the kernel of P4L's policy-dependent sums (P4LProblem::individual_B_sums()).
// Two transcriptions of one loop: portable C++ and AVX2 with FMA (x86-64,
// chosen at run time when the CPU has both), like vexp.h. They differ in
// the last bits only (fused multiply-adds); on one machine a fit is the same
// for any thread count.
#pragma once
#include <cstddef>

namespace p4l {

// C (d x e, leading dimension ldc) = sum_k A(k, j) w_k B(k, l), k < T;
// A: T x d (leading dimension lda), B: T x e (ldb), w: T; wb: scratch (T).
void weighted_crossprod(const double* A, std::ptrdiff_t lda, const double* B, std::ptrdiff_t ldb,
                        const double* w, int T, int d, int e, double* C, std::ptrdiff_t ldc,
                        double* wb);

// The same with a given transcription: "portable" or "avx2"; false if that
// one is not available on this CPU (tests).
bool weighted_crossprod_with(const char* kind, const double* A, std::ptrdiff_t lda, const double* B,
                             std::ptrdiff_t ldb, const double* w, int T, int d, int e, double* C,
                             std::ptrdiff_t ldc);

}  // namespace p4l
