# Development (session 20): select_groups(method = "mixture") on synthetic
# sepsis cohorts with two, one and three planted subgroups
# (sim_sepsis_cohort(3000, subgroups = , seed = COHORT), 1,000 stays drawn
# with seed COHORT + 1; cohorts 9001, 9003 two subgroups, 9005 "fluid" only,
# 9006 "neutral" only, 9007 three). These cohorts chose the method (the
# profiled individual level, the held-out likelihood, the one-SE rule); the
# Table 3 seeds (9301, 9311-9315) were not used. Prints, per cohort, the
# criterion by K, the chosen K, the ARI of each K's partition against the
# planted subgroups, and the seconds.
#   R_LIBS=<library> Rscript bench/sepsis-k-mixture-dev.R [out.csv]
suppressPackageStartupMessages(library(p4l))
source(file.path(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
}), "adjusted-rand.R"))
out <- commandArgs(TRUE)[1]
cohorts <- list(
  list(seed = 9001, sub = c(fluid = 0.5, vaso = 0.5)),
  list(seed = 9003, sub = c(fluid = 0.5, vaso = 0.5)),
  list(seed = 9005, sub = c(fluid = 1)),
  list(seed = 9006, sub = c(neutral = 1)),
  list(seed = 9007, sub = c(fluid = 1 / 3, vaso = 1 / 3, neutral = 1 / 3)))
rows <- NULL
for (co in cohorts) {
  sim <- sim_sepsis_cohort(3000, subgroups = co$sub, seed = co$seed)
  D <- suppressMessages(sepsis_data(sim$data))
  set.seed(co$seed + 1)
  d <- subset(D, ids = sort(D$ids[sample.int(length(D$ids), 1000)]))
  t0 <- proc.time()[["elapsed"]]
  g <- select_groups(d)
  secs <- proc.time()[["elapsed"]] - t0
  truth <- sim$type[rownames(g$clusters)]
  crit <- cbind(cohort = co$seed, planted = length(co$sub), g$criterion,
                ari = apply(g$clusters, 2, adjusted_rand, truth), chosen = g$criterion$K == g$K,
                seconds = secs)
  cat(sprintf("cohort %d, %d planted subgroup(s): method %s, chosen K = %d, ARI %.3f, %.1f s\n",
              co$seed, length(co$sub), g$method, g$K, adjusted_rand(g$cluster, truth), secs))
  print(crit[, c("K", "cv.gain", "se", "ari", "chosen")], digits = 3, row.names = FALSE)
  rows <- rbind(rows, crit)
}
if (!is.na(out)) utils::write.csv(rows, out, row.names = FALSE)
