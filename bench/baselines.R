# Speed of the baselines at the paper's scale: N = 60 individuals (20 per
# subgroup of sim_linear2d()), T = 100 and 200, 16 RBF centres, 2 actions.
# Times are the median of 5 runs, with the basis given (fit only) and with
# the basis built inside the call (basis = NULL).
# Usage: Rscript bench/baselines.R [num.threads] [out.csv] [fqi.n]
#   out.csv (optional; "" for none): also write the times to a CSV, one row
#   per method and size (bench/run-targets.R); fqi.n (optional): also time
#   fqi() alone with 1 and 2 threads (best of 3 interleaved, basis given) on
#   sim_linear2d(num.per.group = fqi.n / 300, T = 100), about fqi.n transitions.
library(p4l)
args <- commandArgs(TRUE)
nt <- if (length(args) >= 1) as.integer(args[1]) else 2L
out.csv <- if (length(args) >= 2) args[2] else ""
fqi.n <- if (length(args) >= 3) as.numeric(args[3]) else NA
med <- function(expr) {
  f <- function() system.time(eval.parent(substitute(expr), 2))[["elapsed"]]
  stats::median(replicate(5, f()))
}
rows <- list()
for (T in c(100, 200)) {
  sim <- sim_linear2d(num.per.group = 20, T = T, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 16, seed = 1)
  tb <- stats::median(replicate(5, system.time(rbf_basis(d, 16, seed = 1, num.threads = nt))[["elapsed"]]))
  t.fqi <- stats::median(replicate(5, system.time(fqi(d, basis = b, num.threads = nt))[["elapsed"]]))
  t.vl <- stats::median(replicate(5, system.time(vlearning(d, basis = b, num.threads = nt))[["elapsed"]]))
  t.acpi <- stats::median(replicate(5, system.time(acpi(d, basis = b, num.threads = nt))[["elapsed"]]))
  t.acpi3 <- stats::median(replicate(5, system.time(acpi(d, K = 3, basis = b, num.threads = nt))[["elapsed"]]))
  rows[[length(rows) + 1]] <- data.frame(T = T, n = length(d$R), basis = tb, fqi = t.fqi,
                                         vlearning = t.vl, acpi = t.acpi, acpi.K3 = t.acpi3)
}
res <- do.call(rbind, rows)
cat("threads:", nt, "\n")
print(res, row.names = FALSE, digits = 3)
long <- do.call(rbind, lapply(c("basis", "fqi", "vlearning", "acpi", "acpi.K3"), function(m)
  data.frame(part = "paper", T = res$T, n = res$n, threads = nt, method = m, seconds = res[[m]])))
if (!is.na(fqi.n)) {
  sim <- sim_linear2d(num.per.group = max(1, round(fqi.n / 300)), T = 100, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  rm(sim)
  b <- rbf_basis(d, 16, seed = 1, num.threads = nt)
  t.big <- function(th) system.time(fqi(d, basis = b, num.threads = th))[["elapsed"]]
  # interleaved (1, 2, 1, 2, ...), the fastest of each: the VM's speed drifts
  # between minutes (bench/README.md, "Measuring the thread ratio")
  tb <- t(replicate(3, c(t.big(1), t.big(2))))
  big <- do.call(rbind, lapply(1:2, function(th) data.frame(
    part = "fqi.n", T = 100, n = length(d$R), threads = th, method = "fqi",
    seconds = min(tb[, th]))))
  cat(sprintf("\nFQI alone at n = %d (basis given, best of 3 interleaved):\n", length(d$R)))
  print(big[c("n", "threads", "seconds")], row.names = FALSE, digits = 3)
  long <- rbind(long, big)
}
if (nzchar(out.csv)) utils::write.csv(long, out.csv, row.names = FALSE)
