# Development diagnostic (issue 15, session 21): is FQE's error on the 2-D
# study a finite-sample effect or a model error? Policies learned on 60
# individuals (P4L K = 3 placed by p4l_assign(), FQI), evaluated on
# 3 x NPG new individuals (NPG = 200: 60,000 transitions) with 64 RBF
# centres at 1, 0.5 and 0.35 times the median bandwidth, with one
# Q-function per true subgroup or one pooled; no bootstrap. Truth:
# evaluate_policy(), 60 episodes per individual.
#   R_LIBS=<library> Rscript bench/fqe-groups-large.R SEED NPG
# (run for seed 7001, NPG 200; output in bench/README.md, "FQE per subgroup")
suppressPackageStartupMessages(library(p4l))
source("bench/heldout-2d.R")
args <- commandArgs(trailingOnly = TRUE)
seed <- as.integer(args[1]); npg <- as.integer(args[2])
gamma <- 0.8
options(p4l.num.threads = 2L)
h2 <- heldout_2d(seed, npg)
sim <- h2$sim; d <- h2$d; ev.sim <- h2$ev.sim; de <- h2$de
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
