#include "crossprod.h"

#include <string>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define P4L_XPROD_AVX2 1
#include <immintrin.h>
#endif

namespace p4l {
namespace {

// Column l of B times w, into wb (T).
inline void weight_column(const double* B, const double* w, int T, double* wb) {
  for (int k = 0; k < T; ++k) wb[k] = w[k] * B[k];
}

void xprod_portable(const double* A, std::ptrdiff_t lda, const double* B, std::ptrdiff_t ldb,
                    const double* w, int T, int d, int e, double* C, std::ptrdiff_t ldc,
                    double* wb) {
  for (int l = 0; l < e; ++l) {
    weight_column(B + l * ldb, w, T, wb);
    for (int j = 0; j < d; ++j) {
      const double* a = A + j * lda;
      double s0 = 0, s1 = 0;
      int k = 0;
      for (; k + 2 <= T; k += 2) {
        s0 += a[k] * wb[k];
        s1 += a[k + 1] * wb[k + 1];
      }
      if (k < T) s0 += a[k] * wb[k];
      C[j + l * ldc] = s0 + s1;
    }
  }
}

// A's T rows, transposed: At[k d + j] = A(k, j).
inline void transpose_rows(const double* A, std::ptrdiff_t lda, int T, int d, double* At) {
  for (int j = 0; j < d; ++j) {
    const double* a = A + j * lda;
    for (int k = 0; k < T; ++k) At[static_cast<std::ptrdiff_t>(k) * d + j] = a[k];
  }
}

void xprods_portable(const double* A, std::ptrdiff_t lda, const double* B, std::ptrdiff_t ldb,
                     const double* W, std::ptrdiff_t ldw, int nw, int T, int d, int e, double* C,
                     double* At) {
  transpose_rows(A, lda, T, d, At);
  for (int q = 0; q < nw; ++q) {
    const double* w = W + q * ldw;
    for (int l = 0; l < e; ++l) {
      double* c = C + (static_cast<std::ptrdiff_t>(q) * e + l) * d;
      for (int j = 0; j < d; ++j) c[j] = 0.0;
      const double* b = B + l * ldb;
      for (int k = 0; k < T; ++k) {
        const double s = w[k] * b[k];
        const double* a = At + static_cast<std::ptrdiff_t>(k) * d;
        for (int j = 0; j < d; ++j) c[j] += s * a[j];
      }
    }
  }
}

void accumulate_portable(const double* x, std::ptrdiff_t len, const double* w, int nw,
                         double* const* y) {
  for (int q = 0; q < nw; ++q) {
    const double s = w[q];
    double* yq = y[q];
    for (std::ptrdiff_t j = 0; j < len; ++j) yq[j] += s * x[j];
  }
}

#ifdef P4L_XPROD_AVX2
__attribute__((target("avx2,fma"))) void xprods_avx2(const double* A, std::ptrdiff_t lda,
                                                     const double* B, std::ptrdiff_t ldb,
                                                     const double* W, std::ptrdiff_t ldw, int nw,
                                                     int T, int d, int e, double* C, double* At) {
  transpose_rows(A, lda, T, d, At);
  const int d4 = d & ~3;
  for (int q = 0; q < nw; ++q) {
    const double* w = W + q * ldw;
    for (int l = 0; l < e; ++l) {
      double* c = C + (static_cast<std::ptrdiff_t>(q) * e + l) * d;
      const double* b = B + l * ldb;
      int j = 0;
      for (; j + 8 <= d4; j += 8) {
        __m256d c0 = _mm256_setzero_pd(), c1 = c0;
        for (int k = 0; k < T; ++k) {
          const __m256d s = _mm256_set1_pd(w[k] * b[k]);
          const double* a = At + static_cast<std::ptrdiff_t>(k) * d + j;
          c0 = _mm256_fmadd_pd(s, _mm256_loadu_pd(a), c0);
          c1 = _mm256_fmadd_pd(s, _mm256_loadu_pd(a + 4), c1);
        }
        _mm256_storeu_pd(c + j, c0);
        _mm256_storeu_pd(c + j + 4, c1);
      }
      for (; j < d4; j += 4) {
        __m256d c0 = _mm256_setzero_pd();
        for (int k = 0; k < T; ++k)
          c0 = _mm256_fmadd_pd(_mm256_set1_pd(w[k] * b[k]),
                               _mm256_loadu_pd(At + static_cast<std::ptrdiff_t>(k) * d + j), c0);
        _mm256_storeu_pd(c + j, c0);
      }
      for (; j < d; ++j) {
        double r = 0;
        for (int k = 0; k < T; ++k) r += (w[k] * b[k]) * At[static_cast<std::ptrdiff_t>(k) * d + j];
        c[j] = r;
      }
    }
  }
}

__attribute__((target("avx2,fma"))) void accumulate_avx2(const double* x, std::ptrdiff_t len,
                                                         const double* w, int nw,
                                                         double* const* y) {
  const std::ptrdiff_t len4 = len & ~static_cast<std::ptrdiff_t>(3);
  int q = 0;
  for (; q + 2 <= nw; q += 2) {  // two outputs per pass over x
    const __m256d s0 = _mm256_set1_pd(w[q]), s1 = _mm256_set1_pd(w[q + 1]);
    double *y0 = y[q], *y1 = y[q + 1];
    std::ptrdiff_t j = 0;
    for (; j < len4; j += 4) {
      const __m256d xv = _mm256_loadu_pd(x + j);
      _mm256_storeu_pd(y0 + j, _mm256_fmadd_pd(s0, xv, _mm256_loadu_pd(y0 + j)));
      _mm256_storeu_pd(y1 + j, _mm256_fmadd_pd(s1, xv, _mm256_loadu_pd(y1 + j)));
    }
    for (; j < len; ++j) {
      y0[j] += w[q] * x[j];
      y1[j] += w[q + 1] * x[j];
    }
  }
  for (; q < nw; ++q) {
    const __m256d s0 = _mm256_set1_pd(w[q]);
    double* y0 = y[q];
    std::ptrdiff_t j = 0;
    for (; j < len4; j += 4)
      _mm256_storeu_pd(y0 + j, _mm256_fmadd_pd(s0, _mm256_loadu_pd(x + j), _mm256_loadu_pd(y0 + j)));
    for (; j < len; ++j) y0[j] += w[q] * x[j];
  }
}

__attribute__((target("avx2,fma"))) inline double hsum(__m256d v) {
  const __m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
  const __m128d s = _mm_add_pd(lo, hi);
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// Four columns j..j+3 of A against wb: the four dot products, by 4 rows of k
// at a time (the tail of fewer than 4 rows in scalar).
__attribute__((target("avx2,fma"))) void xprod_avx2(const double* A, std::ptrdiff_t lda,
                                                    const double* B, std::ptrdiff_t ldb,
                                                    const double* w, int T, int d, int e, double* C,
                                                    std::ptrdiff_t ldc, double* wb) {
  const int T4 = T & ~3;
  for (int l = 0; l < e; ++l) {
    weight_column(B + l * ldb, w, T, wb);
    double* c = C + l * ldc;
    int j = 0;
    for (; j + 4 <= d; j += 4) {
      const double *a0 = A + j * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
      __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
      for (int k = 0; k < T4; k += 4) {
        const __m256d x = _mm256_loadu_pd(wb + k);
        s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a0 + k), x, s0);
        s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a1 + k), x, s1);
        s2 = _mm256_fmadd_pd(_mm256_loadu_pd(a2 + k), x, s2);
        s3 = _mm256_fmadd_pd(_mm256_loadu_pd(a3 + k), x, s3);
      }
      double r0 = hsum(s0), r1 = hsum(s1), r2 = hsum(s2), r3 = hsum(s3);
      for (int k = T4; k < T; ++k) {
        r0 += a0[k] * wb[k];
        r1 += a1[k] * wb[k];
        r2 += a2[k] * wb[k];
        r3 += a3[k] * wb[k];
      }
      c[j] = r0;
      c[j + 1] = r1;
      c[j + 2] = r2;
      c[j + 3] = r3;
    }
    for (; j < d; ++j) {
      const double* a = A + j * lda;
      __m256d s = _mm256_setzero_pd();
      for (int k = 0; k < T4; k += 4)
        s = _mm256_fmadd_pd(_mm256_loadu_pd(a + k), _mm256_loadu_pd(wb + k), s);
      double r = hsum(s);
      for (int k = T4; k < T; ++k) r += a[k] * wb[k];
      c[j] = r;
    }
  }
}

