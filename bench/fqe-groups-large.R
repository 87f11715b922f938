# Development diagnostic (issue 15, session 21): is FQE's error on the 2-D
# study a finite-sample effect or a model error? Policies learned on 60
# individuals (P4L K = 3 placed by p4l_assign(), FQI), evaluated on
# 3 x NPG new individuals (NPG = 200: 60,000 transitions) with 64 RBF
# centres at 1, 0.5 and 0.35 times the median bandwidth, with one
# Q-function per true subgroup or one pooled; no bootstrap. Truth:
# evaluate_policy(), 60 episodes per individual.
#   R_LIBS=<library> Rscript bench/fqe-groups-large.R SEED NPG
# (run for seed 7001, NPG 200; output in bench/README.md, "FQE per subgroup")
args <- commandArgs(trailingOnly = TRUE)
seed <- as.integer(args[1]); npg <- as.integer(args[2])
gamma <- 0.8
options(p4l.num.threads = 2L)
sim <- sim_linear2d(num.per.group = 20, T = 100, seed = seed)
d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
ev.sim <- sim_linear2d(num.per.group = npg, T = 100, seed = seed + 50000)
ev.sim$data$id <- ev.sim$data$id + 1000
names(ev.sim$env) <- as.character(as.integer(names(ev.sim$env)) + 1000)
names(ev.sim$group) <- names(ev.sim$env)
de <- p4l_data(ev.sim$data, "id", "time", "action", "reward", c("s1", "s2"))
fit <- p4l(d, K = 3, gamma = gamma, seed = seed)
fq <- fqi(d, gamma = gamma, seed = seed)
dep <- suppressMessages(p4l_assign(fit, de))
b0 <- default_basis(de, num.centers = 64, seed = seed)
h <- b0$bandwidth
tr <- list()
for (nm in c("P4L", "FQI")) {
  deployed <- if (nm == "P4L") dep else fq
  ev <- evaluate_policy(deployed, ev.sim$env, ids = names(ev.sim$env), num.episodes = 60,
                        horizon = 50, gamma = gamma, seed = seed + 1e6)
  tr[[nm]] <- mean(ev$value)
}
grp <- ev.sim$group[as.character(de$ids)]
for (k in c(64)) for (f in c(1, 0.5, 0.35)) {
  vb <- rbf_basis(de, num.centers = k, bandwidth = f * h, seed = seed)
  for (nm in c("P4L", "FQI")) for (qg in c("subgroup", "pooled")) {
    pol <- if (nm == "P4L") fit else fq
    v <- suppressMessages(policy_value(pol, de, method = "fqe", gamma = gamma, basis = vb, num.boot = 0, seed = seed,
           q.groups = if (qg == "pooled") "pooled" else as.character(grp)))
    cat(sprintf("%d %s q=%s k=%d bw=%.2fh err=%+.4f\n", seed, nm, qg, k, f, v$estimate - tr[[nm]]))
  }
}
