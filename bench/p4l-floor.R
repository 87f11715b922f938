# Where P4L's time goes at 10^6 transitions, against the machine's floor
# (issue 16, item 1): the flop count and the memory traffic of one value pass
# and one gradient pass, their measured times, and the fraction of the
# machine's peak they achieve. The peak is measured with a dense matrix
# product (Eigen, 2000 x 2000, one thread per core; compiled here with
# Rcpp::sourceCpp twice: with the package's flags, SSE2 as R builds it, and
# with -mavx2 -mfma, what the hardware can do).
# Usage: R_LIBS=<library> Rscript bench/p4l-floor.R [out.csv]
args <- commandArgs(TRUE)
out.csv <- if (length(args) >= 1) args[1] else ""
suppressPackageStartupMessages(library(p4l))
stopifnot(requireNamespace("Rcpp", quietly = TRUE), requireNamespace("RcppEigen", quietly = TRUE),
          requireNamespace("RcppParallel", quietly = TRUE))
ns <- asNamespace("p4l")

# ---- 1. the peak: C = A B, 2000 x 2000, one product per thread
gemm_code <- '
// [[Rcpp::depends(RcppEigen, RcppParallel)]]
#include <RcppEigen.h>
#include <RcppParallel.h>
#include <chrono>
struct Gemm : RcppParallel::Worker {
  int n, reps;
  Gemm(int n_, int reps_) : n(n_), reps(reps_) {}
  void operator()(std::size_t lo, std::size_t hi) {
    for (std::size_t t = lo; t < hi; ++t) {
      Eigen::MatrixXd A = Eigen::MatrixXd::Random(n, n), B = Eigen::MatrixXd::Random(n, n), C(n, n);
      for (int k = 0; k < reps; ++k) C.noalias() = A * B;
      if (C(0, 0) == 12345.678) Rcpp::Rcout << "";
    }
  }
};
// [[Rcpp::export]]
double gemm_gflops(int n, int reps, int threads) {
  Gemm w(n, reps);
  const auto t0 = std::chrono::steady_clock::now();
  RcppParallel::parallelFor(0, threads, w, 1, threads);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * n * n * n * reps * threads / s / 1e9;
}'
peak <- function(flags) {
  old <- Sys.getenv("PKG_CXXFLAGS")
  Sys.setenv(PKG_CXXFLAGS = paste("-DEIGEN_DONT_PARALLELIZE", flags))
  on.exit(Sys.setenv(PKG_CXXFLAGS = old))
  env <- new.env()
  Rcpp::sourceCpp(code = gemm_code, env = env, rebuild = TRUE, showOutput = FALSE)
  env$gemm_gflops(400L, 2L, 1L)  # warm up
  c(one = max(replicate(3, env$gemm_gflops(2000L, 2L, 1L))),
    two = max(replicate(3, env$gemm_gflops(2000L, 2L, 2L))))
}
pk.sse2 <- peak("")
pk.avx2 <- peak("-mavx2 -mfma")
cat(sprintf("peak GFLOP/s, dense product: package flags (SSE2) %.1f (1 thread) %.1f (2); -mavx2 -mfma %.1f / %.1f\n",
            pk.sse2[["one"]], pk.sse2[["two"]], pk.avx2[["one"]], pk.avx2[["two"]]))

# ---- 2. one value pass and one gradient pass at n = 10^6 (the fit of bench/p4l-speed.R)
sim <- sim_linear2d(num.per.group = 3333, T = 100, seed = 1)
d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
b <- rbf_basis(d, 16, seed = 1, num.threads = 2)
rm(sim); invisible(gc())
feat <- ns$estimator_features(d, b, 1, 2L, guard = function(d) NULL)
inp <- ns$p4l_inputs(d, feat$psi, feat$psi.next, ns$basis_features(b, d$S0, 2L))
N <- length(d$ids); n <- length(d$R); dd <- ncol(feat$psi); m <- 2L; r <- 3L; n0 <- 1000L
set.seed(1)
U <- cbind(1, matrix(rnorm(N * (r - 1L)), N))
Th <- matrix(rnorm(dd * r) * 0.1, dd * (m - 1L), r)
dual <- function(grad, th) system.time(ns$p4l_dual_cpp(inp$transitions, inp$psi0, Th, U, 0.9,
  0.05, 1e-6, grad, th, 0.02, n0, 1, FALSE))[["elapsed"]]
values <- function(k, th) system.time(ns$p4l_values_cpp(inp$transitions, inp$psi0,
  rep(list(Th), k), U, 0.9, 0.05, 1e-6, th, 0.02, n0, 1, FALSE))[["elapsed"]]
per.pass <- function(th) {
  # construction + 1 value pass (U-only sums included) vs + 9 more value passes (U cached)
  v1 <- stats::median(replicate(3, values(1L, th)))
  v10 <- stats::median(replicate(3, values(10L, th)))
  g0 <- stats::median(replicate(3, dual(FALSE, th)))
  g1 <- stats::median(replicate(3, dual(TRUE, th)))
  c(value = (v10 - v1) / 9, gradient = g1 - g0, construction.and.first = v1)
}
t1 <- per.pass(1L)
t2 <- per.pass(2L)

# ---- 3. flops (multiply-adds x 2) and bytes of one pass
p <- m * dd; npair <- r * (r + 1) / 2
fl.value <- 2 * (n * dd * (m - 1) * dd +        # policy-dependent sums psi' diag(pi) psi'
                 n * dd * (m - 1) +             # next-state logits
                 N * n0 * r * (m - 1) * 2)      # initial-state logits and sums
fl.grad <- 2 * (2 * n * dd * (2 * m + (m - 1) + 2) +  # two bilinear terms, 7 d per transition
                N * n0 * r * (m + 2 * (m - 1) + 1))   # initial-state gradient
bytes.pass <- 2 * n * dd * 8                          # psi and psi' read once per pass
res <- data.frame(
  pass = c("value", "gradient"),
  gflop = c(fl.value, fl.grad) / 1e9,
  mbytes.read = bytes.pass / 1e6,
  sec.1thread = c(t1[["value"]], t1[["gradient"]]),
  sec.2threads = c(t2[["value"]], t2[["gradient"]]))
res$gflops.2threads <- res$gflop / res$sec.2threads
res$frac.peak.sse2 <- res$gflops.2threads / pk.sse2[["two"]]
res$frac.peak.avx2 <- res$gflops.2threads / pk.avx2[["two"]]
res$gbytes.per.s <- res$mbytes.read / 1e3 / res$sec.2threads
print(res, digits = 3, row.names = FALSE)
cat(sprintf("construction + first value pass: %.2f s (1 thread), %.2f s (2)\n",
            t1[["construction.and.first"]], t2[["construction.and.first"]]))
if (nzchar(out.csv)) {
  res$peak.sse2.2threads <- pk.sse2[["two"]]
  res$peak.avx2.2threads <- pk.avx2[["two"]]
  utils::write.csv(res, out.csv, row.names = FALSE)
}
