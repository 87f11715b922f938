# Coverage of policy_value()'s 95% bootstrap intervals on sim_linear2d().
#
# Usage (from the package root, with p4l installed in R_LIBS):
#   nice Rscript bench/value-coverage.R FIRST LAST [out.csv]
# runs replications FIRST..LAST (seeds 5000 + r; no setting of the package
# was chosen on these seeds) and appends one row per replication, target
# policy and estimator to out.csv (default bench/value-coverage.csv).
#
# Each replication: sim_linear2d(num.per.group = 20, T = 100) (60 individuals,
# 3 subgroups, uniformly random behaviour), gamma = 0.8; targets P4L
# (p4l(d, K = 3)), FQI, the uniform policy (the true behaviour) and the
# fitted behaviour_policy(), and P4L again with one pooled Q-function
# (q.groups = "pooled"; the default fits one per P4L cluster); estimators
# FQE, DR with the true (uniform) behaviour and DR with the fitted behaviour
# model; 200 percentile bootstrap
# resamples. The truth is evaluate_policy() on sim$env (each individual in
# its own environment, 334 episodes each, about 20000 in all, horizon 50),
# averaged over the individuals: the quantity the overall estimate targets.
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(trailingOnly = TRUE)
first <- as.integer(args[1]); last <- as.integer(args[2])
out <- if (length(args) >= 3) args[3] else "bench/value-coverage.csv"
gamma <- 0.8
num.boot <- 200
options(p4l.num.threads = 1L)
for (r in first:last) {
  seed <- 5000 + r
  t0 <- proc.time()[["elapsed"]]
  sim <- sim_linear2d(num.per.group = 20, T = 100, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  unif <- uniform_policy(c(0, 1), c("s1", "s2"), gamma = gamma)
  basis <- default_basis(d, seed = seed)
  bp <- behaviour_policy(d, basis = basis, gamma = gamma, seed = seed)
  targets <- list(P4L = p4l(d, K = 3, gamma = gamma, basis = basis, seed = seed),
                  FQI = fqi(d, gamma = gamma, basis = basis, seed = seed),
                  uniform = unif, behaviour.fit = bp)
  targets$P4L.pooledQ <- targets$P4L
  neps <- ceiling(20000 / length(d$ids))
  rows <- list()
  for (nm in names(targets)) {
    pol <- targets[[nm]]
    qg <- if (nm == "P4L.pooledQ") "pooled" else NULL
    ev <- evaluate_policy(pol, sim$env, num.episodes = neps, horizon = 50, gamma = gamma,
                          seed = seed + 1e6)
    truth <- mean(ev$value)
    truth.se <- sqrt(sum(ev$se^2)) / nrow(ev)
    v.true <- policy_value(pol, d, method = c("fqe", "dr"), gamma = gamma, basis = basis,
                           behaviour = unif, q.groups = qg, num.boot = num.boot, seed = seed)
    v.fit <- policy_value(pol, d, method = "dr", gamma = gamma, basis = basis, behaviour = bp,
                          q.groups = qg, num.boot = num.boot, seed = seed)
    est <- rbind(cbind(as.data.frame(v.true), estimator = c("fqe", "dr.true.behaviour")),
                 cbind(as.data.frame(v.fit), estimator = "dr.fitted.behaviour"))
    rows[[nm]] <- data.frame(rep = r, seed = seed, policy = nm, estimator = est$estimator,
                             truth = truth, truth.se = truth.se, estimate = est$estimate, se = est$se,
                             lower = est$lower, upper = est$upper,
                             covered = est$lower <= truth & truth <= est$upper,
                             ess.step5 = attr(v.true, "diagnostics")$ess[5])
  }
  res <- do.call(rbind, rows)
  res$seconds <- round(proc.time()[["elapsed"]] - t0, 1)
  utils::write.table(res, out, sep = ",", row.names = FALSE, append = file.exists(out),
                     col.names = !file.exists(out))
  cat("replication", r, "done in", res$seconds[1], "s\n")
}
