# Development experiment (issue 15, session 21): FQE with one Q-function per
# group of individuals found in the evaluation data (select_groups()), for
# pooled and clustered policies alike, and narrower RBF bandwidths.
#
# On sim_linear2d() the subgroups differ in their dynamics. A pooled
# Q-function fitted to all individuals solves the Bellman equation of the
# mixture (as if an individual could change subgroup at every step), which
# is not the mean of the subgroups' values; per-subgroup Q-functions are
# consistent but a smooth basis underestimates greedy policies' values.
# Policies are learned on 60 individuals (P4L K = 3, placed by
# p4l_assign(); FQI) and evaluated on 60 new ones (seed + 50000), as in
# bench/value-coverage-heldout.R; development seeds 7000 + r.
#   R_LIBS=<library> Rscript bench/fqe-groups-dev.R FIRST LAST out.csv
suppressPackageStartupMessages(library(p4l))
source("bench/heldout-2d.R")
source("bench/adjusted-rand.R")
args <- commandArgs(TRUE); first <- as.integer(args[1]); last <- as.integer(args[2]); out <- args[3]
gamma <- 0.8; options(p4l.num.threads = 1L)
for (r in first:last) {
  seed <- 7000 + r
  t0 <- proc.time()[["elapsed"]]
  h2 <- heldout_2d(seed)
  sim <- h2$sim; d <- h2$d; ev.sim <- h2$ev.sim; de <- h2$de
  fit <- p4l(d, K = 3, gamma = gamma, seed = seed)
  asg <- suppressMessages(p4l_assign(fit, de))
  sg <- select_groups(de, seed = seed)
  truth.grp <- as.character(ev.sim$group[as.character(de$ids)])
  ari <- adjusted_rand(sg$cluster, truth.grp)
  unif <- uniform_policy(c(0, 1), c("s1", "s2"), gamma = gamma)
  targets <- list(P4L = fit, FQI = fqi(d, gamma = gamma, seed = seed), uniform = unif)
  b64 <- rbf_basis(de, 64, seed = seed); h <- b64$bandwidth
  bases <- list(h = b64, h0.7 = rbf_basis(de, 64, bandwidth = 0.7 * h, seed = seed),
                h0.5 = rbf_basis(de, 64, bandwidth = 0.5 * h, seed = seed))
  rows <- list()
  for (nm in names(targets)) {
    pol <- targets[[nm]]
    deployed <- if (nm == "P4L") asg else pol
    ev <- evaluate_policy(deployed, ev.sim$env, ids = names(ev.sim$env), num.episodes = 334,
                          horizon = 50, gamma = gamma, seed = seed + 1e6)
    truth <- mean(ev$value)
    for (b in names(bases)) for (qg in c("default", "groups", "true")) {
      q <- switch(qg, default = NULL, groups = sg$cluster, true = truth.grp)
      v <- as.data.frame(suppressMessages(policy_value(pol, de, method = c("fqe", "dr"), gamma = gamma,
                                      basis = bases[[b]], behaviour = unif,
                                      q.groups = q, num.boot = 100, seed = seed)))
      rows[[length(rows) + 1]] <- data.frame(rep = r, policy = nm, basis = b, q = qg,
        method = v$method, truth = truth, estimate = v$estimate, se = v$se,
        covered = v$lower <= truth & truth <= v$upper, K = sg$K, ari = ari)
    }
  }
  res <- do.call(rbind, rows)
  res$seconds <- round(proc.time()[["elapsed"]] - t0, 1)
  utils::write.table(res, out, sep = ",", row.names = FALSE, append = file.exists(out), col.names = !file.exists(out))
  cat(r, res$seconds[1], "s\n")
}
