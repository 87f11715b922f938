# Summary of bench/value-coverage.csv (written by bench/value-coverage.R):
# coverage of the 95% intervals, mean bias, mean bootstrap se and the
# standard deviation of the estimate minus the truth, per policy and estimator.
#   Rscript bench/value-coverage-summary.R [in.csv]
args <- commandArgs(trailingOnly = TRUE)
x <- utils::read.csv(if (length(args) >= 1) args[1] else "bench/value-coverage.csv")
x$err <- x$estimate - x$truth
key <- list(policy = x$policy, estimator = x$estimator)
# The truth is itself a Monte Carlo mean (standard error truth.se); widening
# each half-width h to sqrt(h^2 + (1.96 truth.se)^2) removes its noise.
wide <- function(h) sqrt(h^2 + (1.96 * x$truth.se)^2)
x$covered.adj <- x$estimate - wide(x$estimate - x$lower) <= x$truth &
  x$truth <= x$estimate + wide(x$upper - x$estimate)
out <- aggregate(cbind(coverage = x$covered, coverage.adj = x$covered.adj, bias = x$err,
                       mean.se = x$se, truth.se = x$truth.se), key, mean)
out$sd.error <- aggregate(x$err, key, stats::sd)$x
out$reps <- aggregate(x$err, key, length)$x
# Monte Carlo standard error of the coverage
out$coverage.mcse <- sqrt(out$coverage * (1 - out$coverage) / out$reps)
out <- out[order(out$policy, out$estimator), ]
print(format(out, digits = 3), row.names = FALSE)
