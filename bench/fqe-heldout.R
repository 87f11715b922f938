# Development experiment (issue 15): FQE of a pooled FQI policy evaluated on
# the individuals it was learned from ("train") and on 60 new individuals of
# the same design ("test", seed + 50000), with the 16-centre default basis and
# a 64-centre RBF basis built on the evaluation data. Seeds 7000 + r
# (development seeds). Truth: evaluate_policy() on the evaluated individuals'
# environments, 334 episodes each.
#   Rscript bench/fqe-heldout.R FIRST LAST out.csv
# Summary: Rscript bench/fqe-basis-summary.R out.csv
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE); first <- as.integer(args[1]); last <- as.integer(args[2]); out <- args[3]
gamma <- 0.8; options(p4l.num.threads = 1L)
for (r in first:last) {
  seed <- 7000 + r
  sim <- sim_linear2d(num.per.group = 20, T = 100, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  test <- sim_linear2d(num.per.group = 20, T = 100, seed = seed + 50000)
  dt <- p4l_data(test$data, "id", "time", "action", "reward", c("s1", "s2"))
  basis <- default_basis(d, seed = seed)
  pol <- fqi(d, gamma = gamma, basis = basis, seed = seed)
  truth <- mean(evaluate_policy(pol, test$env, num.episodes = 334, horizon = 50, gamma = gamma, seed = seed + 1e6)$value)
  rows <- list()
  for (b in c("rbf16", "rbf64")) {
    bb <- if (b == "rbf16") default_basis(dt, seed = seed) else rbf_basis(dt, 64, seed = seed)
    for (where in c("train", "test")) {
      dd <- if (where == "train") d else dt
      bx <- if (where == "train") (if (b == "rbf16") basis else rbf_basis(d, 64, seed = seed)) else bb
      tr <- if (where == "train") mean(evaluate_policy(pol, sim$env, num.episodes = 334, horizon = 50, gamma = gamma, seed = seed + 1e6)$value) else truth
      v <- as.data.frame(policy_value(pol, dd, method = "fqe", gamma = gamma, basis = bx, num.boot = 100, seed = seed))
      rows[[length(rows) + 1]] <- data.frame(rep = r, policy = paste("FQI", where), basis = b, truth = tr,
        estimate = v$estimate, se = v$se, covered = v$lower <= tr & tr <= v$upper)
    }
  }
  res <- do.call(rbind, rows)
  utils::write.table(res, out, sep = ",", row.names = FALSE, append = file.exists(out), col.names = !file.exists(out))
  cat(r, "\n")
}
