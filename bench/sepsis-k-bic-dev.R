# Development (session 19, negative result): can the number of subgroups be
# read off the short-stay start? Gaussian mixtures (full covariance, EM by
# hand, BIC) on the first 1-3 principal component scores of the intercept
# one-step models (p4l_control(init.model = "intercept")) of 1,000 stays of
# sim_sepsis_cohort() with two, one and three planted subgroups (cohort seeds
# 9001, 9005, 9007). Prints the BIC-chosen K per number of scores.
#   R_LIBS=<library> Rscript bench/sepsis-k-bic-dev.R
suppressPackageStartupMessages(library(p4l))
ns <- asNamespace("p4l")
gmm_bic <- function(X, K, restarts = 5, iters = 200) {
  n <- nrow(X); p <- ncol(X); best <- -Inf
  for (r in seq_len(restarts)) {
    set.seed(r); cl <- if (K == 1) rep(1, n) else kmeans(X, K, nstart = 1)$cluster
    R <- outer(cl, 1:K, "==") * 1
    ll.old <- -Inf
    for (it in 1:iters) {
      nk <- colSums(R) + 1e-10; pi <- nk / n
      mu <- t(R) %*% X / nk
      L <- matrix(0, n, K)
      for (k in 1:K) { Xc <- sweep(X, 2, mu[k, ]); S <- crossprod(Xc * R[, k], Xc) / nk[k] + diag(1e-6, p)
        ch <- chol(S); z <- forwardsolve(t(ch), t(Xc)); L[, k] <- log(pi[k]) - 0.5 * colSums(z^2) - sum(log(diag(ch))) - p / 2 * log(2 * pi0) }
      m <- apply(L, 1, max); ll <- sum(m + log(rowSums(exp(L - m)))); R <- exp(L - m); R <- R / rowSums(R)
      if (ll - ll.old < 1e-8 * abs(ll)) break; ll.old <- ll }
    best <- max(best, ll) }
  npar <- K * p + K * p * (p + 1) / 2 + K - 1
  -2 * best + npar * log(n)
}
pi0 <- pi
run <- function(sub, seed, tag) {
  sim <- sim_sepsis_cohort(3000, subgroups = sub, seed = seed)
  D <- suppressMessages(sepsis_data(sim$data)); set.seed(seed + 1); ids <- sort(D$ids[sample.int(length(D$ids), 1000)]); d <- subset(D, ids = ids)
  Z <- ns$p4l_model_coefficients(d, 1, model = "intercept"); Z <- sweep(Z, 2, colMeans(Z))
  e <- eigen(crossprod(Z), symmetric = TRUE); for (q in c(1, 2, 3)) { X <- Z %*% e$vectors[, 1:q, drop = FALSE]; X <- X / sd(X[, 1])
    b <- sapply(1:4, function(K) gmm_bic(X, K)); cat(tag, "q", q, "BIC-chosen K", which.min(b), " BIC:", round(b - min(b), 1), "\n") }
}
run(c(fluid = 0.5, vaso = 0.5), 9001, "two groups")
run(c(fluid = 1), 9005, "one group (fluid)")
run(c(fluid = 1/3, vaso = 1/3, neutral = 1/3), 9007, "three groups")
