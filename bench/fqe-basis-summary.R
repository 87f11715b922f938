# Summary of bench/fqe-basis.R runs: mean error (estimate - truth), mean
# bootstrap se, coverage of the 95% interval, sd of the error, replications.
#   Rscript bench/fqe-basis-summary.R out.csv [more.csv ...]
x <- do.call(rbind, lapply(commandArgs(TRUE), utils::read.csv))
x$err <- x$estimate - x$truth
a <- stats::aggregate(cbind(err, se, covered) ~ policy + basis, data = x, FUN = mean)
a$sd.err <- stats::aggregate(err ~ policy + basis, data = x, FUN = stats::sd)$err
a$n <- stats::aggregate(err ~ policy + basis, data = x, FUN = length)$err
print(a[order(a$policy, a$basis), ], digits = 3, row.names = FALSE)
