#!/usr/bin/env Rscript
# Issue 12 (session 22): does a smaller rank cost P4L its subgroups? The
# 2-D study (sim_linear2d(), three subgroups that differ in two transition
# parameters) on development seeds 1002-1011, in three designs (per group x
# T), P4L with K = 3 and rank 2 against rank 3 (= K, the default):
# adjusted Rand index of the clusters against the true subgroups.
# Nothing is chosen by this script.
#   R_LIBS=<library> Rscript bench/rank-clusters.R
suppressMessages(library(p4l))
options(p4l.num.threads = 2L)
ari <- function(a, b) {
  tab <- table(a, b)
  n <- sum(tab)
  c2 <- function(x) sum(choose(x, 2))
  e <- c2(rowSums(tab)) * c2(colSums(tab)) / choose(n, 2)
  (c2(tab) - e) / (0.5 * (c2(rowSums(tab)) + c2(colSums(tab))) - e)
}
for (des in list(c(20, 100), c(10, 50), c(6, 60))) {
  res <- NULL
  for (s in 1002:1011) {
    sim <- sim_linear2d(num.per.group = des[1], T = des[2], seed = s)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    g <- sim$group[as.character(d$ids)]
    f2 <- suppressWarnings(p4l(d, K = 3, rank = 2, seed = s))
    f3 <- suppressWarnings(p4l(d, K = 3, rank = 3, seed = s))
    res <- rbind(res, c(ari(f2$cluster, g), ari(f3$cluster, g)))
  }
  cat(sprintf("%d per group x T = %d: mean ARI rank 2 %.3f, rank 3 %.3f; exact recovery rank 2 %d, rank 3 %d of 10\n",
              des[1], des[2], mean(res[, 1]), mean(res[, 2]), sum(res[, 1] > 0.999),
              sum(res[, 2] > 0.999)))
}