bool have_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

}  // namespace

void weighted_crossprod(const double* A, std::ptrdiff_t lda, const double* B, std::ptrdiff_t ldb,
                        const double* w, int T, int d, int e, double* C, std::ptrdiff_t ldc,
                        double* wb) {
#ifdef P4L_XPROD_AVX2
  if (have_avx2_fma()) return xprod_avx2(A, lda, B, ldb, w, T, d, e, C, ldc, wb);
#endif
  xprod_portable(A, lda, B, ldb, w, T, d, e, C, ldc, wb);
}

void weighted_crossprods(const double* A, std::ptrdiff_t lda, const double* B, std::ptrdiff_t ldb,
                         const double* W, std::ptrdiff_t ldw, int nw, int T, int d, int e,
                         double* C, double* scratch) {
#ifdef P4L_XPROD_AVX2
  if (have_avx2_fma()) return xprods_avx2(A, lda, B, ldb, W, ldw, nw, T, d, e, C, scratch);
#endif
  xprods_portable(A, lda, B, ldb, W, ldw, nw, T, d, e, C, scratch);
}

void scaled_accumulate(const double* x, std::ptrdiff_t len, const double* w, int nw,
                       double* const* y) {
#ifdef P4L_XPROD_AVX2
  if (have_avx2_fma()) return accumulate_avx2(x, len, w, nw, y);
#endif
  accumulate_portable(x, len, w, nw, y);
}

