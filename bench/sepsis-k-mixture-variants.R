# Development (session 20), the prototype that chose select_groups(method =
# "mixture")'s design: the same mixture of per-action mean residuals, with
# and without each individual's level profiled out (FE = TRUE / FALSE), and
# K (1 to 4) by BIC or by 5-fold held-out log-likelihood, on the
# development cohorts of bench/sepsis-k-mixture-dev.R (9001, 9003: two
# subgroups; 9005, 9006: one; 9007: three). Columns dbic and dcv are each
# K's distance to the best (0 marks the choice). A plain-R prototype: the
# package's implementation (R/groups.R) is the one to use.
#   R_LIBS=<library> Rscript bench/sepsis-k-mixture-variants.R run TRUE|FALSE
suppressPackageStartupMessages(library(p4l)); FE <- TRUE
ns <- asNamespace("p4l")
source(file.path(local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
}), "adjusted-rand.R"))
prep <- function(d) {
  S <- scale(d$S); S[, attr(S,"scaled:scale")==0] <- 0
  Sn <- scale(d$S_next, attr(S,"scaled:center"), attr(S,"scaled:scale"))
  keep <- d$next.observed
  X <- cbind(1, S)[keep,]; Y <- cbind(d$R, Sn)[keep,]; A <- d$A[keep]; g <- d$individual[keep]
  m <- length(d$action.levels); N <- length(d$ids)
  E <- matrix(0, nrow(Y), ncol(Y))
  for (a in 1:m) { r <- which(A==a); if (!length(r)) next
    b <- qr.coef(qr(X[r,,drop=FALSE]), Y[r,,drop=FALSE]); b[is.na(b)] <- 0
    E[r,] <- Y[r,,drop=FALSE] - X[r,,drop=FALSE] %*% b }
  # pooled within-individual covariance
  Ec <- E - rowsum(E, g)[match(g, sort(unique(g))),] / tabulate(g, N)[g]
  n <- tabulate(g, N); df <- sum(n) - sum(n>0)
  C <- crossprod(Ec) / df
  ev <- eigen(C, symmetric=TRUE); keepd <- ev$values > 1e-8 * ev$values[1]
  W <- ev$vectors[, keepd, drop=FALSE] %*% diag(1/sqrt(ev$values[keepd]), sum(keepd))
  Z <- E %*% W
  q <- ncol(Z)
  nia <- matrix(0, N, m); for (a in 1:m) nia[,a] <- tabulate(g[A==a], N)
  Sia <- array(0, c(N, m, q)); for (a in 1:m) { r <- which(A==a); if (length(r)) { s <- rowsum(Z[r,,drop=FALSE], g[r]); Sia[as.integer(rownames(s)), a, ] <- s } }
  SS <- tabulate(g, N) * 0; SS <- as.numeric(rowsum(rowSums(Z^2), g)[as.character(1:N),]); SS[is.na(SS)] <- 0
  list(nia = nia, Sia = Sia, tot = apply(Sia, c(1,3), sum), n = rowSums(nia), SS = SS, N = N, m = m, q = q)
}
loglik_k <- function(P, M) {  # M: m x q ; returns N vector
  lin <- 0; for (dd in 1:P$q) lin <- lin + P$Sia[,,dd] %*% M[,dd]
  quad <- P$nia %*% rowSums(M^2)
  tot <- P$tot
  mbar <- P$nia %*% M  # N x q
  nn <- pmax(P$n, 1)
  w <- if (FE) rowSums((tot - mbar)^2) / nn else 0
  -0.5 * (P$SS - 2 * lin + quad - rowSums(tot^2)/nn*0 - w + rowSums(tot^2)/nn * 0)
}
mstep <- function(P, r, lambda) {
  nn <- pmax(P$n, 1)
  H <- diag(colSums(P$nia * r), P$m) - FE * crossprod(P$nia * (r/nn), P$nia) + diag(lambda, P$m)
  tot <- P$tot
  G <- sapply(1:P$q, function(dd) colSums(P$Sia[,,dd] * r) - FE * crossprod(P$nia, r * tot[,dd] / nn))
  solve(H, G)
}
em <- function(P, K, idx = seq_len(P$N), restarts = 5, lambda = 1, iters = 300, seed = 1) {
  Q <- P; Q$nia <- P$nia[idx,,drop=FALSE]; Q$Sia <- P$Sia[idx,,,drop=FALSE]; Q$n <- P$n[idx]; Q$tot <- P$tot[idx,,drop=FALSE]; Q$SS <- P$SS[idx]; Q$N <- length(idx)
  dev <- matrix(Q$Sia, Q$N) / (rep(Q$nia, Q$q) + 1)
  best <- NULL
  for (s in seq_len(if (K==1) 1 else restarts)) {
    set.seed(seed + s)
    cl <- if (K==1) rep(1, Q$N) else kmeans(dev, K, nstart = 1, iter.max = 50)$cluster
    R <- outer(cl, 1:K, "==") * 1; old <- -Inf
    for (it in 1:iters) {
      pk <- colMeans(R); Ms <- lapply(1:K, function(k) mstep(Q, R[,k], lambda))
      L <- sapply(1:K, function(k) log(pk[k]) + loglik_k(Q, Ms[[k]])); L <- matrix(L, Q$N)
      mx <- apply(L, 1, max); ll <- sum(mx + log(rowSums(exp(L - mx))))
      R <- exp(L - mx); R <- R / rowSums(R)
      if (isTRUE(getOption('trace.em')) && it %% 20 == 0) cat(it, ll, '\n'); if (ll - old < 1e-7 * abs(ll)) break; old <- ll }
    if (is.null(best) || ll > best$ll) best <- list(ll = ll, M = Ms, pk = colMeans(R), R = R)
  }
  best
}
heldout <- function(P, fit, idx) {
  Q <- P; Q$nia <- P$nia[idx,,drop=FALSE]; Q$Sia <- P$Sia[idx,,,drop=FALSE]; Q$n <- P$n[idx]; Q$tot <- P$tot[idx,,drop=FALSE]; Q$SS <- P$SS[idx]
  L <- sapply(seq_along(fit$M), function(k) log(fit$pk[k]) + loglik_k(Q, fit$M[[k]])); L <- matrix(L, length(idx))
  mx <- apply(L, 1, max); mx + log(rowSums(exp(L - mx)))
}
select <- function(P, Ks = 1:4, folds = 5, truth = NULL) {
  set.seed(99); f <- sample(rep_len(1:folds, P$N))
  res <- t(sapply(Ks, function(K) {
    full <- em(P, K)
    npar <- (K-1) + K * (P$m - FE) * P$q
    cv <- unlist(lapply(1:folds, function(j) { fit <- em(P, K, which(f != j)); heldout(P, fit, which(f == j)) }))
    ari <- if (!is.null(truth) && K > 1) adjusted_rand(max.col(full$R), truth) else NA
    c(K = K, ll = full$ll, bic = -2*full$ll + npar*log(P$N), cv = sum(cv), cv.se = sd(cv)*sqrt(P$N), ari = ari)
  }))
  res
}
run <- function(sub, seed, tag) {
  sim <- sim_sepsis_cohort(3000, subgroups = sub, seed = seed)
  D <- suppressMessages(sepsis_data(sim$data)); set.seed(seed + 1); ids <- sort(D$ids[sample.int(length(D$ids), 1000)]); d <- subset(D, ids = ids)
  P <- prep(d)
  tr <- sim$type[as.character(d$ids)]
  t0 <- proc.time()[3]
  r <- select(P, truth = tr)
  cat(tag, "secs", proc.time()[3]-t0, "\n"); print(round(cbind(r, dbic = r[,"bic"]-min(r[,"bic"]), dcv = r[,"cv"]-max(r[,"cv"])), 2))
}
args <- commandArgs(TRUE)
if (length(args) > 1) FE <- as.logical(args[2])
if (length(args) && args[1] == "run") {
run(c(fluid = 0.5, vaso = 0.5), 9001, "two groups 9001")
run(c(fluid = 0.5, vaso = 0.5), 9003, "two groups 9003")
run(c(fluid = 1), 9005, "one group (fluid)")
run(c(neutral = 1), 9006, "one group (neutral)")
run(c(fluid = 1/3, vaso = 1/3, neutral = 1/3), 9007, "three groups")
}
