# Development experiment (issue 15, session 19): do linear terms added to the
# RBF evaluation basis remove FQE's underestimate of P4L's greedy policy on
# held-out individuals? P4L (K = 3, placed by p4l_assign()) and FQI learned on
# 60 individuals of sim_linear2d(), FQE and DR on 60 new ones (seed + 50000),
# evaluation bases RBF 64 (the default rule's at these 6,000 transitions), RBF
# 64 + linear, RBF 36 + linear, RBF 16 + linear; 100 percentile resamples.
# Development seeds 7000 + r (r = 3 to 40; not the coverage table's).
#   R_LIBS=<library> Rscript bench/fqe-heldout-linear.R FIRST LAST out.csv
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
  b64 <- rbf_basis(de, 64, seed = seed); b36 <- rbf_basis(de, 36, seed = seed)
  lin <- linear_basis(de)
  bases <- list(rbf64 = b64, rbf64.lin = basis_sum(b64, lin), rbf36.lin = basis_sum(b36, lin),
                rbf16.lin = basis_sum(rbf_basis(de, 16, seed = seed), lin))
  rows <- list()
  for (nm in names(targets)) {
    pol <- targets[[nm]]
    ev <- evaluate_policy(pol, ev.sim$env, ids = names(ev.sim$env), num.episodes = 334, horizon = 50, gamma = gamma, seed = seed + 1e6)
    truth <- mean(ev$value)
    for (b in names(bases)) {
      v <- as.data.frame(policy_value(pol, de, method = c("fqe", "dr"), gamma = gamma, basis = bases[[b]],
                                      num.boot = 100, seed = seed))
      rows[[length(rows) + 1]] <- data.frame(rep = r, policy = nm, basis = b, method = v$method, truth = truth,
        estimate = v$estimate, se = v$se, covered = v$lower <= truth & truth <= v$upper)
    }
  }
  res <- do.call(rbind, rows)
  utils::write.table(res, out, sep = ",", row.names = FALSE, append = file.exists(out), col.names = !file.exists(out))
  cat(r, format(Sys.time()), "\n")
}
