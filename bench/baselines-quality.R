# Quality of the baselines (and P4L when the package has it) on the paper's
# 2-D environment: R replications of sim_linear2d() (20 per subgroup, T = 100),
# the paper's rewards and the reversed-reward variant (subgroup c rewarded for
# the opposite action). Each fitted policy is evaluated on every training
# individual in its own environment (compare_policies(), 200 episodes of 50
# steps, gamma = 0.8); the per-subgroup mean of a replication is one draw, and
# the table gives the mean over replications and its standard error.
# Usage: Rscript bench/baselines-quality.R [replications] [out.csv]
library(p4l)
args <- commandArgs(TRUE)
R <- if (length(args) >= 1) as.integer(args[1]) else 20L
out <- if (length(args) >= 2) args[2] else "bench/baselines-quality.csv"
has.p4l <- exists("p4l", envir = asNamespace("p4l"))
variants <- list(paper = linear2d_groups(), reversed = {
  g <- linear2d_groups(); g["c", "reward.sign"] <- -1; g })
rows <- list()
for (v in names(variants)) {
  for (r in seq_len(R)) {
    sim <- sim_linear2d(num.per.group = 20, T = 100, groups = variants[[v]], seed = 1000 + r)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    b <- rbf_basis(d, 16, seed = r)
    fits <- list()
    tm <- c()
    if (has.p4l) tm["P4L"] <- system.time(fits$P4L <- p4l::p4l(d, K = 3, basis = b, seed = r))[["elapsed"]]
    tm["ACPI"] <- system.time(fits$ACPI <- acpi(d, basis = b))[["elapsed"]]
    tm["FQI"] <- system.time(fits$FQI <- fqi(d, basis = b))[["elapsed"]]
    tm["VL"] <- system.time(fits$VL <- vlearning(d, basis = b))[["elapsed"]]
    cmp <- compare_policies(fits, sim$env, num.episodes = 200, seed = r, groups = sim$group)
    agg <- aggregate(value ~ method + subgroup, data = cmp, FUN = mean)
    agg$variant <- v
    agg$rep <- r
    agg$acpi.K <- length(fits$ACPI$policy.coef)
    agg$seconds <- c(tm, behaviour = 0)[as.character(agg$method)]
    rows[[length(rows) + 1]] <- agg
    cat(v, r, "done\n")
  }
}
res <- do.call(rbind, rows)
utils::write.csv(res, out, row.names = FALSE)
opt <- do.call(rbind, lapply(names(variants), function(v) {
  o <- linear2d_optimum(variants[[v]])
  data.frame(variant = v, subgroup = rownames(o), optimum = o$value)
}))
summ <- aggregate(value ~ variant + subgroup + method, data = res,
                  FUN = function(x) c(mean = mean(x), se = stats::sd(x) / sqrt(length(x))))
summ <- do.call(data.frame, summ)
fmt <- sprintf("%.3f (%.3f)", summ$value.mean, summ$value.se)
tab <- reshape(data.frame(variant = summ$variant, subgroup = summ$subgroup,
                          method = summ$method, v = fmt),
               idvar = c("variant", "subgroup"), timevar = "method", direction = "wide")
names(tab) <- sub("^v\\.", "", names(tab))
tab$optimum <- sprintf("%.3f", opt$optimum[match(paste(tab$variant, tab$subgroup),
                                                  paste(opt$variant, opt$subgroup))])
print(tab[order(tab$variant, tab$subgroup), ], row.names = FALSE)
acpiK <- res[res$method == "ACPI" & res$subgroup == "a", c("variant", "acpi.K")]
cat("\nACPI number of clusters chosen by BIC (replications per K):\n")
print(table(acpiK$variant, acpiK$acpi.K))
tm <- aggregate(seconds ~ method, data = res[res$method != "behaviour" & res$subgroup == "a", ],
                FUN = stats::median)
cat("\nMedian fit time per replication (s):\n")
print(tm, row.names = FALSE)
