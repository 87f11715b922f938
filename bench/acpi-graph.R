# ACPI's sparse fusion graph against every pair on the paper's 2-D study
# (issue 16, item 4: "its quality on the 2-D study must not drop"). The
# replications of bench/baselines-quality.R (sim_linear2d(), 20 per subgroup,
# T = 100, seeds 1000 + r, 16 RBF centres, paper and reversed rewards); ACPI
# with the number of clusters chosen by BIC (acpi() defaults) on every pair
# (`graph = "complete"`, what "auto" uses at 60 individuals) and on the
# k-nearest-neighbour + spanning-tree graph (`graph = "knn"`, k = 10 and 5).
# Each policy is evaluated on every training individual in its own
# environment (compare_policies(), 200 episodes of 50 steps, gamma 0.8).
#
#   R_LIBS=<library> Rscript bench/acpi-graph.R [replications] [out.csv]
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
R <- if (length(args) >= 1) as.integer(args[1]) else 10L
out <- if (length(args) >= 2) args[2] else ""
variants <- list(paper = linear2d_groups(), reversed = {
  g <- linear2d_groups(); g["c", "reward.sign"] <- -1; g })
graphs <- list(complete = acpi_control(graph = "complete"),
               knn10 = acpi_control(graph = "knn", num.neighbors = 10),
               knn5 = acpi_control(graph = "knn", num.neighbors = 5))
source(file.path(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
}), "adjusted-rand.R"))
rows <- list()
for (v in names(variants)) for (r in seq_len(R)) {
  sim <- sim_linear2d(num.per.group = 20, T = 100, groups = variants[[v]], seed = 1000 + r)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 16, seed = r)
  fits <- list(); secs <- c()
  for (g in names(graphs)) {
    secs[g] <- system.time(fits[[g]] <- acpi(d, basis = b, control = graphs[[g]]))[["elapsed"]]
  }
  cmp <- compare_policies(fits, sim$env, num.episodes = 200, seed = r, groups = sim$group)
  agg <- aggregate(value ~ method + subgroup, data = cmp[cmp$method != "behaviour", ], FUN = mean)
  agg$variant <- v
  agg$rep <- r
  agg$K <- vapply(fits, function(f) length(f$policy.coef), 1L)[as.character(agg$method)]
  agg$ari <- vapply(fits, function(f) adjusted_rand(f$cluster, sim$group[names(f$cluster)]),
                    1)[as.character(agg$method)]
  agg$edges <- vapply(fits, function(f) f$path$num.edges, 1)[as.character(agg$method)]
  agg$seconds <- secs[as.character(agg$method)]
  rows[[length(rows) + 1L]] <- agg
  cat(v, r, "done\n")
}
res <- do.call(rbind, rows)
if (nzchar(out)) utils::write.csv(res, out, row.names = FALSE)
summ <- aggregate(cbind(value, ari, K, seconds) ~ variant + subgroup + method, data = res,
                  FUN = mean)
print(summ[order(summ$variant, summ$subgroup, summ$method), ], row.names = FALSE, digits = 3)
