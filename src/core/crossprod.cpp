#include "crossprod.h"

#include <string>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define P4L_XPROD_AVX2 1
#include <immintrin.h>
#endif

namespace p4l {
namespace {

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
      _mm256_storeu_pd(y0 + j,
                       _mm256_fmadd_pd(s0, _mm256_loadu_pd(x + j), _mm256_loadu_pd(y0 + j)));
    for (; j < len; ++j) y0[j] += w[q] * x[j];
  }
}

bool have_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

}  // namespace

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

}  // namespace p4l
