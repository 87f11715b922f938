# Summary of bench/fqe-groups-dev.R's csv: mean error (estimate - truth), mean se,
# coverage of the 95% percentile intervals and sd of the error, by policy, estimator,
# evaluation bandwidth and Q-function groups (default = the policy's clusters or pooled,
# groups = select_groups() on the evaluation data, true = the simulator's subgroups).
#   Rscript bench/fqe-groups-dev-summary.R bench/fqe-groups-dev.csv
x <- do.call(rbind, lapply(commandArgs(TRUE), read.csv))
x$err <- x$estimate - x$truth
a <- aggregate(cbind(err, se, covered) ~ policy + method + basis + q, x, mean)
a$sd <- aggregate(err ~ policy + method + basis + q, x, sd)$err
a <- a[order(a$policy, a$method, a$q, a$basis), ]
a[, 5:8] <- round(a[, 5:8], 4)
print(a, row.names = FALSE)
cat("reps", length(unique(x$rep)), " K:", paste(names(table(x$K[!duplicated(x$rep)])), table(x$K[!duplicated(x$rep)]), collapse=" "), " mean ARI", mean(x$ari[!duplicated(x$rep)]), "\n")
