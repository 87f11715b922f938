# Development experiment: the bias of fitted-Q evaluation (policy_value(method =
# "fqe")) for greedy learned policies (P4L K = 3, FQI) on sim_linear2d() data
# (20 per subgroup, T = 100, gamma = 0.8), with several evaluation bases.
# Seeds 7000 + r (development seeds; the coverage table's seeds 5001-5200 are
# not used). Truth: evaluate_policy(), 334 episodes per individual.
#
#   Rscript bench/fqe-basis.R FIRST LAST out.csv [set]
#
# set "size" (default): RBF with 16, 36, 64 centres and the median bandwidth,
# 16 and 36 plus linear terms; set "bandwidth": 64 and 100 centres with the
# median bandwidth h, 0.7 h and h / 2. Summary: bench/fqe-basis-summary.R.
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE); first <- as.integer(args[1]); last <- as.integer(args[2]); out <- args[3]
set <- if (length(args) >= 4) args[4] else "size"
gamma <- 0.8
options(p4l.num.threads = 1L)
for (r in first:last) {
  seed <- 7000 + r
  sim <- sim_linear2d(num.per.group = 20, T = 100, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  basis <- default_basis(d, seed = seed)
  targets <- list(P4L = p4l(d, K = 3, gamma = gamma, basis = basis, seed = seed),
                  FQI = fqi(d, gamma = gamma, basis = basis, seed = seed))
  h <- basis$bandwidth
  bases <- if (set == "size") {
    list(rbf16 = basis,
         rbf16.lin = basis_sum(basis, linear_basis(d)),
         rbf36 = rbf_basis(d, 36, seed = seed),
         rbf64 = rbf_basis(d, 64, seed = seed),
         rbf36.lin = basis_sum(rbf_basis(d, 36, seed = seed), linear_basis(d)))
  } else {
    list(rbf64.h.5 = rbf_basis(d, 64, bandwidth = h / 2, seed = seed),
         rbf64.h.7 = rbf_basis(d, 64, bandwidth = h * 0.7, seed = seed),
         rbf100 = rbf_basis(d, 100, seed = seed),
         rbf100.h.5 = rbf_basis(d, 100, bandwidth = h / 2, seed = seed))
  }
  rows <- list()
  for (nm in names(targets)) {
    pol <- targets[[nm]]
    ev <- evaluate_policy(pol, sim$env, num.episodes = 334, horizon = 50, gamma = gamma, seed = seed + 1e6)
    truth <- mean(ev$value)
    for (b in names(bases)) {
      v <- policy_value(pol, d, method = "fqe", gamma = gamma, basis = bases[[b]], num.boot = 100, seed = seed)
      v <- as.data.frame(v)
      rows[[length(rows) + 1]] <- data.frame(rep = r, policy = nm, basis = b, truth = truth,
        estimate = v$estimate, se = v$se, covered = v$lower <= truth & truth <= v$upper)
    }
  }
  res <- do.call(rbind, rows)
  utils::write.table(res, out, sep = ",", row.names = FALSE, append = file.exists(out), col.names = !file.exists(out))
  cat(r, "\n")
}
