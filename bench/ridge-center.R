#!/usr/bin/env Rscript
# P4L from the FQI start with the ridge on Theta centred at 0 (version 0.1.0)
# or at the start (p4l_control(ridge.center = "init")), K = 1 and 3, on
# CartPole data sets of bench/cartpole-tune.R (same seeds, data, basis and
# control: max.iter 1000, init.policy "fqi").
#
#   R_LIBS=<library> Rscript bench/ridge-center.R [A:1,A:3,C:2,B:1,A:17]
#
# A 1, A 3, B 1 and C 2 are pilot/development data sets; A 17 is where the
# collapse of the zero-centred K = 1 refit was seen (bench/README.md).
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(trailingOnly = TRUE)
sets <- strsplit(strsplit(if (length(args)) args[1] else "A:1,A:3,C:2,B:1,A:17", ",")[[1]], ":")
threads <- as.integer(Sys.getenv("P4L_NUM_THREADS", "2"))
state.names <- c("x", "x_dot", "theta", "theta_dot")
for (sr in sets) {
  setting <- sr[1]
  r <- as.integer(sr[2])
  seed <- 20240501 + 1000 * match(setting, c("A", "B", "C")) + r
  sim <- sim_cartpole(cartpole_settings(setting), num.traj = 100, epsilon = 0.3,
                      max.steps = 300, seed = seed, num.threads = threads)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", state.names, terminal = "terminal")
  basis <- rbf_basis(d, num.centers = 32, seed = seed, num.threads = threads)
  steps <- function(pol) {
    ev <- evaluate_policy(pol, sim$env, ids = names(sim$env), num.episodes = 10, horizon = 300,
                          gamma = 0.9, seed = seed + 7, num.threads = threads)
    round(tapply(ev$steps, sim$group[as.character(ev$id)], mean))
  }
  fq <- fqi(d, gamma = 0.9, basis = basis, seed = seed, num.threads = threads)
  cat(setting, r, "FQI steps", steps(fq), "\n")
  for (K in c(1, 3)) for (rc in c("zero", "init")) {
    ctrl <- p4l_control(max.iter = 1000, init.policy = "fqi", ridge.center = rc)
    fit <- p4l(d, K = K, gamma = 0.9, basis = basis, control = ctrl, seed = seed,
               num.threads = threads)
    cat(setting, r, "K", K, rc, "iterations", fit$iterations, "converged", fit$converged,
        "value", round(fit$value, 4), "steps", steps(fit), "\n")
  }
}
