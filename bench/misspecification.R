# How misspecified is the Q class? (issue 12, the drift of S4 with 16,000
# stays.) For each stress-suite generator (development seeds), at the
# behaviour policy (multinomial logistic fit on the basis) and pooled (u = 1):
# the generalised-method-of-moments over-identification residual of the
# Bellman equation,
#   e^2 = min_theta || b_G - M_G theta ||^2_{Sigma_G^-1},
# with the Q class of p4l()'s default basis (p = |A| d) and a richer test
# class G = [Q features, action x RBF with 64 centres] (q columns). Under a
# correctly specified Q class e^2 is about s2 (q - p) / n (s2: mean squared TD
# error at the minimiser), the statistical part; e.approx = sqrt(max(0, e^2 -
# s2 (q - p) / n)) estimates the Bellman error the basis cannot remove, on the
# scale of p4l()'s alpha (reward units), which is printed beside it
# (sd(R) sqrt(p r / n)). The LSTD value of a policy is biased by up to
# s x (projected Bellman error of the best approximation), where s is the
# fit's distribution-shift term, so pessimism alpha x s covers the bias only
# when alpha is at least that error.
#
#   R_LIBS=<library> Rscript bench/misspecification.R S5 S2 S3 S1 S4 [out.csv]
suppressMessages(library(p4l))
bench.dir <- if (sys.nframe() > 0L) "bench" else local({  # source()d from the top
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
})
source(file.path(bench.dir, "stress-data.R"))
rows <- list()
# One data set's row (data.frame); `rows` collects them when run as a script.
misspecification_residual <- function(d, gamma, label, basis = NULL, rank = 2, gcent = 64) {
  if (is.null(basis)) {                  # p4l()'s default basis
    basis <- p4l:::resolve_p4l_basis(NULL, d, 1, 2)
  }
  fe <- p4l:::data_features(d, basis, 2)
  psi <- fe$psi; psn <- fe$psi.next
  m <- length(d$action.levels); n <- nrow(psi); dd <- ncol(psi)
  mf <- p4l:::fit_multinom(psi, d$A, m, 1e-4, 100, 1e-8)
  Pn <- p4l:::softmax_rows(psn %*% mf$W)
  Pn[d$terminal, ] <- 0
  onehot <- function(X, A) {            # phi(s, a): X's row in action a's block
    out <- matrix(0, nrow(X), m * ncol(X))
    for (a in 1:m) out[A == a, (a - 1) * ncol(X) + seq_len(ncol(X))] <- X[A == a, ]
    out
  }
  Phi <- onehot(psi, d$A)
  Phibar <- do.call(cbind, lapply(1:m, function(a) Pn[, a] * psn))
  Dlt <- Phi - gamma * Phibar
  g <- rbf_basis(d, num.centers = min(gcent, n), seed = 2)
  gpsi <- p4l:::basis_features(g, d$S, 2)
  Psi <- cbind(Phi, onehot(gpsi[, -1, drop = FALSE], d$A))
  q <- ncol(Psi); p <- ncol(Phi)
  SG <- crossprod(Psi) / n + diag(1e-6, q)
  MG <- crossprod(Psi, Dlt) / n
  bG <- crossprod(Psi, d$R) / n
  Si <- solve(SG)
  th <- solve(t(MG) %*% Si %*% MG + diag(1e-8, p), t(MG) %*% Si %*% bG)
  res <- bG - MG %*% th
  e2 <- drop(t(res) %*% Si %*% res)
  # residual variance of the TD errors at th, and the statistical part
  td <- drop(d$R - Dlt %*% th)
  s2 <- mean(td^2)
  e2stat <- s2 * (q - p) / n
  alpha.now <- sd(d$R) * sqrt(p * rank / n)
  if (!is.finite(alpha.now) || alpha.now == 0) alpha.now <- sqrt(p * rank / n)  # p4l()'s rule
  r <- data.frame(data = label, n = n, p = p, q = q, e = sqrt(e2), e.stat = sqrt(e2stat),
                  e.approx = sqrt(max(0, e2 - e2stat)), alpha.default = alpha.now)
  r
}
mis <- function(...) {
  r <- misspecification_residual(...)
  print(r, row.names = FALSE, digits = 4)
  rows[[length(rows) + 1L]] <<- r
}
if (sys.nframe() == 0L) {  # run as a script, not source()d
  args <- commandArgs(TRUE)
  out.csv <- if (length(args) && grepl("\\.csv$", args[length(args)])) args[length(args)] else ""
  icu.states <- env_icu()$state.names
  if ("S4" %in% args) {
    for (st in c(300, 2000, 16000)) {
      sim <- sim_s4(st, 3, seed = 7001)
      mis(stress_s4_data(st, 3, sim = sim), 0.9, paste("S4", st, "x9"))
    }
    sim <- sim_s4(300, 5, seed = 7001)
    mis(stress_s4_data(300, 5, sim = sim), 0.9, "S4 300 x25")
  }
  if ("S5" %in% args) for (v in names(stress_linear2d_variants())) {
    sim <- sim_linear2d(num.per.group = 20, T = 100, groups = stress_linear2d_variants()[[v]],
                        seed = 1002)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    mis(d, 0.8, paste("S5", v), rank = 3)
  }
  if ("S1" %in% args) for (s in c("A", "B", "C")) for (g in c(0.9, 0.99)) {
    sim <- sim_cartpole(cartpole_settings(s), num.traj = 100, epsilon = 0.3, max.steps = 300,
                        seed = c(A = 1002, B = 2002, C = 3002)[[s]])
    d <- p4l_data(sim$data, "id", "time", "action", "reward",
                  c("x", "x_dot", "theta", "theta_dot"), terminal = "terminal")
    mis(d, g, paste("S1", s, g), rank = 3)
  }
  if ("S3" %in% args) {
    sim <- sim_icu(1000, seed = 302)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", icu.states, terminal = "terminal")
    mis(d, 0.99, "S3 302")
  }
  if ("S2" %in% args) {
    sim <- sim_s2(seed = 102)
    mis(p4l_data(sim$data, "id", "visit", "dose", "reward", "crp"), 0.9, "S2 102")
  }
  res <- do.call(rbind, rows)
  print(res, row.names = FALSE, digits = 4)
  if (nzchar(out.csv)) utils::write.csv(res, out.csv, row.names = FALSE)
}
