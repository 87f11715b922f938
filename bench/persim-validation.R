# Validation of persim(): values of fixed policies predicted by the fitted
# personalised simulator against the true simulator's values.
#   Rscript bench/persim-validation.R [reps]   (default 5; ~2 min per rep)
# Writes bench/persim-validation.csv. Settings (rank 2, 10 Gaussian
# features, ridge 1e-3) are persim()'s defaults, chosen on development seeds
# (sim_linear2d seed 1, sim_sepsis_cohort seed 7001); the seeds here
# (8101-, 8201-) were not used to choose anything.
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
reps <- if (length(args) >= 1) as.integer(args[1]) else 5L
out.file <- if (length(args) >= 2) args[2] else "bench/persim-validation.csv"
rows <- list()
add <- function(...) rows[[length(rows) + 1L]] <<- data.frame(...)

for (rep in seq_len(reps)) {
  # 1. The paper's 2-D environment: 3 subgroups x 10 individuals x T = 100,
  #    gamma 0.9, horizon 30; episodes start from N(0, I) in both.
  seed <- 8100L + rep
  sim <- sim_linear2d(num.per.group = 10, T = 100, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ps <- persim(d, initial = "gaussian", seed = seed)
  pols <- list(`always 0` = fixed_policy(0, d, gamma = 0.9),
               `always 1` = fixed_policy(1, d, gamma = 0.9),
               uniform = uniform_policy(c(0, 1), c("s1", "s2"), gamma = 0.9),
               FQI = fqi(d, gamma = 0.9, seed = seed))
  for (nm in names(pols)) {
    tv <- evaluate_policy(pols[[nm]], sim$env, horizon = 30, num.episodes = 2000, seed = seed)
    ev <- evaluate_policy(pols[[nm]], ps, horizon = 30, num.episodes = 2000, seed = seed)
    add(data = "linear2d", rep = rep, seed = seed, policy = nm, truth = mean(tv$value),
        persim = mean(ev$value), mae.individual = mean(abs(ev$value - tv$value)),
        converged = ps$converged)
  }
  # 2. The synthetic sepsis cohort: 1000 stays x 10 blocks, gamma 0.8,
  #    horizon 9, each stay from its own first block; truth = the same stays
  #    simulated again with the fixed treatment (common random numbers).
  seed <- 8200L + rep
  gamma <- 0.8
  coh <- sim_sepsis_cohort(1000, num.blocks = c(10, 10), seed = seed)
  d <- suppressMessages(sepsis_data(coh$data))
  ps <- persim(d, seed = seed)
  ret <- function(cd) {
    sp <- split(-cd$SOFA, cd$icustayid)
    mean(vapply(sp, function(r) sum(gamma^(0:8) * r[-1]), 0))
  }
  for (l in d$action.levels) {
    tv <- ret(sim_sepsis_cohort(1000, num.blocks = c(10, 10), treatment = l, seed = seed)$data)
    ev <- evaluate_policy(fixed_policy(l, d, gamma = gamma), ps, horizon = 9, gamma = gamma,
                          num.episodes = 200, seed = seed)
    add(data = "sepsis", rep = rep, seed = seed, policy = l, truth = tv, persim = mean(ev$value),
        mae.individual = NA, converged = ps$converged)
  }
  bp <- behaviour_policy(d, gamma = gamma, seed = seed)
  ev <- evaluate_policy(bp, ps, horizon = 9, gamma = gamma, num.episodes = 200, seed = seed)
  add(data = "sepsis", rep = rep, seed = seed, policy = "clinicians (fitted)",
      truth = ret(coh$data), persim = mean(ev$value), mae.individual = NA,
      converged = ps$converged)
  message("rep ", rep, " done")
}
res <- do.call(rbind, rows)
res$error <- res$persim - res$truth
utils::write.csv(res, out.file, row.names = FALSE)
agg <- do.call(rbind, lapply(split(res, res$data), function(x) {
  data.frame(data = x$data[1], mean.abs.error = mean(abs(x$error)),
             mean.abs.relative = mean(abs(x$error / x$truth)),
             truth.sd.between.policies = mean(tapply(x$truth, x$rep, stats::sd)),
             rank.cor = mean(vapply(split(x, x$rep), function(y)
               stats::cor(y$truth, y$persim, method = "spearman"), 0)),
             best.found = mean(vapply(split(x, x$rep), function(y)
               y$policy[which.max(y$persim)] == y$policy[which.max(y$truth)], TRUE)))
}))
print(agg, digits = 3)
print(aggregate(cbind(truth, persim, error) ~ data + policy, data = res, FUN = mean), digits = 3)
