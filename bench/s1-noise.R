#!/usr/bin/env Rscript
# Issue 12, S1: how noisy is the criterion "P4L at least 95% of pooled FQI's
# steps in every environment"? On the stress suite's DEVELOPMENT data sets
# (replications 2 to 9, i.e. seeds 1000 x setting + 2..9; the suite reports
# replication 1), each method is fitted twice on the same data with two fit
# seeds (r and r + 500), which draw two RBF bases (K-means centres) and
# nothing else. Reports, per setting and gamma, how often a method passes the
# criterion against the other fit of pooled FQI, including FQI against
# itself, and the sd of the steps between the two fits.
#   R_LIBS=<library> Rscript bench/s1-noise.R [reps] [out.csv]
#   Rscript bench/s1-noise.R summary <csv> [<csv> ...]
# Nothing is chosen by this script.
args <- commandArgs(TRUE)
summarise_noise <- function(res) {
  # Criterion of each fit against the OTHER fit seed's FQI (and the suite's pairing).
  a <- res[res$fit.seed == res$rep, ]
  b <- res[res$fit.seed != res$rep, ]
  k <- c("setting", "gamma", "rep", "env")
  m <- merge(a, b, by = k, suffixes = c(".1", ".2"))
  m$p4l.same <- m$p4l.1 >= 0.95 * m$fqi.1      # the suite's pairing (same seed)
  m$p4l.cross <- m$p4l.2 >= 0.95 * m$fqi.1
  m$fqi.self <- m$fqi.2 >= 0.95 * m$fqi.1       # FQI against itself, another basis
  m$sd.p4l <- abs(m$p4l.1 - m$p4l.2) / sqrt(2)
  m$sd.fqi <- abs(m$fqi.1 - m$fqi.2) / sqrt(2)
  agg <- aggregate(cbind(p4l = (m$p4l.1 + m$p4l.2) / 2, fqi = (m$fqi.1 + m$fqi.2) / 2,
                         p4l.same, p4l.cross, fqi.self, sd.p4l, sd.fqi) ~ setting + gamma,
                   data = m, FUN = mean)
  print(agg, digits = 3, row.names = FALSE)
  cat("share of cells passing: P4L (suite pairing)", round(mean(m$p4l.same), 3),
      "; P4L against FQI's other basis", round(mean(m$p4l.cross), 3),
      "; FQI against FQI's other basis", round(mean(m$fqi.self), 3), "(", nrow(m), "cells )\n")
  cat("chance that all 27 cells of one replication pass, if independent: P4L",
      round(mean(m$p4l.same)^27, 3), "; FQI against itself", round(mean(m$fqi.self)^27, 3), "\n")
}
if (identical(args[1], "summary")) {
  summarise_noise(do.call(rbind, lapply(args[-1], utils::read.csv)))
  quit(save = "no")
}
suppressMessages(library(p4l))
source("bench/stress-data.R")
reps <- if (length(args) >= 1) eval(parse(text = args[1])) else 2:9
out <- if (length(args) >= 2) args[2] else "bench/s1-noise.csv"
options(p4l.num.threads = 1L)
rows <- list()
for (r in reps) for (s in c("A", "B", "C")) {
  cp <- stress_s1_data(s, r)
  d <- cp$d
  steps <- cp$steps
  for (g in c(0.9, 0.95, 0.99)) {
    for (fs in c(r, r + 500)) {
      p <- steps(suppressWarnings(p4l(d, K = 3, gamma = g, seed = fs)))
      f <- steps(suppressWarnings(fqi(d, gamma = g, seed = fs)))
      rows[[length(rows) + 1L]] <- data.frame(setting = s, gamma = g, rep = r,
                                              fit.seed = fs, env = names(p),
                                              p4l = as.numeric(p), fqi = as.numeric(f))
    }
    cat(s, g, r, "\n")
  }
}
res <- do.call(rbind, rows)
utils::write.csv(res, out, row.names = FALSE)
summarise_noise(res)
