# Memory guard: every estimator estimates its largest allocations from the
# problem sizes and stops with an error that names the argument to change
# before it allocates more than the machine has.
#
# The estimates count 8-byte doubles held at the same time (the peak), not
# every temporary; they are meant to be right to within a factor of about 2
# for large problems, where they matter. Notation: n transitions, N
# individuals, d basis functions (intercept included), m actions,
# p = m d Q weights, r the rank of p4l(), T threads.

# Bytes the process may still allocate: the option p4l.max.memory (bytes) when
# set, else MemAvailable of /proc/meminfo, else Inf (no check).
memory_limit <- function() {
  opt <- getOption("p4l.max.memory", NULL)
  if (!is.null(opt)) {
    if (!is.numeric(opt) || length(opt) != 1L || is.na(opt) || opt <= 0) {
      stop_arg("The option `p4l.max.memory` must be a positive number of bytes.")
    }
    return(as.numeric(opt))
  }
  avail <- tryCatch({
    if (!file.exists("/proc/meminfo")) NA_real_ else {
      lines <- readLines("/proc/meminfo", warn = FALSE)
      hit <- grep("^MemAvailable:", lines, value = TRUE)
      if (length(hit) == 0L) NA_real_ else {
        kb <- as.numeric(strsplit(trimws(sub("^MemAvailable:", "", hit[1])), "[[:space:]]+")[[1]][1])
        kb * 1024
      }
    }
  }, error = function(e) NA_real_)
  if (is.na(avail) || !is.finite(avail) || avail <= 0) Inf else avail
}

format_bytes <- function(bytes) {
  units <- c("bytes", "kB", "MB", "GB", "TB", "PB")
  k <- if (bytes < 1000) 1L else min(length(units), floor(log(bytes, 1000)) + 1L)
  val <- bytes / 1000^(k - 1L)
  paste(trimws(formatC(val, digits = if (k == 1L) 0 else 3,
                      format = if (k == 1L) "d" else "fg", big.mark = ",")), units[k])
}

# Stops before an allocation of `bytes` that will not fit. `what` says who
# needs it and for what ("acpi() would need ... for ..."), `arg` the argument(s)
# to change (a sentence).
check_memory <- function(bytes, what, arg) {
  limit <- memory_limit()
  if (is.finite(bytes) && bytes <= limit) return(invisible(bytes))
  src <- if (is.null(getOption("p4l.max.memory", NULL))) "the available memory (MemAvailable)" else
    "the limit set by options(p4l.max.memory)"
  stop_arg(what, " would need about ", format_bytes(bytes), " but ", src, " is ",
           format_bytes(limit), ". ", arg)
}

# ---- size formulas (bytes); each returns a named vector of its parts ----

# Transition features: psi and psi_next (n x d) in R and their copies in the
# C++ transitions.
features_bytes <- function(n, d) c(features = 8 * 4 * n * d)

# acpi() with clusters given: LSPI within each cluster accumulates the LSTD-Q
# matrix A (p x p) directly over the cluster's transitions, factorises it
# (FullPivLU: a p x p copy) and gathers rows in chunks of 1,024 (two
# 1024 x d blocks per task, at most T tasks at once):
#   8 (4 n d + 3 p^2 + 2 * 1024 d T).
# Without clusters (the fusion path) acpe() also keeps, per individual, the
# quadratic loss (its matrix without the ridge, p x p); per thread the moment
# matrices M, S and S^{-1}M with their factor (about 5 p^2); the coefficients
# at every lambda of the path (p x N each, up to num.lambda + 3); and, when K
# is fixed, up to N cluster sums (p x p) and their merge costs (N x N). With
# every pair in the fusion graph ("complete") the ADMM keeps the inverse P_i
# (p x p) per individual and the pair variables eta and v (p x N(N-1)/2
# each):
#   8 (2 N p^2 + 5 T p^2 + p N (N - 1) + (L + 3) p N + [K] (N p^2 + N^2)).
# With the sparse graph ("knn", at most N (k + 1) edges) it keeps per edge
# two copies and two duals (4 p, in single precision: 2 p doubles' worth),
# and per individual either the loss matrix
# and the ADMM inverse (2 p^2) or, with T_i < p transitions, a low-rank
# factor and its small inverse (T_i p + T_i^2 <= 2 T_i p): at most 2 min(n p,
# N p^2) in all:
#   8 (2 min(n p, N p^2) + 5 T p^2 + 2 p N (k + 1) + (L + 3) p N
#      + [K] (N p^2 + N^2)).
acpi_bytes <- function(n, N, d, m, clusters.given, num.lambda = 20, K.fixed = FALSE,
                       threads = 1L, graph = "complete", num.neighbors = 10) {
  p <- m * d
  out <- c(features_bytes(n, d), lstdq = 8 * (3 * p^2 + 2 * 1024 * d * threads))
  if (!clusters.given) {
    sparse <- identical(graph, "knn")
    out <- c(out,
             individuals = 8 * 2 * if (sparse) min(n * p, N * p^2) else N * p^2,
             threads = 8 * 5 * threads * p^2,
             pairs = if (sparse) 4 * 4 * p * N * (num.neighbors + 1) else 8 * p * N * (N - 1),
             path = 8 * (num.lambda + 3) * p * N,
             merge = if (K.fixed) 8 * (N * p^2 + N^2) else 0)
  }
  out
}

