# Speed and memory of p4l() (K = 3, rank 3, 16 RBF centres, 2 actions).
# Every measurement runs in a fresh R subprocess, which reports its elapsed
# fit time (basis given, so only the P4L fit is timed), CPU time, iterations
# and peak resident memory (VmHWM from /proc/self/status, i.e. the whole
# process including R itself).
#   1. paper scale: N = 60, T = 200 (median of 3 runs, 1 and 2 threads);
#   2. fit time vs n = N T from 1e4 to 1e6 (T = 100; N = 100 ... 10,000),
#      1 and 2 threads (at the largest size the best of three interleaved
#      pairs; column runs lists all three);
#   3. peak memory of each run (column peak.mb).
# Usage: Rscript bench/p4l-speed.R [max.n] [max.iter] [skip.paper] [out.csv]
#   max.n caps the size ladder (default 1e6); max.iter caps the ADMM
#   iterations (default: the p4l_control() default; sec.per.iter then gives
#   the cost of one iteration); skip.paper = 1 skips part 1; out.csv (optional)
#   also writes every run to a CSV (part = "paper" or "ladder"; used by
#   bench/run-targets.R).
args <- commandArgs(TRUE)
max.n <- if (length(args) >= 1) as.numeric(args[1]) else 1e6
max.iter <- if (length(args) >= 2 && args[2] != "NA") as.integer(args[2]) else NA_integer_
skip.paper <- length(args) >= 3 && args[3] == "1"
out.csv <- if (length(args) >= 4) args[4] else ""

lib <- Sys.getenv("R_LIBS")

one <- function(N, T, threads, seed = 1) {
  code <- sprintf('
    suppressPackageStartupMessages(library(p4l))
    sim <- sim_linear2d(num.per.group = %d, T = %d, seed = %d)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    b <- rbf_basis(d, 16, seed = 1, num.threads = %d)
    rm(sim); invisible(gc())
    ctl <- if (is.na(%d)) p4l_control() else p4l_control(max.iter = %d)
    t0 <- proc.time()
    fit <- suppressWarnings(p4l(d, K = 3, basis = b, seed = 1, num.threads = %d, control = ctl))
    tt <- proc.time() - t0
    st <- readLines("/proc/self/status")
    hwm <- as.numeric(gsub("[^0-9]", "", st[grep("^VmHWM", st)])) / 1024
    cat(sprintf("RESULT %%.3f %%.3f %%d %%d %%.0f\\n", tt[["elapsed"]],
                tt[["user.self"]] + tt[["sys.self"]], fit$iterations, fit$converged, hwm))',
    as.integer(N / 3), T, seed, threads, max.iter, max.iter, threads)
  f <- tempfile(fileext = ".R")
  writeLines(code, f)
  out <- system2(file.path(R.home("bin"), "Rscript"), f, stdout = TRUE, stderr = TRUE,
                 env = if (nzchar(lib)) paste0("R_LIBS=", lib) else character(0))
  unlink(f)
  res <- grep("^RESULT", out, value = TRUE)
  if (length(res) == 0L) {
    cat(out, sep = "\n")
    return(data.frame(N = N, T = T, threads = threads, elapsed = NA, cpu = NA,
                      iterations = NA, converged = NA, peak.mb = NA))
  }
  v <- as.numeric(strsplit(res, " ")[[1]][-1])
  data.frame(N = N, T = T, threads = threads, elapsed = v[1], cpu = v[2], iterations = v[3],
             converged = as.logical(v[4]), peak.mb = v[5])
}

if (!skip.paper) {
cat("== Paper scale: N = 60, T = 200 (median of 3) ==\n")
paper <- do.call(rbind, lapply(c(1, 2), function(th) {
  r <- do.call(rbind, lapply(1:3, function(s) one(60, 200, th, seed = s)))
  data.frame(threads = th, elapsed = stats::median(r$elapsed), cpu = stats::median(r$cpu),
             iterations = stats::median(r$iterations), peak.mb = max(r$peak.mb))
}))
print(paper, row.names = FALSE)
}

cat("\n== Fit time vs n = N T (T = 100) ==\n")
Ns <- c(100, 300, 1000, 3000, 10000, 1e5)  # 1e5 x 100 = 10^7 only when max.n >= 1e7
Ns <- Ns[Ns * 100 <= max.n]
# At the largest size, three interleaved pairs (1 thread, 2 threads, ...) and
# the fastest run of each: this VM's speed drifts by up to 40% between
# minutes (bench/README.md, "Measuring the thread ratio"), and the best of
# three interleaved runs is the estimate least moved by it. Smaller sizes: one pair.
ladder <- do.call(rbind, lapply(Ns, function(N) {
  reps <- if (N == max(Ns)) 3L else 1L
  r <- do.call(rbind, lapply(seq_len(reps), function(k) rbind(one(N, 100, 1), one(N, 100, 2))))
  runs <- tapply(r$elapsed, r$threads, function(v) paste(sprintf("%.2f", v), collapse = ";"))
  best <- do.call(rbind, lapply(split(r, r$threads), function(x) {
    b <- x[which.min(x$elapsed), ]
    b$peak.mb <- max(x$peak.mb)
    b
  }))
  best$runs <- as.character(runs[as.character(best$threads)])
  print(best, row.names = FALSE)   # progress: one block per size
  best
}))
cat("\nSummary:\n")
ladder$n <- ladder$N * ladder$T
ladder$sec.per.iter <- ladder$elapsed / ladder$iterations
print(ladder, row.names = FALSE)
if (nzchar(out.csv)) {
  cols <- c("N", "T", "n", "threads", "elapsed", "cpu", "iterations", "converged", "peak.mb",
            "runs")
  out <- cbind(part = "ladder", ladder[cols])
  if (!skip.paper) {
    out <- rbind(data.frame(part = "paper", N = 60, T = 200, n = 12000, threads = paper$threads,
                            elapsed = paper$elapsed, cpu = paper$cpu,
                            iterations = paper$iterations, converged = NA,
                            peak.mb = paper$peak.mb, runs = NA), out)
  }
  utils::write.csv(out, out.csv, row.names = FALSE)
}
