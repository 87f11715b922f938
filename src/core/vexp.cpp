// exp() over arrays: one algorithm, three transcriptions (see vexp.h). Each
// transcription below follows the same numbered steps; keep them in step.
#include "vexp.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define P4L_VEXP_X86 1
#include <immintrin.h>
// Not on Windows: MinGW GCC does not keep the stack 32-byte aligned, which
// AVX spills need.
#if !defined(_WIN32)
#define P4L_VEXP_AVX2 1
#endif
#endif

namespace p4l {
namespace {

constexpr double kLo = -708.0, kHi = 709.0;
constexpr double kLog2e = 1.4426950408889634073599;
constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52: (t + kRound) - kRound rounds t
constexpr double kC1 = 0.693145751953125;      // ln 2 = kC1 + kC2, kC1 * n exact for |n| < 2^11
constexpr double kC2 = 1.42860682030941723212e-6;
constexpr double kP0 = 1.26177193074810590878e-4, kP1 = 3.02994407707441961300e-2,
                 kP2 = 9.99999999999999999910e-1;
constexpr double kQ0 = 3.00198505138664455042e-6, kQ1 = 2.52448340349684104192e-3,
                 kQ2 = 2.27265548208155028766e-1, kQ3 = 2.00000000000000000009e0;

inline double vexp_scalar1(double x0) {
  // 1. clamp
  double x = x0 < kLo ? kLo : x0;
  x = x > kHi ? kHi : x;
  // 2. n = nearest integer of x log2(e); r = x - n ln 2 (two steps)
  const double n = (x * kLog2e + kRound) - kRound;
  double r = x - n * kC1;
  r = r - n * kC2;
  // 3. exp(r) = 1 + 2 r P / (Q - r P)
  const double r2 = r * r;
  double px = kP0 * r2 + kP1;
  px = px * r2 + kP2;
  px = px * r;
  double qx = kQ0 * r2 + kQ1;
  qx = qx * r2 + kQ2;
  qx = qx * r2 + kQ3;
  double e = px / (qx - px);
  e = 1.0 + 2.0 * e;
  // 4. times 2^n: the bits of (n + 1023) + kRound shifted into the exponent field
  const double nb = (n + 1023.0) + kRound;
  std::uint64_t bits;
  std::memcpy(&bits, &nb, sizeof bits);
  bits <<= 52;
  double two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  double y = e * two_n;
  // 5. out of range and NaN
  y = x0 > kHi ? std::numeric_limits<double>::infinity() : y;
  y = x0 < kLo ? 0.0 : y;
  y = (x0 != x0) ? x0 : y;
  return y;
}

void vexp_scalar(double* x, std::ptrdiff_t n) {
  for (std::ptrdiff_t k = 0; k < n; ++k) x[k] = vexp_scalar1(x[k]);
}

#ifdef P4L_VEXP_X86

inline __m128d vexp_sse2_1(__m128d x0) {
  const __m128d lo = _mm_set1_pd(kLo), hi = _mm_set1_pd(kHi), rnd = _mm_set1_pd(kRound);
  // 1.
  __m128d x = _mm_max_pd(x0, lo);
  x = _mm_min_pd(x, hi);
  // 2.
  const __m128d n =
      _mm_sub_pd(_mm_add_pd(_mm_mul_pd(x, _mm_set1_pd(kLog2e)), rnd), rnd);
  __m128d r = _mm_sub_pd(x, _mm_mul_pd(n, _mm_set1_pd(kC1)));
  r = _mm_sub_pd(r, _mm_mul_pd(n, _mm_set1_pd(kC2)));
  // 3.
  const __m128d r2 = _mm_mul_pd(r, r);
  __m128d px = _mm_add_pd(_mm_mul_pd(_mm_set1_pd(kP0), r2), _mm_set1_pd(kP1));
  px = _mm_add_pd(_mm_mul_pd(px, r2), _mm_set1_pd(kP2));
  px = _mm_mul_pd(px, r);
  __m128d qx = _mm_add_pd(_mm_mul_pd(_mm_set1_pd(kQ0), r2), _mm_set1_pd(kQ1));
  qx = _mm_add_pd(_mm_mul_pd(qx, r2), _mm_set1_pd(kQ2));
  qx = _mm_add_pd(_mm_mul_pd(qx, r2), _mm_set1_pd(kQ3));
  __m128d e = _mm_div_pd(px, _mm_sub_pd(qx, px));
  e = _mm_add_pd(_mm_set1_pd(1.0), _mm_mul_pd(_mm_set1_pd(2.0), e));
  // 4.
  const __m128d nb = _mm_add_pd(_mm_add_pd(n, _mm_set1_pd(1023.0)), rnd);
  const __m128d two_n = _mm_castsi128_pd(_mm_slli_epi64(_mm_castpd_si128(nb), 52));
  __m128d y = _mm_mul_pd(e, two_n);
  // 5.
  const __m128d big = _mm_cmpgt_pd(x0, hi);
  y = _mm_or_pd(_mm_and_pd(big, _mm_set1_pd(std::numeric_limits<double>::infinity())),
                _mm_andnot_pd(big, y));
  y = _mm_andnot_pd(_mm_cmplt_pd(x0, lo), y);
  const __m128d nan = _mm_cmpunord_pd(x0, x0);
  y = _mm_or_pd(_mm_and_pd(nan, x0), _mm_andnot_pd(nan, y));
  return y;
}

void vexp_sse2(double* x, std::ptrdiff_t n) {
  std::ptrdiff_t k = 0;
  for (; k + 2 <= n; k += 2) _mm_storeu_pd(x + k, vexp_sse2_1(_mm_loadu_pd(x + k)));
  for (; k < n; ++k) x[k] = vexp_scalar1(x[k]);
}

#ifdef P4L_VEXP_AVX2
__attribute__((target("avx2"))) inline __m256d vexp_avx2_1(__m256d x0) {
  const __m256d lo = _mm256_set1_pd(kLo), hi = _mm256_set1_pd(kHi), rnd = _mm256_set1_pd(kRound);
  // 1.
  __m256d x = _mm256_max_pd(x0, lo);
  x = _mm256_min_pd(x, hi);
  // 2.
  const __m256d n =
      _mm256_sub_pd(_mm256_add_pd(_mm256_mul_pd(x, _mm256_set1_pd(kLog2e)), rnd), rnd);
  __m256d r = _mm256_sub_pd(x, _mm256_mul_pd(n, _mm256_set1_pd(kC1)));
  r = _mm256_sub_pd(r, _mm256_mul_pd(n, _mm256_set1_pd(kC2)));
  // 3.
  const __m256d r2 = _mm256_mul_pd(r, r);
  __m256d px = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(kP0), r2), _mm256_set1_pd(kP1));
  px = _mm256_add_pd(_mm256_mul_pd(px, r2), _mm256_set1_pd(kP2));
  px = _mm256_mul_pd(px, r);
  __m256d qx = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(kQ0), r2), _mm256_set1_pd(kQ1));
  qx = _mm256_add_pd(_mm256_mul_pd(qx, r2), _mm256_set1_pd(kQ2));
  qx = _mm256_add_pd(_mm256_mul_pd(qx, r2), _mm256_set1_pd(kQ3));
  __m256d e = _mm256_div_pd(px, _mm256_sub_pd(qx, px));
  e = _mm256_add_pd(_mm256_set1_pd(1.0), _mm256_mul_pd(_mm256_set1_pd(2.0), e));
  // 4.
  const __m256d nb = _mm256_add_pd(_mm256_add_pd(n, _mm256_set1_pd(1023.0)), rnd);
  const __m256d two_n = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(nb), 52));
  __m256d y = _mm256_mul_pd(e, two_n);
  // 5.
  const __m256d big = _mm256_cmp_pd(x0, hi, _CMP_GT_OQ);
  y = _mm256_blendv_pd(y, _mm256_set1_pd(std::numeric_limits<double>::infinity()), big);
  y = _mm256_andnot_pd(_mm256_cmp_pd(x0, lo, _CMP_LT_OQ), y);
  y = _mm256_blendv_pd(y, x0, _mm256_cmp_pd(x0, x0, _CMP_UNORD_Q));
  return y;
}

