#!/usr/bin/env Rscript
# The policy anchor (p4l_control(ridge)) on the 2-D study: P4L (K = 3) with
# the behaviour start at ridge 1e-3 (the default of sessions 7 to 16), at the
# default 1e-5 / (1 - gamma) (5e-5 at the study's gamma = 0.8), at 3e-4 and
# 1e-4, and with the uniform start (ridge 1e-5, version 0.1.0), on four cells
# of Figure 1's design (10 and 20 individuals per subgroup x T = 50 and 200,
# the paper's rewards), each policy evaluated as in linear2d_study().
#
#   R_LIBS=<library> Rscript bench/anchor-2d.R [replications] [out.csv]
#
# Development seeds 31001, 31002, ... (not Figure 1's 20261205 to 20261254).
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
reps <- if (length(args) >= 1) as.integer(args[1]) else 6L
out <- if (length(args) >= 2) args[2] else "bench/anchor-2d.csv"
fig <- linear2d_study(K = 3, baselines = "FQI")
cells <- expand.grid(per.group = c(10, 20), T = c(50, 200), variant = "paper",
                     stringsAsFactors = FALSE)
controls <- list("ridge 1e-3" = p4l_control(ridge = 1e-3),
                 "default (5e-5)" = p4l_control(),
                 "ridge 3e-4" = p4l_control(ridge = 3e-4),
                 "ridge 1e-4" = p4l_control(ridge = 1e-4),
                 "uniform start" = p4l_control(init.policy = "uniform"))
rows <- list()
for (r in seq_len(reps)) for (ci in seq_len(nrow(cells))) {
  seed <- 31000 + r
  sim <- fig$simulate(cells[ci, ], seed)
  for (v in names(controls)) {
    t0 <- proc.time()[["elapsed"]]
    fit <- p4l(sim$data, K = 3, gamma = 0.8, basis = sim$basis, seed = seed,
               control = controls[[v]])
    ev <- fig$evaluate(fit, sim, seed)
    rows[[length(rows) + 1L]] <- data.frame(
      seed = seed, per.group = cells$per.group[ci], T = cells$T[ci], control = v,
      ridge = fit$control$ridge, iterations = fit$iterations, converged = fit$converged,
      subgroup = ev$subgroup, value = ev$value, seconds = proc.time()[["elapsed"]] - t0)
  }
}
x <- do.call(rbind, rows)
utils::write.csv(x, out, row.names = FALSE)
opt <- fig$optimum("paper")
x$gap <- opt[x$subgroup] - x$value
tab <- aggregate(cbind(value, gap) ~ control + subgroup, x, mean)
tab <- reshape(tab, idvar = "control", timevar = "subgroup", direction = "wide")
it <- aggregate(cbind(iterations, converged) ~ control, x, mean)
tab <- merge(tab, it, by = "control")
print(format(tab, digits = 4), row.names = FALSE)
