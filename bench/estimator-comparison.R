# The inner problem of P4L: the paper's closed form (kappa = 0) against the
# regularised one (kappa > 0), on the data that chose the default kappa.
# CartPole setting C (100 trajectories per environment, seed 2024; NOT the
# stress suite's seed 11) at gamma = 0.9, 0.95, 0.99, K = 3, all other
# settings default; each fit's policy is run for 20 episodes of at most 300
# steps per individual (mean steps per environment). Pooled FQI on the
# default basis for reference.
# Usage: Rscript bench/estimator-comparison.R [out.csv]
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
out <- if (length(args) >= 1) args[1] else "bench/estimator-comparison.csv"
kappas <- list(0, 0.001, 0.003, 0.01, 0.03, NULL)  # NULL: the default 0.2 (1 - gamma)
sim <- sim_cartpole(cartpole_settings("C"), num.traj = 100, seed = 2024)
d <- p4l_data(sim$data, "id", "time", "action", "reward",
              c("x", "x_dot", "theta", "theta_dot"), terminal = "terminal")
steps <- function(pol) {
  ev <- evaluate_policy(pol, sim$env, num.episodes = 20, horizon = 300, gamma = 1, seed = 1)
  tapply(ev$steps, sim$group[as.character(ev$id)], mean)
}
rows <- list()
for (g in c(0.9, 0.95, 0.99)) {
  fq <- suppressWarnings(fqi(d, gamma = g, seed = 1))
  s <- steps(fq)
  rows[[length(rows) + 1]] <- data.frame(gamma = g, estimator = "pooled FQI", kappa = NA,
    status = "", value = NA, point = NA, env1 = s[1], env2 = s[2], env3 = s[3], seconds = NA)
  for (k in kappas) {
    ctl <- p4l_control(kappa = k)
    secs <- system.time(fit <- suppressWarnings(p4l(d, K = 3, gamma = g, seed = 1,
                                                    control = ctl)))[["elapsed"]]
    s <- steps(fit)
    rows[[length(rows) + 1]] <- data.frame(gamma = g,
      estimator = if (is.null(k)) "P4L, default kappa" else "P4L", kappa = fit$kappa,
      status = fit$status, value = fit$value, point = fit$point.value,
      env1 = s[1], env2 = s[2], env3 = s[3], seconds = secs)
    cat(sprintf("gamma %.2f kappa %.4f: %s, value %.4g (point %.4g), steps %s, %.1f s\n", g,
                fit$kappa, fit$status, fit$value, fit$point.value,
                paste(round(s), collapse = "/"), secs))
  }
}
res <- do.call(rbind, rows)
rownames(res) <- NULL
utils::write.csv(res, out, row.names = FALSE)
fmt <- function(x) ifelse(is.na(x), "", ifelse(abs(x) > 1e4, formatC(x, format = "e", digits = 1),
                                            formatC(x, format = "f", digits = 3)))
cat("\n| gamma | estimator | kappa | status | value | point value | steps (2/0.15, 10/0.85, 5/0.5) | s |\n")
cat("|---|---|---|---|---|---|---|---|\n")
for (i in seq_len(nrow(res))) with(res[i, ], cat(sprintf("| %.2f | %s | %s | %s | %s | %s | %d / %d / %d | %s |\n",
  gamma, estimator, ifelse(is.na(kappa), "", format(kappa)), status, fmt(value), fmt(point),
  round(env1), round(env2), round(env3), ifelse(is.na(seconds), "", sprintf("%.1f", seconds)))))
