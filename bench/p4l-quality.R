# Quality of P4L (K = 3, default tuning) on the paper's 2-D environment:
# R replications of sim_linear2d() (20 individuals per subgroup, T = 100), with
# the paper's rewards and with subgroup c's reward reversed. Each individual's
# learned policy is evaluated in its own environment (evaluate_policy(), 500
# episodes of 50 steps, gamma = 0.8), both as deployed (greedy, the default)
# and as the learned softmax policy. Also records how well the clusters match
# the subgroups and the fit time.
# Usage: Rscript bench/p4l-quality.R [replications] [out.csv]
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
R <- if (length(args) >= 1) as.integer(args[1]) else 10L
out <- if (length(args) >= 2) args[2] else "bench/p4l-quality.csv"
variants <- list(paper = linear2d_groups(), reversed = {
  g <- linear2d_groups(); g["c", "reward.sign"] <- -1; g })
source(file.path(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
}), "adjusted-rand.R"))
rows <- list()
for (v in names(variants)) {
  for (r in seq_len(R)) {
    sim <- sim_linear2d(num.per.group = 20, T = 100, groups = variants[[v]], seed = 2000 + r)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    secs <- system.time(fit <- suppressWarnings(p4l(d, K = 3, seed = r)))[["elapsed"]]
    grp <- sim$group[as.character(d$ids)]
    ev <- evaluate_policy(fit, sim$env, num.episodes = 500, seed = r)
    soft <- fit; soft$greedy <- FALSE
    evs <- evaluate_policy(soft, sim$env, num.episodes = 500, seed = r)
    tab <- table(fit$cluster, grp)
    rows[[length(rows) + 1]] <- data.frame(
      variant = v, rep = r, subgroup = levels(grp),
      greedy = as.numeric(tapply(ev$value, grp, mean)),
      softmax = as.numeric(tapply(evs$value, grp, mean)),
      ari = adjusted_rand(fit$cluster, grp),
      c.isolated = any(tab[, "c"] == 20 & rowSums(tab) == 20),
      iterations = fit$iterations, converged = fit$converged, seconds = secs)
    cat(v, r, sprintf("ARI %.2f, %.1f s, greedy %s\n", adjusted_rand(fit$cluster, grp), secs,
                      paste(sprintf("%.3f", tapply(ev$value, grp, mean)), collapse = "/")))
  }
}
res <- do.call(rbind, rows)
utils::write.csv(res, out, row.names = FALSE)
opt <- do.call(rbind, lapply(names(variants), function(v) {
  o <- linear2d_optimum(variants[[v]])
  data.frame(variant = v, subgroup = rownames(o), optimum = o$value)
}))
res$optimum <- opt$optimum[match(paste(res$variant, res$subgroup),
                                 paste(opt$variant, opt$subgroup))]
ms <- function(x) sprintf("%.3f (%.3f)", mean(x), stats::sd(x) / sqrt(length(x)))
tab <- do.call(rbind, lapply(split(res, list(res$variant, res$subgroup)), function(x) data.frame(
  variant = x$variant[1], subgroup = x$subgroup[1], greedy = ms(x$greedy),
  softmax = ms(x$softmax), optimum = sprintf("%.3f", x$optimum[1]),
  worst.gap.greedy = sprintf("%.3f", max(x$optimum - x$greedy)))))
print(tab[order(tab$variant, tab$subgroup), ], row.names = FALSE)
one <- res[res$subgroup == "a", ]
cat("\nARI (mean, min) by variant:\n")
print(aggregate(ari ~ variant, one, function(x) c(mean = mean(x), min = min(x))))
cat("reversed subgroup c isolated as its own cluster:",
    sum(one$c.isolated[one$variant == "reversed"]), "of", sum(one$variant == "reversed"), "\n")
cat("converged:", sum(one$converged), "of", nrow(one), "; median iterations",
    stats::median(one$iterations), "; median fit time (s, basis included)",
    stats::median(one$seconds), "\n")
