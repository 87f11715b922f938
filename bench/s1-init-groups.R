#!/usr/bin/env Rscript
# Issue 12, S1 (session 21, development data sets only: seeds 1002, 2002):
# do P4L's K = 3 clusters lose CartPole cells because they do not follow
# the environments? P4L with the suite's call against the same call started
# from latent variables averaged within the groups select_groups() finds
# (which are the environments here), so that its clusters follow them.
#   R_LIBS=<library> Rscript bench/s1-init-groups.R
suppressMessages(library(p4l))
options(p4l.num.threads = 1L)
sn <- c("x", "x_dot", "theta", "theta_dot")
for (s in c("A", "B")) {
  seed <- 1000 * match(s, c("A", "B", "C")) + 2
  sim <- sim_cartpole(cartpole_settings(s), num.traj = 100, epsilon = 0.3, max.steps = 300, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", sn, terminal = "terminal")
  env.of <- sim$group[match(d$ids, names(sim$env))]
  steps <- function(pol) {
    ev <- evaluate_policy(pol, sim$env, ids = names(sim$env), num.episodes = 10, horizon = 300, gamma = 1, seed = seed + 7)
    round(tapply(ev$steps, sim$group[as.character(ev$id)], mean), 1)
  }
  f0 <- suppressWarnings(p4l(d, K = 3, gamma = 0.9, seed = 2))
  cat(s, "suite K=3:", steps(f0), " rank", f0$rank, "\n")
  print(table(f0$cluster, env.of))
  sg <- select_groups(d)
  cat("select_groups K", sg$K, "\n"); print(table(sg$cluster, env.of))
  u0 <- p4l:::p4l_initial_u(d, f0$rank, p4l_control(), 2)
  um <- apply(u0[, -1, drop = FALSE], 2, function(z) ave(z, sg$cluster))
  f1 <- suppressWarnings(p4l(d, K = 3, gamma = 0.9, seed = 2, control = p4l_control(init = um)))
  cat(s, "init group means:", steps(f1), " conv", f1$converged, "\n")
  print(table(f1$cluster, env.of))
  fq <- fqi(d, gamma = 0.9, seed = 2); cat(s, "FQI:", steps(fq), "\n")
}