__attribute__((target("avx2"))) void vexp_avx2(double* x, std::ptrdiff_t n) {
  std::ptrdiff_t k = 0;
  for (; k + 4 <= n; k += 4) _mm256_storeu_pd(x + k, vexp_avx2_1(_mm256_loadu_pd(x + k)));
  for (; k < n; ++k) x[k] = vexp_scalar1(x[k]);
}

bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#else
bool have_avx2() { return false; }
void vexp_avx2(double* x, std::ptrdiff_t n) { vexp_sse2(x, n); }
#endif  // P4L_VEXP_AVX2

#endif  // P4L_VEXP_X86

}  // namespace

void vexp_inplace(double* x, std::ptrdiff_t n) {
#ifdef P4L_VEXP_X86
  if (have_avx2())
    vexp_avx2(x, n);
  else
    vexp_sse2(x, n);
#else
  vexp_scalar(x, n);
#endif
}

bool vexp_inplace_with(double* x, std::ptrdiff_t n, const char* kind) {
  const std::string k(kind);
  if (k == "scalar") {
    vexp_scalar(x, n);
    return true;
  }
#ifdef P4L_VEXP_X86
  if (k == "sse2") {
    vexp_sse2(x, n);
    return true;
  }
  if (k == "avx2" && have_avx2()) {
    vexp_avx2(x, n);
    return true;
  }
#endif
  return false;
}

const char* vexp_kind() {
#ifdef P4L_VEXP_X86
  return have_avx2() ? "avx2" : "sse2";
#else
  return "scalar";
#endif
}

}  // namespace p4l
