#!/usr/bin/env Rscript
# Summary of bench/cartpole-tune.R output: per setting and environment, the
# mean steps (standard error over replications) of P4L with the K chosen by
# tune_p4l() and of pooled FQI, their ratio of means, the number of
# replications where P4L reached 98% of FQI, and the chosen K.
#
#   Rscript bench/cartpole-tune-summary.R [in.csv] [first.rep] [last.rep]
args <- commandArgs(trailingOnly = TRUE)
path <- if (length(args) >= 1) args[1] else file.path("bench", "cartpole-tune-simplest.csv")
x <- utils::read.csv(path, stringsAsFactors = FALSE)
if (length(args) >= 3) x <- x[x$rep >= as.integer(args[2]) & x$rep <= as.integer(args[3]), ]
x <- x[!duplicated(x[c("setting", "rep", "env")]), ]
se <- function(v) if (length(v) > 1) stats::sd(v) / sqrt(length(v)) else NA_real_
rows <- list()
for (s in sort(unique(x$setting))) {
  xs <- x[x$setting == s, ]
  for (e in unique(xs$env)) {
    xe <- xs[xs$env == e, ]
    rows[[length(rows) + 1]] <- data.frame(
      setting = s, env = e, reps = nrow(xe),
      p4l = sprintf("%.1f (%.1f)", mean(xe$p4l.steps), se(xe$p4l.steps)),
      fqi = sprintf("%.1f (%.1f)", mean(xe$fqi.steps), se(xe$fqi.steps)),
      ratio = sprintf("%.3f", mean(xe$p4l.steps) / mean(xe$fqi.steps)),
      reps.98 = sprintf("%d/%d", sum(xe$ratio >= 0.98), nrow(xe)),
      K.chosen = paste(names(table(xe$K.chosen)), table(xe$K.chosen), sep = ":", collapse = " "),
      stringsAsFactors = FALSE)
  }
}
tab <- do.call(rbind, rows)
cat("| setting | environment | reps | P4L (tuned K) | pooled FQI | P4L / FQI | reps with P4L >= 98% FQI | K chosen (K:count) |\n")
cat("|---|---|---|---|---|---|---|---|\n")
for (i in seq_len(nrow(tab))) cat("|", paste(tab[i, ], collapse = " | "), "|\n")
cat("\nMedian seconds of tune_p4l() per data set:",
    stats::median(x$tune.seconds[!duplicated(x[c("setting", "rep")])]), "\n")
