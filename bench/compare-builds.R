# Are two builds of p4l the same to the bit? Runs one set of reference fits
# with each build (separate R processes) and compares the results with
# identical(): p4l() (value, U, Theta, value table, assignment model,
# predict(type = "cluster"), 1 and 2 threads), fqi(), vlearning(), acpi()
# (every pair, sparse graph with its low-rank path, given clusters) on the 2-D
# study and sim_icu() data, the features of every basis kind (RBF on all and
# on some columns, indicators none/pairwise/joint, linear, sum, product, and
# the per-state path) and one evaluate_policy() run. Used for behaviour-
# preserving refactors (issue 11); takes about 2 minutes.
#   Rscript bench/compare-builds.R <library of build A> <library of build B>
# Prints one line per result: identical TRUE/FALSE and the largest absolute
# difference of its numbers.
args <- commandArgs(TRUE)
if (length(args) == 3L && args[1] == "--run") {
  suppressPackageStartupMessages(library(p4l))
  set.seed(1)
  out <- list()
  sim <- sim_linear2d(num.per.group = 10, T = 50, seed = 3)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, num.centers = 9)
  f <- p4l(d, K = 2, gamma = 0.8, basis = b, seed = 1)
  out$p4l <- list(f$value, f$point.value, f$U, f$Theta, f$iterations, f$values)
  out$p4l.assignment <- f$assignment.model
  out$p4l.predict <- predict(f, d, type = "cluster")
  out$p4l.2threads <- with(p4l(d, K = 2, gamma = 0.8, basis = b, seed = 1, num.threads = 2),
                           list(value, U))
  out$fqi <- with(fqi(d, gamma = 0.8, basis = b), list(q.coef, convergence))
  out$vlearning <- with(vlearning(d, gamma = 0.8, basis = b), list(policy.coef, value))
  out$acpi <- with(acpi(d, gamma = 0.8, basis = b, K = 2, seed = 1), list(cluster, q.coef))
  out$acpi.given <- acpi(d, gamma = 0.8, basis = b, clusters = rep(1:2, length.out = 30))$q.coef
  icu <- sim_icu(200, seed = 7, max.decisions = 10)
  di <- p4l_data(icu$data, "id", "time", "action", "reward", env_icu()$state.names,
                 terminal = "terminal")
  bi <- rbf_basis(di, 8, seed = 2)
  out$icu.acpi.knn <- with(acpi(di, K = 2, gamma = 0.9, basis = bi,
                                control = acpi_control(graph = "knn")), list(cluster, q.coef, path))
  fi <- p4l(di, K = 2, gamma = 0.99, seed = 1)
  out$icu.p4l <- list(fi$value, fi$U, fi$iterations, fi$assignment.model)
  out$icu.fqi <- suppressWarnings(fqi(di, gamma = 0.99))$q.coef
  sn <- env_icu()$state.names
  bs <- list(rbf = bi, rbf.some = rbf_basis(di, 5, seed = 2, columns = sn[1:3]),
             ind.none = indicator_basis(di, interactions = "none"),
             ind.pairwise = indicator_basis(di, interactions = "pairwise"),
             ind.joint = indicator_basis(di, columns = sn[4:6], interactions = "joint"),
             linear = linear_basis(di))
  bs$sum <- basis_sum(bs$rbf.some, indicator_basis(di, columns = sn[4:6]))
  bs$product <- basis_product(indicator_basis(di, columns = sn[1:2]), bs$ind.joint)
  for (nm in names(bs)) {
    out[[paste0("basis.", nm)]] <- list(
      predict(bs[[nm]], di),
      p4l:::basis_features_rowwise_cpp(di$S[1:50, ], p4l:::basis_spec(bs[[nm]])))
  }
  q <- fqi(di, gamma = 0.9, basis = bs$sum)
  out$evaluate <- evaluate_policy(q, env_icu(), num.episodes = 50, horizon = 20, seed = 3)
  saveRDS(out, args[3])
  quit(save = "no")
}
if (length(args) != 2L) stop("usage: Rscript bench/compare-builds.R <library A> <library B>")
me <- normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
res <- lapply(args, function(lib) {
  f <- tempfile(fileext = ".rds")
  st <- system2(file.path(R.home("bin"), "Rscript"), c(me, "--run", lib, f),
                env = paste0("R_LIBS=", lib))
  if (st != 0) stop("the reference fits failed with the library ", lib)
  readRDS(f)
})
for (nm in names(res[[1]])) {
  a <- res[[1]][[nm]]
  b <- res[[2]][[nm]]
  na <- suppressWarnings(as.numeric(unlist(a)))
  nb <- suppressWarnings(as.numeric(unlist(b)))
  diff <- if (length(na) == length(nb)) max(c(0, abs(na - nb)), na.rm = TRUE) else NA
  cat(sprintf("%-22s identical=%-5s max abs difference %.3g\n", nm, identical(a, b), diff))
}