bool weighted_crossprods_with(const char* kind, const double* A, std::ptrdiff_t lda,
                              const double* B, std::ptrdiff_t ldb, const double* W,
                              std::ptrdiff_t ldw, int nw, int T, int d, int e, double* C) {
  const std::string k(kind);
  std::vector<double> scratch(static_cast<std::size_t>(T > 0 ? T : 1) * (d > 0 ? d : 1));
  if (k == "portable") {
    xprods_portable(A, lda, B, ldb, W, ldw, nw, T, d, e, C, scratch.data());
    return true;
  }
#ifdef P4L_XPROD_AVX2
  if (k == "avx2" && have_avx2_fma()) {
    xprods_avx2(A, lda, B, ldb, W, ldw, nw, T, d, e, C, scratch.data());
    return true;
  }
#endif
  return false;
}

bool scaled_accumulate_with(const char* kind, const double* x, std::ptrdiff_t len,
                            const double* w, int nw, double* const* y) {
  const std::string k(kind);
  if (k == "portable") {
    accumulate_portable(x, len, w, nw, y);
    return true;
  }
#ifdef P4L_XPROD_AVX2
  if (k == "avx2" && have_avx2_fma()) {
    accumulate_avx2(x, len, w, nw, y);
    return true;
  }
#endif
  return false;
}

bool weighted_crossprod_with(const char* kind, const double* A, std::ptrdiff_t lda, const double* B,
                             std::ptrdiff_t ldb, const double* w, int T, int d, int e, double* C,
                             std::ptrdiff_t ldc) {
  const std::string k(kind);
  std::vector<double> scratch(T > 0 ? T : 1);
  double* wb = scratch.data();
  if (k == "portable") {
    xprod_portable(A, lda, B, ldb, w, T, d, e, C, ldc, wb);
    return true;
  }
#ifdef P4L_XPROD_AVX2
  if (k == "avx2" && have_avx2_fma()) {
    xprod_avx2(A, lda, B, ldb, w, T, d, e, C, ldc, wb);
    return true;
  }
#endif
  return false;
}

}  // namespace p4l