# fqi(): per-action Gram matrices accumulated over the action's transitions
# and their factors (2 m d^2), rows gathered in chunks of 1,024 (2 * 1024 d
# per thread), per-individual right-hand sides (N d m) and the targets (n):
#   8 (4 n d + 2 m d^2 + 2 * 1024 d T + N d m + n).
fqi_bytes <- function(n, N, d, m, threads = 1L) {
  c(features_bytes(n, d), gram = 8 * (2 * m * d^2 + 2 * 1024 * d * threads),
    rhs = 8 * (N * d * m + n))
}

# vlearning(): psi(S) - gamma psi(S') (n x d), the policy probabilities (n x m)
# and weights (n), and per chunk of 512 transitions a d x d moment matrix and
# a d x m gradient: 8 (5 n d + n (m + 1) + ceiling(n / 512) (d^2 + d m + d)).
vlearning_bytes <- function(n, d, m) {
  nch <- ceiling(n / 512)
  c(features_bytes(n, d), delta = 8 * (n * d + n * (m + 1)),
    chunks = 8 * nch * (d^2 + d * m + d))
}

# p4l(): the sorted feature copies (2 n d), the per-individual blocks A_i and
# K_i (d x N m d each) and b_i (p x N), per chunk of individuals the pair sums
# (d x r(r+1)/2 m (m - 1) d and two d x r(r+1)/2 m d, plus the reduced
# sums), the initial-state sums (two n0ext x (m - 1) r: n0ext = N, or
# N + n0 - 1 when each block of individuals takes its own window of n0 of the
# N initial states) and the initial-state
# tiles (logits, probabilities, Q-values and their mean: (3 m + 1) ts x 64,
# ts = the tile's states, as in the core), the policy at the next states
# (n x m) and the inner system of size q = p r (M, Sigma, H, its factor, the
# preconditioner and a spare: 6 q^2):
#   8 (6 n d + 2 N m d^2 + p N + (nch + 1) r(r+1)/2 (m + 1) m d^2
#      + nch (2 n0ext (m - 1) r + (3 m + 1) ts 64) + n m + 6 (p r)^2),
# nch = max(1, min(32, N / 4, 10^6 / (m (m - 1) d^2))) as in the core.
p4l_bytes <- function(n, N, d, m, r, n0 = min(N, 1000), n0ext = if (N > n0) N + n0 - 1 else N) {
  p <- m * d
  npair <- r * (r + 1) / 2
  nch <- max(1, min(32, N %/% 4, floor(1e6 / max(1, m * (m - 1) * d^2))))
  ts <- min(n0, max(4, floor(192 * 1024 / (3 * m * 64 * 8))))
  c(features_bytes(n, d), sorted = 8 * 2 * n * d, individuals = 8 * (2 * N * m * d^2 + p * N),
    chunks = 8 * ((nch + 1) * npair * (m + 1) * m * d^2 +
                    nch * (2 * n0ext * (m - 1) * r + (3 * m + 1) * ts * 64)),
    policy = 8 * n * m, inner = 8 * 6 * (p * r)^2)
}

