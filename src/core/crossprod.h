// Weighted cross products C_q = A' diag(w_q) B of short column-major blocks
// and a scaled accumulation, the kernels of P4L's policy-dependent and U-only
// sums (P4LProblem::individual_B_sums(), chunk_u_only_sums()). Two
// transcriptions of each loop: portable C++ and AVX2 with FMA (x86-64,
// chosen at run time when the CPU has both), like vexp.h. They differ in
// the last bits only (fused multiply-adds); on one machine a fit is the same
// for any thread count.
#pragma once
#include <cstddef>

namespace p4l {

// C_q = A' diag(W(., q)) B for q < nw (d x e each, stored one after the other:
// C_q at C + q d e, leading dimension d): sum_k A(k, j) W(k, q) B(k, l), k < T.
// A: T x d (lda), B: T x e (ldb), W: T x nw (ldw); scratch: T d doubles.
// Built for the short blocks of P4L (a few transitions per individual and
// action): A's rows are transposed once into scratch and every C_q(., l) is a
// sum of T axpys over the d rows of C, vectorised over j (no horizontal
// sums), in the order k = 0, 1, ..., T - 1.
void weighted_crossprods(const double* A, std::ptrdiff_t lda, const double* B, std::ptrdiff_t ldb,
                         const double* W, std::ptrdiff_t ldw, int nw, int T, int d, int e,
                         double* C, double* scratch);

// y_q[j] += w_q x[j] for q < nw, j < len (one pass over x).
void scaled_accumulate(const double* x, std::ptrdiff_t len, const double* w, int nw,
                       double* const* y);

// The same with a given transcription ("portable" or "avx2"; false if that
// one is not available on this CPU): tests.
bool weighted_crossprods_with(const char* kind, const double* A, std::ptrdiff_t lda,
                              const double* B, std::ptrdiff_t ldb, const double* W,
                              std::ptrdiff_t ldw, int nw, int T, int d, int e, double* C);
bool scaled_accumulate_with(const char* kind, const double* x, std::ptrdiff_t len,
                            const double* w, int nw, double* const* y);

}  // namespace p4l
