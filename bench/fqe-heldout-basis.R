# Development experiment (issue 15): FQE of P4L (assigned by p4l_assign()) and FQI
# learned on 60 individuals of sim_linear2d() and evaluated on 60 new ones
# (seed + 50000), with evaluation bases of 16, 36, 64, 100 RBF centres (median
# bandwidth) and 64 centres at 0.7 times it, per-cluster or pooled Q-functions.
# Development seeds 7000 + r; chose policy_value()'s default basis rule.
#   R_LIBS=<library> Rscript bench/fqe-heldout-basis.R FIRST LAST out.csv
# (run 2026-12-05, stopped after replications 1, 2, 16, 17, 18: bench/fqe-heldout-basis.csv)
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE); first <- as.integer(args[1]); last <- as.integer(args[2]); out <- args[3]
gamma <- 0.8; options(p4l.num.threads = 1L)
for (r in first:last) {
  seed <- 7000 + r
  sim <- sim_linear2d(num.per.group = 20, T = 100, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ev.sim <- sim_linear2d(num.per.group = 20, T = 100, seed = seed + 50000)
  ev.sim$data$id <- ev.sim$data$id + 1000
  names(ev.sim$env) <- as.character(as.integer(names(ev.sim$env)) + 1000)
  de <- p4l_data(ev.sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  fit <- p4l(d, K = 3, gamma = gamma, seed = seed)
  asg <- suppressMessages(p4l_assign(fit, de))
  targets <- list(P4L = asg, FQI = fqi(d, gamma = gamma, seed = seed))
  b64 <- rbf_basis(de, 64, seed = seed); h <- b64$bandwidth
  bases <- list(rbf16 = rbf_basis(de, 16, seed = seed), rbf36 = rbf_basis(de, 36, seed = seed), rbf64 = b64,
                rbf100 = rbf_basis(de, 100, seed = seed), rbf64.h7 = rbf_basis(de, 64, bandwidth = 0.7 * h, seed = seed))
  rows <- list()
  for (nm in names(targets)) {
    pol <- targets[[nm]]
    ev <- evaluate_policy(pol, ev.sim$env, ids = names(ev.sim$env), num.episodes = 334, horizon = 50, gamma = gamma, seed = seed + 1e6)
    truth <- mean(ev$value)
    for (b in names(bases)) for (qg in if (nm == "P4L") c("cluster", "pooled") else "pooled") {
      v <- as.data.frame(policy_value(pol, de, method = "fqe", gamma = gamma, basis = bases[[b]],
                                      q.groups = if (qg == "pooled") "pooled" else NULL, num.boot = 100, seed = seed))
      rows[[length(rows) + 1]] <- data.frame(rep = r, policy = nm, basis = b, q = qg, truth = truth,
        estimate = v$estimate, se = v$se, covered = v$lower <= truth & truth <= v$upper)
    }
  }
  res <- do.call(rbind, rows)
  utils::write.table(res, out, sep = ",", row.names = FALSE, append = file.exists(out), col.names = !file.exists(out))
  cat(r, "\n")
}
