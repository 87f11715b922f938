# Throughput of evaluate_policy(): simulated steps per second, 1 and 2
# threads, for a fitted FQI policy (16 RBF centres) in the 2-D environment
# (60 individuals x 1,000 episodes x 50 steps = 3 x 10^6 steps) and in
# CartPole (3 environments x 1,000 episodes, at most 300 steps; a policy that
# balances makes most episodes run the full 300). Median of 3 runs.
# Run: R_LIBS=<lib> Rscript bench/evaluate-speed.R [episodes] [out.csv]
# out.csv (optional): also write the table to a CSV (bench/run-targets.R).
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
eps <- if (length(args) >= 1) as.integer(args[1]) else 1000L
out.csv <- if (length(args) >= 2) args[2] else ""
sim <- sim_linear2d(num.per.group = 20, T = 100, seed = 1)
d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
pol2d <- fqi(d, basis = rbf_basis(d, 16, seed = 1), seed = 1)
cp <- sim_cartpole(cartpole_settings("C"), num.traj = 100, seed = 11)
dc <- p4l_data(cp$data, "id", "time", "action", "reward", c("x", "x_dot", "theta", "theta_dot"),
               terminal = "terminal")
polcp <- fqi(dc, gamma = 0.9, basis = rbf_basis(dc, 16, seed = 1), seed = 1)
envcp <- cp$env[!duplicated(as.character(cp$group[names(cp$env)]))]
cases <- list(
  list(name = "2-D, 60 individuals, horizon 50", pol = pol2d, env = sim$env, horizon = 50),
  list(name = sprintf("CartPole C, %d environments, horizon 300", length(envcp)),
       pol = polcp, env = envcp, horizon = 300))
rows <- list()
for (cs in cases) for (nt in 1:2) {
  t <- numeric(3)
  for (r in 1:3) {
    t[r] <- system.time(ev <- evaluate_policy(cs$pol, cs$env, ids = names(cs$env),
                                              num.episodes = eps,
                                              horizon = cs$horizon, seed = 1,
                                              num.threads = nt))[["elapsed"]]
  }
  steps <- sum(ev$steps) * eps
  rows[[length(rows) + 1L]] <- data.frame(case = cs$name, num.threads = nt, steps = steps,
                                          seconds = stats::median(t),
                                          steps.per.second = steps / stats::median(t))
}
res <- do.call(rbind, rows)
res$steps.per.second <- round(res$steps.per.second)
print(res, row.names = FALSE, digits = 3, right = FALSE)
if (nzchar(out.csv)) utils::write.csv(cbind(episodes = eps, res), out.csv, row.names = FALSE)
