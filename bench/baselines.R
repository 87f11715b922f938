# Speed of the baselines at the paper's scale: N = 60 individuals (20 per
# subgroup of sim_linear2d()), T = 100 and 200, 16 RBF centres, 2 actions.
# Times are the median of 5 runs, with the basis given (fit only) and with
# the basis built inside the call (basis = NULL).
# Usage: Rscript bench/baselines.R [num.threads]
library(p4l)
args <- commandArgs(TRUE)
nt <- if (length(args) >= 1) as.integer(args[1]) else 2L
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
