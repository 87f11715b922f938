# Coverage of policy_value()'s 95% bootstrap intervals when the policy is
# evaluated on individuals it was not learned from (issue 15, item 3).
#
# Usage (from the package root, with p4l installed in R_LIBS):
#   nice Rscript bench/value-coverage-heldout.R FIRST LAST [out.csv] [base]
# runs replications FIRST..LAST with seeds base + r (base 5000 by default:
# the coverage seeds, on which no setting was chosen; base 7000 gives the
# development seeds) and appends one row per replication, target policy and
# estimator to out.csv (default bench/value-coverage-heldout.csv).
#
# Each replication: training data sim_linear2d(num.per.group = 20, T = 100,
# seed) (60 individuals, 3 subgroups, uniformly random behaviour) and
# evaluation data of the same design from seed + 50000 (60 new individuals),
# gamma = 0.8. Targets learned on the training data with their default
# basis: P4L (p4l(K = 3); each evaluation individual gets the policy
# p4l_assign() gives it from its own transitions, as policy_value() does for
# individuals the fit has not seen) and FQI; plus the uniform policy (the true
# behaviour) and behaviour_policy() fitted on the evaluation data (the
# "clinicians" row of a report). Estimators on the evaluation data with
# policy_value()'s defaults (its default basis, 64 RBF centres for these 6000
# transitions, and its default behaviour model, built once here with the
# seed policy_value() would use): FQE, DR with the true (uniform) behaviour
# and DR with the fitted behaviour model; 200 percentile resamples. The truth is evaluate_policy() of the same policy on
# the evaluation individuals' environments (334 episodes each, horizon 50),
# averaged over them.
suppressPackageStartupMessages(library(p4l))
source("bench/heldout-2d.R")
args <- commandArgs(trailingOnly = TRUE)
first <- as.integer(args[1]); last <- as.integer(args[2])
out <- if (length(args) >= 3) args[3] else "bench/value-coverage-heldout.csv"
base <- if (length(args) >= 4) as.integer(args[4]) else 5000L
gamma <- 0.8
num.boot <- 200
options(p4l.num.threads = 1L)
for (r in first:last) {
  seed <- base + r
  t0 <- proc.time()[["elapsed"]]
  h2 <- heldout_2d(seed)
  sim <- h2$sim; d <- h2$d; ev.sim <- h2$ev.sim; de <- h2$de
  unif <- uniform_policy(c(0, 1), c("s1", "s2"), gamma = gamma)
  fit <- p4l(d, K = 3, gamma = gamma, seed = seed)
  # policy_value()'s default basis on these data (6000 transitions: 64 RBF
  # centres, since session 21 at half the median bandwidth in these 2
  # dimensions) and its default behaviour model, built once for all targets.
  vb <- p4l:::value_basis(NULL, de, seed = seed, num.threads = 1L)
  bp <- behaviour_policy(de, basis = vb, gamma = gamma, seed = seed)
  # policy_value()'s default Q-function groups (select_groups() on the
  # evaluation data), recorded for the table.
  num.q.groups <- length(unique(p4l:::data_q_groups(de)))
  targets <- list(P4L = fit, FQI = fqi(d, gamma = gamma, seed = seed), uniform = unif,
                  behaviour.fit = bp)
  rows <- list()
  for (nm in names(targets)) {
    pol <- targets[[nm]]
    # The policy each evaluation individual follows (P4L: placed from its data).
    deployed <- if (nm == "P4L") suppressMessages(p4l_assign(fit, de)) else pol
    ev <- evaluate_policy(deployed, ev.sim$env, ids = names(ev.sim$env), num.episodes = 334,
                          horizon = 50, gamma = gamma,
                          seed = seed + 1e6)
    truth <- mean(ev$value)
    truth.se <- sqrt(sum(ev$se^2)) / nrow(ev)
    v.true <- suppressMessages(policy_value(pol, de, method = c("fqe", "dr"), gamma = gamma,
                                            basis = vb, behaviour = unif, num.boot = num.boot,
                                            seed = seed))
    v.fit <- suppressMessages(policy_value(pol, de, method = "dr", gamma = gamma, basis = vb,
                                           behaviour = bp, num.boot = num.boot, seed = seed))
    est <- rbind(cbind(as.data.frame(v.true), estimator = c("fqe", "dr.true.behaviour")),
                 cbind(as.data.frame(v.fit), estimator = "dr.fitted.behaviour"))
    rows[[nm]] <- data.frame(rep = r, seed = seed, policy = nm, estimator = est$estimator,
                             truth = truth, truth.se = truth.se, estimate = est$estimate, se = est$se,
                             lower = est$lower, upper = est$upper,
                             covered = est$lower <= truth & truth <= est$upper,
                             basis.dim = attr(v.true, "diagnostics")$basis.dim,
                             q.groups = num.q.groups,
                             in.cluster = if (nm == "P4L") {
                               # placed in the majority training cluster of its subgroup
                               maj <- tapply(fit$cluster, sim$group[as.character(fit$ids)],
                                             function(z) as.integer(names(which.max(table(z)))))
                               mean(deployed$cluster == maj[ev.sim$group[as.character(deployed$ids)]])
                             } else NA_real_)
  }
  res <- do.call(rbind, rows)
  res$seconds <- round(proc.time()[["elapsed"]] - t0, 1)
  utils::write.table(res, out, sep = ",", row.names = FALSE, append = file.exists(out),
                     col.names = !file.exists(out))
  cat("replication", r, "done in", res$seconds[1], "s\n")
}
