# The paper's Table 3 protocol on the synthetic sepsis cohort (16,000 stays):
# persim() fitted on all stays, 5 replications of 1,000 drawn stays, P4L
# (K = 2, the planted number of subgroups, and K = "auto"), ACPI, VL, FQI
# and the clinicians (fitted behaviour policy), each evaluated in the
# simulator of the drawn stays; ARI of P4L's clusters against the planted
# subgroups; and the true values of the fitted policies are not available
# (the policies act on the recipe's principal components), so the planted
# truth enters through the ARI and through bench/persim-validation.R.
#   Rscript bench/sepsis-table3.R [num.stays] [reps] [out.csv]
# Seeds: cohort 9301, replications 9311-9315 (not used to choose anything).
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
num.stays <- if (length(args) >= 1) as.integer(args[1]) else 16000L
reps <- if (length(args) >= 2) as.integer(args[2]) else 5L
out.file <- if (length(args) >= 3) args[3] else "bench/sepsis-table3.csv"
t.start <- proc.time()[["elapsed"]]
stamp <- function(what) message(sprintf("%7.1f s  %s", proc.time()[["elapsed"]] - t.start, what))
coh <- sim_sepsis_cohort(num.stays, seed = 9301)
stamp("cohort")
d <- suppressMessages(sepsis_data(coh$data))
stamp(sprintf("sepsis_data: %d stays, %d transitions", length(d$ids), length(d$R)))
ps <- persim(d, seed = 9301)
stamp(sprintf("persim: %d sweeps, converged %s", ps$iterations, ps$converged))
print(ps)
st <- sepsis_study(d, simulator = ps, num.stays = 1000, K = 2)
auto <- sepsis_study(d, simulator = ps, num.stays = 1000, K = "auto", methods = "P4L")
methods <- c(st$methods[1], list(`P4L (K = auto)` = auto$methods$P4L), st$methods[-1])
names(methods)[1] <- "P4L (K = 2)"
source(file.path(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
}), "adjusted-rand.R"))

# P4L's clusters against the planted subgroups travel as an extra row
# (subgroup "ARI") of the evaluation, so they survive any future plan.
evaluate <- function(policy, sim, seed) {
  v <- st$evaluate(policy, sim, seed)
  if (!is.null(policy$cluster)) {
    truth <- coh$type[as.character(names(policy$cluster))]
    v <- rbind(v, data.frame(subgroup = "ARI", value = adjusted_rand(policy$cluster, truth),
                             se = NA_real_))
  }
  v
}
res <- run_study(st$design, methods, st$simulate, evaluate, replications = reps, seed = 9311)
stamp("study")
print(summary(res))
utils::write.csv(as.data.frame(res)[res$subgroup == "all", c("replication", "seed", "method", "value", "se",
                                        "seconds", "converged", "clusters", "warnings",
                                        "error")], out.file, row.names = FALSE)
ari <- as.data.frame(res)[res$subgroup == "ARI", c("replication", "seed", "method", "clusters", "value")]
names(ari)[5] <- "ari"
print(ari)
utils::write.csv(ari, sub("\\.csv$", "-ari.csv", out.file), row.names = FALSE)
message(sprintf("total %.1f minutes", (proc.time()[["elapsed"]] - t.start) / 60))