# evaluate_policy(): per-id running sums (8 doubles per id) and one block of
# at most 2^15 episodes of three doubles; the episodes are streamed.
evaluate_bytes <- function(num.ids, num.episodes) {
  c(sums = 8 * 8 * num.ids, block = 8 * 3 * min(num.ids * num.episodes, 2^15))
}

# Largest number of simulated steps (ids x episodes x horizon) that
# evaluate_policy() runs without complaint: about an hour of computing on one
# core for the simplest environment; option p4l.max.evaluate.steps.
max_evaluate_steps <- function() getOption("p4l.max.evaluate.steps", 1e10)

# ---- guards called by the estimators ----

basis_size_text <- function(d, m) {
  paste0("`basis` has ", format(d - 1L, big.mark = ","), " features per action (",
         format(d, big.mark = ","), " with the intercept, p = ", format(m * d, big.mark = ","),
         " Q weights over ", m, " actions)")
}

guard_acpi <- function(data, d, clusters.given, control, K, threads) {
  n <- length(data$R); N <- length(data$ids); m <- length(data$action.levels)
  b <- acpi_bytes(n, N, d, m, clusters.given, control$num.lambda, !is.null(K), threads,
                  acpi_graph(control, N), control$num.neighbors)
  advice <- if (clusters.given) "Use a smaller basis (`rbf_basis(num.centers = )`)." else
    paste0("Give `clusters` (memory then grows with p^2, not N p^2 + N^2 p), or use a smaller ",
           "basis (`rbf_basis(num.centers = )`) or fewer individuals.")
  check_memory(sum(b), paste0(basis_size_text(d, m), " and ", format(N, big.mark = ","),
                              " individuals; acpi()",
                              if (clusters.given) " with `clusters`" else " without `clusters`"),
               advice)
}

guard_fqi <- function(data, d, threads = 1L) {
  n <- length(data$R); N <- length(data$ids); m <- length(data$action.levels)
  check_memory(sum(fqi_bytes(n, N, d, m, threads)),
               paste0(basis_size_text(d, m), " and ", format(N, big.mark = ","),
                      " individuals; fqi()"),
               "Use a smaller basis (`rbf_basis(num.centers = )`).")
}

guard_vlearning <- function(data, d) {
  n <- length(data$R); m <- length(data$action.levels)
  check_memory(sum(vlearning_bytes(n, d, m)),
               paste0(basis_size_text(d, m), " and ", format(n, big.mark = ","),
                      " transitions; vlearning()"),
               "Use a smaller basis (`rbf_basis(num.centers = )`).")
}

guard_p4l <- function(data, d, rank, control) {
  n <- length(data$R); N <- length(data$ids); m <- length(data$action.levels)
  mi <- control$max.initial  # resolved by p4l() (p4l_resolve_control())
  n0 <- if (mi > 0) min(N, mi) else N
  check_memory(sum(p4l_bytes(n, N, d, m, rank, n0)),
               paste0(basis_size_text(d, m), ", `rank` = ", rank, " and ",
                      format(N, big.mark = ","), " individuals; p4l()"),
               "Use a smaller basis (`rbf_basis(num.centers = )`) or a smaller `rank`.")
}

guard_evaluate <- function(num.ids, num.episodes, horizon = 1) {
  steps <- as.numeric(num.ids) * num.episodes * horizon
  if (steps > max_evaluate_steps()) {
    stop_arg("evaluate_policy() would simulate up to ", format(steps, big.mark = ",", digits = 4),
             " steps (", format(num.ids, big.mark = ","), " id(s) x `num.episodes` = ",
             format(num.episodes, big.mark = ","), " x `horizon` = ", horizon, "), more than ",
             "the limit of ", format(max_evaluate_steps(), big.mark = ",", digits = 4),
             ". Lower `num.episodes` (the standard error falls as 1/sqrt(num.episodes)), ",
             "or raise options(p4l.max.evaluate.steps =).")
  }
  check_memory(sum(evaluate_bytes(num.ids, num.episodes)),
               paste0("`num.episodes` = ", format(num.episodes, big.mark = ","), " for ",
                      format(num.ids, big.mark = ","), " ids; evaluate_policy()"),
               "Evaluate fewer `ids` at a time.")
}
