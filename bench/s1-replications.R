#!/usr/bin/env Rscript
# Issue 12, S1 over several replications: the stress suite's S1 (P4L and
# pooled FQI with defaults, K = 3, gamma 0.9 / 0.95 / 0.99, steps per
# environment) on replications `first` to `last` (seeds 1000 x setting + r).
# The suite reports replication 1 and development runs used 2 to 9;
# replications 21 and above were not looked at before this script's run.
# Reports, per setting and gamma, the share of environments where P4L is at
# least 95% of FQI's steps (the suite's per-replication criterion) and the
# same criterion on the mean over replications.
#   R_LIBS=<library> Rscript bench/s1-replications.R <first> <last> <out.csv> [variant]
# variant (development comparisons): "rank=<r>" fits P4L with that rank
# (options(p4l.stress.rank)), "init=<start>" with p4l_control(init = <start>)
# (options(p4l.stress.control)); default: P4L's defaults, as the suite.
#   R_LIBS=<library> Rscript bench/s1-replications.R summary <csv> [<csv> ...]
args <- commandArgs(TRUE)
summarise_s1 <- function(res) {
  res$pass <- res$p4l.eval >= 0.95 * res$fqi.eval
  res$above.beh <- res$p4l.eval > res$behaviour.eval
  agg <- aggregate(cbind(p4l = p4l.eval, fqi = fqi.eval, behaviour = behaviour.eval, pass,
                         above.beh, converged) ~ dataset + gamma + subgroup, data = res,
                   FUN = mean)
  agg$mean.pass <- agg$p4l >= 0.95 * agg$fqi
  agg$reps <- as.vector(table(interaction(res$dataset, res$gamma, res$subgroup, drop = TRUE))[
    as.character(interaction(agg$dataset, agg$gamma, agg$subgroup, drop = TRUE))])
  print(agg[order(agg$dataset, agg$gamma), ], digits = 4, row.names = FALSE)
  cat("replications", length(unique(res$rep)), "; cells", nrow(res),
      "; per-replication criterion met in", sum(res$pass), "(", round(mean(res$pass), 3), ")",
      "; replications with all 27 cells met:", sum(tapply(res$pass, res$rep, all)),
      "; P4L above behaviour in", sum(res$above.beh), "; converged", sum(res$converged),
      "; criterion on the means met in", sum(agg$mean.pass), "of", nrow(agg), "\n")
  invisible(agg)
}
if (identical(args[1], "summary")) {
  res <- do.call(rbind, lapply(args[-1], utils::read.csv))
  summarise_s1(res)
} else {
  suppressMessages(library(p4l))
  source("bench/stress-data.R")
  first <- as.integer(args[1]); last <- as.integer(args[2]); out <- args[3]
  options(p4l.num.threads = 1L, p4l.stress.rep.offset = first - 1L)
  if (length(args) >= 4) {
    kv <- strsplit(args[4], "=", fixed = TRUE)[[1]]
    if (identical(kv[1], "rank")) options(p4l.stress.rank = as.integer(kv[2]))
    else if (identical(kv[1], "init")) options(p4l.stress.control = p4l_control(init = kv[2]))
    else stop("variant must be rank=<r> or init=<start>")
  }
  res <- stress_run_s1(reps = last - first + 1L,
                       checkpoint = function(x) utils::write.csv(x, out, row.names = FALSE))
  utils::write.csv(res, out, row.names = FALSE)
  summarise_s1(res)
}
