#!/usr/bin/env Rscript
# Why P4L misses 95% of pooled FQI in two CartPole cells of the stress suite
# at gamma = 0.9 (issue 12, S1): P4L with the suite's K = 3, with K = 1 and
# with K = 3 on 32 RBF centres, the default alpha and 0.3 / 3 times it,
# against pooled FQI on 16 and 32 centres, on the stress suite's
# DEVELOPMENT data sets of settings A and B (seeds 1002, 2002; the reported
# ones are 1001, 2001). Steps per environment (10 episodes per trajectory,
# horizon 300), as in bench/stress.R.
#
#   R_LIBS=<library> Rscript bench/s1-gamma09.R [out.csv]
args <- commandArgs(trailingOnly = TRUE)
out.csv <- if (length(args) >= 1) args[1] else file.path("bench", "s1-gamma09.csv")
suppressMessages(library(p4l))
source(file.path("bench", "stress-data.R"))
rows <- list()
for (s in c("A", "B")) {
  cp <- stress_s1_data(s, 2)
  sim <- cp$sim
  d <- cp$d
  seed <- cp$seed
  steps <- cp$steps
  b32 <- rbf_basis(d, num.centers = 32, seed = 2)
  rate <- sqrt(length(d$action.levels) * 16 * 3 / length(d$R))  # default alpha of K = 3
  variants <- list(
    "P4L K = 3 (suite)" = function() p4l(d, K = 3, gamma = 0.9, seed = 2),
    "P4L K = 1" = function() p4l(d, K = 1, gamma = 0.9, seed = 2),
    "P4L K = 3, 32 centres" = function() p4l(d, K = 3, gamma = 0.9, seed = 2, basis = b32),
    "P4L K = 3, alpha x 0.3" = function() p4l(d, K = 3, gamma = 0.9, seed = 2, alpha = 0.3 * rate),
    "P4L K = 3, alpha x 3" = function() p4l(d, K = 3, gamma = 0.9, seed = 2, alpha = 3 * rate),
    "P4L K = auto" = function() p4l(d, K = "auto", gamma = 0.9, seed = 2),
    "FQI" = function() fqi(d, gamma = 0.9, seed = 2),
    "FQI, 32 centres" = function() fqi(d, gamma = 0.9, seed = 2, basis = b32))
  for (v in names(variants)) {
    f <- suppressWarnings(variants[[v]]())
    st <- steps(f)
    rows[[length(rows) + 1L]] <- data.frame(
      setting = s, seed = seed, variant = v, env = names(st), steps = as.numeric(st),
      K = if (inherits(f, "p4l")) f$K else NA_integer_,
      converged = if (inherits(f, "p4l")) f$converged else NA)
    cat(s, v, round(st, 1), "\n")
    if (v == "P4L K = 3 (suite)")  # do the clusters follow the environments?
      print(table(cluster = f$cluster, env = sim$group[match(d$ids, names(sim$env))]))
  }
}
utils::write.csv(do.call(rbind, rows), out.csv, row.names = FALSE)
