# Policies for individuals the fit has not seen (p4l issue 15, item 1).
#
# p4l() keeps with the fit an "assignment model" (p4l_assignment_model()):
# plain R data computed from the training data once, so that a new
# individual can be placed without the training data: per cluster, the
# one-step model of the transitions (ridge regression of reward and next
# state on (1, state) per action, pooled over the cluster's training
# individuals) with its residual variances; per cluster, the variance of the
# Bellman residuals of the fitted Q-function at the centroid; the pooled
# within-cluster spread of the latent variables; the cluster proportions; a
# multinomial logistic model of cluster on the baseline covariates (when the
# data have them); and the training initial states (for per-individual
# values).

#' Policies for new individuals
#'
#' Places individuals that were not in the training data of a [p4l()] fit:
#' from a few of their transitions (a history), or, without one, from their
#' baseline covariates or as an average member of the population. The result
#' is a policy object like the fit itself, whose individuals are the new ones,
#' so [predict.p4l_policy()], [evaluate_policy()] and [as.data.frame()] work
#' on it unchanged. `predict()` on a P4L fit calls this function for ids it
#' has not seen.
#'
#' **With a history** (the individual's transitions in `newdata`), the
#' posterior weight of cluster k is proportional to its prior weight times
#' the likelihood of the individual's transitions under cluster k:
#' \itemize{
#'   \item `likelihood = "model"` (default): the one-step model of cluster k,
#'     the ridge regression (per action) of the reward and the next state on
#'     (1, state) pooled over the training individuals of cluster k, with
#'     Gaussian errors of the cluster's residual variance per response (the
#'     same model as `p4l_control(init = "model")`, fitted per cluster).
#'   \item `likelihood = "bellman"`: the Bellman residuals
#'     \eqn{e_{tk} = R_t + \gamma \sum_a \pi_k(a \mid S'_t) Q_k(S'_t, a) - Q_k(S_t, A_t)}
#'     (no next term at a terminal transition) of the fitted worst-case
#'     Q-function \eqn{Q_k = \phi^\top W v_k} and softmax policy
#'     \eqn{\pi_k} at the centroid \eqn{v_k}, Gaussian with the residual
#'     variance of the cluster's training individuals.
#'   \item `likelihood = "both"`: the sum of the two log-likelihoods.
#' }
#' The prior is the cluster proportions of the training individuals or, when
#' the fit and `newdata` have baseline covariates, a ridge multinomial
#' logistic regression of the cluster on the (standardised) baseline
#' covariates, fitted on the training individuals (ridge penalty on the
#' slopes chosen from \eqn{10^{2}, \dots, 10^{-3}} by 5-fold cross-validated
#' log-loss). The individual's cluster is the most probable one. With
#' `refine = TRUE` its latent variable then solves
#' \deqn{\min_u \sum_t e_t(u)^2/\sigma_k^2 + \|\tilde u - \tilde v_k\|^2/s^2,\quad u_1 = 1,}
#' where \eqn{e_t(u)} is the Bellman residual at u (linear in u for a fixed
#' policy; the policy is updated and the problem re-solved `refine.steps`
#' times), \eqn{\sigma_k^2} the cluster's Bellman residual variance and
#' \eqn{s^2} the pooled within-cluster variance of the training latent
#' variables per free coordinate (the empirical prior of u around its
#' centroid). With `refine = FALSE` u is the centroid of its cluster.
#'
#' The defaults were chosen on the 2-D study (paper's subgroups and subgroup
#' c's reward reversed, seeds 101 to 103) and the ICU course (seed 101)
#' (`bench/new-individuals.R choose`; see `bench/README.md`): with 5, 10 and
#' 20 transitions the one-step-model likelihood put every held-out
#' individual of the 2-D studies in its subgroup's cluster, the Bellman
#' likelihood 44% to 100% (its residuals separate the clusters' Q-functions
#' weakly); `"both"` gave the same as `"model"`. Refinement raised the 2-D
#' values slightly (by about 1e-4) at every length and changed the ICU values
#' by less than 0.001. On the ICU course the fit itself does not separate the
#' hidden subgroups, so no likelihood can place them.
#'
#' **Without a history** (`newdata` has only ids, and possibly baseline
#' covariates), `new.individuals` chooses the rule: `"baseline"`, the
#' centroid of the most probable cluster given the baseline covariates (the
#' multinomial model above; needs baseline covariates in the fit and in
#' `newdata`); `"population"`, the policy at the mean latent variable of the
#' training individuals (the population policy); `"auto"` (default),
#' `"baseline"` when both the fit and `newdata` have baseline covariates and
#' `"population"` otherwise.
#'
#' @param fit A fit from [p4l()] (or a previous result of this function).
#' @param newdata The new individuals: a [p4l_data()] object (their
#'   transitions, with the fit's state and action coding), a long data frame
#'   with the fit's columns (id, time, action, reward, states; baseline
#'   columns optional; made into a `p4l_data` with the fit's column roles,
#'   and with absorbing trajectory ends when the training data had them), or
#'   a data frame with the id column and optionally the baseline columns only
#'   (no history).
#' @param new.individuals Rule for individuals without a history: `"auto"`,
#'   `"baseline"` or `"population"` (see Details).
#' @param likelihood `"model"`, `"bellman"` or `"both"` (see Details).
#' @param refine Refine the latent variable from the centroid by the ridge
#'   problem in Details.
#' @param refine.steps Policy updates of the refinement.
#' @param data The training data of `fit`, needed only for fits made before
#'   the assignment model was kept with the fit.
#' @param num.threads Number of threads (see [p4l-package]).
#' @return An object of class `c("p4l_assigned", "p4l_fit", "p4l_policy")`:
#'   the fit with its individual parts replaced by the new individuals' (ids
#'   in the order of `newdata`'s ids): `ids`, `U` (rows named by id),
#'   `cluster`, `cluster.weights` (n x K posterior or prior weights),
#'   `policy.coef`, `q.coef`, `baseline`, and `assignment`, a data frame
#'   with one row per new individual: `id`, `rule` (`"history"`,
#'   `"baseline"` or `"population"`), `transitions` used, `cluster`,
#'   `weight` (the weight of that cluster) and `log.lik` (the log-likelihood
#'   of the history under that cluster; NA without one).
#' @seealso [predict.p4l_policy()], [as.data.frame.p4l_fit()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 4, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' train <- subset(d, ids = setdiff(d$ids, c(1, 5, 9)))
#' fit <- p4l(train, K = 3, seed = 1)
#' # three held-out individuals, their first 10 transitions
#' new <- p4l_assign(fit, subset(d, ids = c(1, 5, 9), max.transitions = 10))
#' new$assignment
#' predict(new, data.frame(id = c(1, 5, 9), s1 = 0.5, s2 = -0.5))
#' # without a history: the population policy
#' p4l_assign(fit, data.frame(id = "x"))$assignment
#' @export
p4l_assign <- function(fit, newdata, new.individuals = c("auto", "baseline", "population"),
                       likelihood = c("model", "bellman", "both"), refine = TRUE,
                       refine.steps = 5, data = NULL, num.threads = NULL) {
  if (!inherits(fit, "p4l_fit")) {
    stop_arg("`fit` must be a P4L fit (from p4l()); got an object of class '", class(fit)[1],
             "'. Only P4L fits can place new individuals.")
  }
  new.individuals <- check_choice(new.individuals, c("auto", "baseline", "population"),
                                  "new.individuals")
  likelihood <- check_choice(likelihood, c("model", "bellman", "both"), "likelihood")
  check_flag(refine, "refine")
  refine.steps <- check_count(refine.steps, "refine.steps")
  num.threads <- resolve_threads(num.threads)
  am <- fit$assignment.model
  if (is.null(am)) {
    if (is.null(data)) {
      stop_arg("`fit` has no assignment model (it was made before p4l_assign() existed): ",
               "give its training data as `data`.")
    }
    check_p4l_data_arg(data)
    am <- p4l_assignment_model(fit, data, num.threads)
  }
  nd <- assign_newdata(fit, newdata)
  ids <- nd$ids
  n.new <- length(ids)
  K <- fit$K
  r <- fit$rank
  cen <- fit$centroids
  U <- matrix(0, n.new, r, dimnames = list(as.character(ids), colnames(fit$U)))
  Wt <- matrix(0, n.new, K, dimnames = list(as.character(ids), rownames(cen)))
  cl <- integer(n.new)
  rule <- character(n.new)
  ntr <- integer(n.new)
  ll <- rep(NA_real_, n.new)
  # Prior: baseline model where the fit and the individual have covariates.
  prior <- matrix(am$proportions, n.new, K, byrow = TRUE)
  has.base <- !is.null(am$baseline.model) && !is.null(nd$baseline)
  if (has.base) prior <- baseline_cluster_probs(am$baseline.model, nd$baseline)
  hist <- nd$history
  with.hist <- if (is.null(hist)) rep(FALSE, n.new) else ids %in% hist$ids
  if (any(!with.hist)) {
    rule.nh <- assign_rule_no_history(new.individuals, has.base, am, fit)
    nh <- which(!with.hist)
    pl <- assign_no_history(rule.nh, prior[nh, , drop = FALSE], fit, am)
    U[nh, ] <- pl$U
    Wt[nh, ] <- pl$W
    cl[nh] <- pl$cluster
    rule[nh] <- rule.nh
  }
  if (any(with.hist)) {
    hh <- which(with.hist)
    pieces <- assign_pieces(fit, hist, num.threads)
    hind <- match(as.character(ids[hh]), as.character(hist$ids))
    for (j in seq_along(hh)) {
      i <- hh[j]
      rows <- which(hist$individual == hind[j])
      lik <- assign_loglik(fit, am, pieces, hist, rows, likelihood)
      lp <- log(pmax(prior[i, ], 1e-300)) + lik
      w <- exp(lp - max(lp))
      w <- w / sum(w)
      k <- which.max(w)
      u <- cen[k, ]
      if (refine && r > 1L) {
        u <- refine_latent(fit, am, pieces, hist, rows, cen[k, ], am$bellman.var[k],
                           am$latent.var, refine.steps)
      }
      U[i, ] <- u
      Wt[i, ] <- w
      cl[i] <- k
      ll[i] <- lik[k]
      ntr[i] <- length(rows)
      rule[i] <- "history"
    }
  }
  out <- assigned_fit(fit, ids, U, Wt, cl, ntr, rule, ll, nd$baseline, am)
  out$assign.settings <- list(new.individuals = new.individuals, likelihood = likelihood,
                              refine = refine, refine.steps = refine.steps)
  out
}

# How individuals without a history are placed: the rule asked for ("auto":
# the baseline model when the fit and newdata have baseline covariates, else
# the population), checked against what the fit and newdata hold.
assign_rule_no_history <- function(new.individuals, has.base, am, fit) {
  rule.nh <- new.individuals
  if (rule.nh == "auto") rule.nh <- if (has.base) "baseline" else "population"
  if (rule.nh == "baseline" && is.null(am$baseline.model)) {
    stop_arg("`new.individuals = \"baseline\"` needs a fit with baseline covariates ",
             "(p4l_data(baseline = )); this fit has none. Use \"population\".")
  }
  if (rule.nh == "baseline" && !has.base) {
    stop_arg("`new.individuals = \"baseline\"` needs the baseline column(s) ",
             paste0("'", fit$data.columns$baseline, "'", collapse = ", "),
             " in `newdata`.")
  }
  rule.nh
}

# The placement of individuals without a history, given their prior cluster
# probabilities (one row each): by the baseline model, the most probable
# centroid; by the population, the mean latent variable and the cluster
# proportions. Returns list(U, W, cluster).
assign_no_history <- function(rule.nh, prior, fit, am) {
  cen <- fit$centroids
  n <- nrow(prior)
  if (rule.nh == "baseline") {
    k <- max.col(prior, ties.method = "first")
    return(list(U = cen[k, , drop = FALSE], W = prior, cluster = k))
  }
  ubar <- if (is.null(am$mean.latent)) colMeans(fit$U) else am$mean.latent
  list(U = matrix(ubar, n, fit$rank, byrow = TRUE),
       W = matrix(am$proportions, n, fit$K, byrow = TRUE),
       cluster = which.min(colSums((t(cen) - ubar)^2)))
}

# The p4l_assigned object: the fit with the new individuals' latent
# variables U, cluster weights Wt, clusters cl and policies in place of the
# training individuals', and the assignment table (rule, transitions ntr,
# log-likelihood ll).
assigned_fit <- function(fit, ids, U, Wt, cl, ntr, rule, ll, baseline, am) {
  n.new <- length(ids)
  d <- nrow(fit$policy.coef[[1]])
  m <- length(fit$action.levels)
  fn <- rownames(fit$policy.coef[[1]])
  act <- as.character(fit$action.levels)
  out <- fit
  out$ids <- ids
  out$slot <- stats::setNames(seq_len(n.new), as.character(ids))
  out$U <- U
  out$cluster <- stats::setNames(cl, as.character(ids))
  out$cluster.weights <- Wt
  out$policy.coef <- lapply(seq_len(n.new), function(i) p4l_policy_coef(fit$Theta, U[i, ], d, m,
                                                                        fn, act))
  out$q.coef <- lapply(seq_len(n.new), function(i) p4l_q_coef(fit$W, U[i, ], d, m, fn, act))
  out$baseline <- baseline
  out$num.transitions <- sum(ntr)
  out$assignment.model <- am
  out$assignment <- data.frame(id = ids, rule = rule, transitions = ntr, cluster = cl,
                               weight = Wt[cbind(seq_len(n.new), cl)], log.lik = ll,
                               stringsAsFactors = FALSE)
  class(out) <- c("p4l_assigned", "p4l_fit", "p4l_policy")
  out
}

#' @export
print.p4l_assigned <- function(x, ...) {
  a <- x$assignment
  cat("<p4l_assigned> P4L policies for ", nrow(a), " new individual(s) of a fit with ", x$K,
      " cluster", if (x$K == 1) "" else "s", " (rank ", x$rank, ")\n", sep = "")
  tab <- table(factor(a$rule, levels = c("history", "baseline", "population")))
  cat("  placed by: ", paste(names(tab), as.integer(tab), sep = " ", collapse = ", "),
      " (likelihood \"", x$assign.settings$likelihood, "\", refine = ",
      x$assign.settings$refine, ")\n", sep = "")
  cat("  assigned clusters: ", paste(tabulate(x$cluster, x$K), collapse = ", "), "\n", sep = "")
  invisible(x)
}

# ---------------------------------------------------------------------------
# The assignment model, computed once from the training data (p4l()).

p4l_assignment_model <- function(fit, data, num.threads = 1L, feat = NULL) {
  K <- fit$K
  cl <- as.integer(fit$cluster)
  N <- length(data$ids)
  props <- tabulate(cl, K) / N
  # One-step models per cluster on standardised states.
  mo <- column_moments(data$S, num.threads)
  ctr <- mo$mean
  scl <- mo$sd
  scl[!is.finite(scl) | scl == 0] <- 1
  # Floor of the residual variances: 1% of each response's variance (a
  # response the state and action determine, such as a treatment flag, would
  # otherwise make any deviation decisive).
  nt <- !data$terminal
  floor <- 0.01 * c(stats::var(data$R), if (sum(nt) > 1L) {
    vapply(seq_len(ncol(data$S_next)), function(j) stats::var(data$S_next[nt, j]), numeric(1)) / scl^2
  } else rep(1, ncol(data$S_next)))
  floor[!is.finite(floor) | floor <= 0] <- 1e-6
  models <- onestep_models(data, cl - 1L, K, ctr, scl, floor, num.threads)
  pooled <- onestep_models(data, rep(0L, N), 1L, ctr, scl, floor, num.threads)[[1L]]
  clrow <- cl[data$individual]
  # Bellman residual variance per cluster at its centroid.
  pieces <- assign_pieces(fit, data, num.threads, feat)
  sq <- lapply(seq_len(K), function(k) {
    rows <- which(clrow == k)
    if (length(rows)) bellman_residuals(fit, pieces, rows, fit$centroids[k, ], num.threads)^2
  })
  bvar <- vapply(sq, function(e2) if (length(e2)) mean(e2) else NA_real_, numeric(1))
  all.var <- mean(unlist(sq))
  bvar[!is.finite(bvar) | bvar <= 0] <- max(all.var, 1e-12)
  # Pooled within-cluster variance of the free latent coordinates.
  lvar <- if (fit$rank > 1L) {
    dev <- fit$U[, -1L, drop = FALSE] - fit$centroids[cl, -1L, drop = FALSE]
    sum(dev^2) / (N * (fit$rank - 1L))
  } else 0
  bm <- if (!is.null(data$baseline) && K > 1L) baseline_cluster_model(data$baseline, cl, K) else
    NULL
  list(proportions = props, mean.latent = colMeans(fit$U), state.center = ctr, state.scale = scl, models = models,
       pooled = pooled, bellman.var = bvar, latent.var = lvar, baseline.model = bm,
       S0 = data$S0)
}

# Per group g of individuals (group: 0-based, one per individual; G groups)
# and action a, ridge regressions of R and of the standardised next state
# (non-terminal rows) on (1, standardised S) with penalty `lambda` on the
# slopes, and residual variances floored at `floor`; NULL where a group has
# fewer than two rows of an action. The sums: onestep_models_cpp()
# (src/core/onestep.h).
onestep_models <- function(data, group, G, ctr, scl, floor, num.threads, lambda = 1) {
  m <- length(data$action.levels)
  q <- ncol(data$S)
  om <- onestep_models_cpp(transition_inputs(data, data$S, data$S_next), as.numeric(ctr),
                           as.numeric(scl), lambda, as.integer(group), as.integer(G), num.threads)
  lapply(seq_len(G), function(g) lapply(seq_len(m), function(a) {
    cell <- (g - 1L) * m + a
    if (om$n.all[cell] < 2) return(NULL)
    rw <- list(B = om$B.reward[, cell, drop = FALSE], var = pmax(om$var.reward[cell], floor[1]))
    nx <- if (om$n.next[cell] >= 2) {
      list(B = om$B.next[, (cell - 1L) * q + seq_len(q), drop = FALSE],
           var = pmax(om$var.next[, cell], floor[-1L]))
    }
    list(reward = rw, next.state = nx)
  }))
}

onestep_loglik <- function(model, pooled, am, hist, rows, amap) {
  X <- cbind(1, center_scale(hist$S[rows, , drop = FALSE], am$state.center, am$state.scale))
  Sn <- center_scale(hist$S_next[rows, , drop = FALSE], am$state.center, am$state.scale)
  a <- amap[hist$A[rows]]
  ll <- 0
  gauss <- function(y, mu, v) sum(-0.5 * (sweep((y - mu)^2, 2, v, "/")) - 0.5 * log(2 * pi * v))
  for (aa in unique(a)) {
    t <- which(a == aa)
    md <- model[[aa]]
    if (is.null(md)) md <- pooled[[aa]]
    if (is.null(md)) next
    Xa <- X[t, , drop = FALSE]
    ll <- ll + gauss(matrix(hist$R[rows][t], ncol = 1L), Xa %*% md$reward$B, md$reward$var)
    nt <- t[!hist$terminal[rows][t]]
    nx <- if (is.null(md$next.state)) pooled[[aa]]$next.state else md$next.state
    if (length(nt) && !is.null(nx)) {
      ll <- ll + gauss(Sn[nt, , drop = FALSE], X[nt, , drop = FALSE] %*% nx$B, nx$var)
    }
  }
  ll
}

# Bellman pieces of transitions: features, action indices in the fit's coding.
# feat: the features of hist$S and hist$S_next on fit$basis when the caller
# has them (p4l() passes its own).
assign_pieces <- function(fit, hist, num.threads, feat = NULL) {
  amap <- match(as.character(hist$action.levels), as.character(fit$action.levels))
  psi <- if (is.null(feat)) basis_features(fit$basis, hist$S, num.threads) else feat$psi
  psin <- if (is.null(feat)) basis_features(fit$basis, hist$S_next, num.threads) else
    feat$psi.next
  # The transitions in the fit's action coding, as the C++ core reads them
  # (transition_inputs(); one group: the residuals are per row).
  list(amap = amap,
       transitions = list(psi = as_double(psi), psi_next = as_double(psin),
                          action = as.integer(amap[hist$A] - 1L), reward = as.numeric(hist$R),
                          terminal = as.integer(hist$terminal), start = c(0L, length(hist$R)),
                          num_actions = length(fit$action.levels)))
}

# Rows of X (n x r) and R for the Bellman residual e = R - X u at the softmax
# policy of latent `u.pol`: X_t = psi_t' W_{A_t} - gamma sum_a pi(a|S'_t) psi'_t W_a.
bellman_design <- function(fit, pieces, rows, u.pol) {
  W <- fit$W
  Th <- fit$Theta
  tr <- pieces$transitions
  d <- ncol(tr$psi)
  m <- length(fit$action.levels)
  psi <- tr$psi[rows, , drop = FALSE]
  psin <- tr$psi_next[rows, , drop = FALSE]
  A <- tr$action[rows] + 1L
  logits <- cbind(0, psin %*% matrix(Th %*% u.pol, d, m - 1L))
  pi <- softmax_rows(logits)
  X <- matrix(0, length(rows), ncol(W))
  G <- matrix(0, length(rows), ncol(W))
  for (a in seq_len(m)) {
    Wa <- W[(a - 1L) * d + seq_len(d), , drop = FALSE]
    t <- which(A == a)
    if (length(t)) X[t, ] <- psi[t, , drop = FALSE] %*% Wa
    G <- G + pi[, a] * (psin %*% Wa)
  }
  list(X = X, G = G)
}

# e = R + gamma G u - X u of bellman_design() at u.pol = u, in C++ (the
# assignment model scores every training transition; a test checks the C++
# against the formula written out in R).
bellman_residuals <- function(fit, pieces, rows, u, num.threads = 1L) {
  bellman_residuals_cpp(pieces$transitions, fit$W, fit$Theta, as.numeric(u), as.numeric(u),
                        fit$gamma, as.integer(rows), num.threads)
}

assign_loglik <- function(fit, am, pieces, hist, rows, likelihood) {
  K <- fit$K
  ll <- numeric(K)
  if (likelihood %in% c("model", "both")) {
    ll <- ll + vapply(seq_len(K), function(k)
      onestep_loglik(am$models[[k]], am$pooled, am, hist, rows, pieces$amap), numeric(1))
  }
  if (likelihood %in% c("bellman", "both")) {
    ll <- ll + vapply(seq_len(K), function(k) {
      e <- bellman_residuals(fit, pieces, rows, fit$centroids[k, ])
      v <- am$bellman.var[k]
      sum(-0.5 * e^2 / v - 0.5 * log(2 * pi * v))
    }, numeric(1))
  }
  ll
}

# The ridge refinement of u around centroid v (see p4l_assign(), Details):
# min over the free coordinates of sum_t e_t(u)^2 / sigma2 + ||u~ - v~||^2 / s2,
# with the policy held at the previous u, `steps` times.
refine_latent <- function(fit, am, pieces, hist, rows, v, sigma2, s2, steps) {
  if (!(s2 > 0)) return(v)
  u <- v
  term <- pieces$transitions$terminal[rows] == 1L
  for (it in seq_len(steps)) {
    bd <- bellman_design(fit, pieces, rows, u)
    G <- bd$G
    G[term, ] <- 0
    Xf <- bd$X - fit$gamma * G         # e = R - Xf u
    y <- pieces$transitions$reward[rows] - Xf[, 1]  # u_1 = 1 fixed
    Z <- Xf[, -1L, drop = FALSE]
    A <- crossprod(Z) / sigma2 + diag(1 / s2, ncol(Z))
    b <- crossprod(Z, y) / sigma2 + v[-1L] / s2
    u.new <- c(1, as.numeric(solve(A, b)))
    names(u.new) <- names(v)
    done <- max(abs(u.new - u)) < 1e-10
    u <- u.new
    if (done) break
  }
  u
}

# ---------------------------------------------------------------------------
# Baseline covariates -> cluster: ridge multinomial logistic regression.

# The penalty is chosen from 10^(2:-3) by 5-fold cross-validated log-loss
# (folds by position, i %% 5: deterministic).
baseline_cluster_model <- function(B, cl, K, lambda = NULL) {
  if (is.null(lambda)) {
    grid <- 10^(2:-3)
    N <- length(cl)
    folds <- (seq_len(N) - 1L) %% 5L
    loss <- vapply(grid, function(lam) {
      sum(vapply(0:4, function(f) {
        tr <- folds != f
        if (all(tr) || !any(tr)) return(0)
        md <- baseline_cluster_model(B[tr, , drop = FALSE], cl[tr], K, lam)
        if (is.null(md)) return(Inf)
        P <- baseline_cluster_probs(md, B[!tr, , drop = FALSE])
        -sum(log(pmax(P[cbind(seq_len(nrow(P)), cl[!tr])], 1e-12)))
      }, numeric(1)))
    }, numeric(1))
    lambda <- grid[which.min(loss)]
  }
  B <- as.matrix(B)
  keep <- apply(B, 2, function(v) stats::sd(v) > 0)
  if (!any(keep)) return(NULL)
  ctr <- colMeans(B[, keep, drop = FALSE])
  scl <- apply(B[, keep, drop = FALSE], 2, stats::sd)
  X <- cbind(1, sweep(sweep(B[, keep, drop = FALSE], 2, ctr), 2, scl, "/"))
  # Penalty lambda on the non-intercept coefficients (ridge lambda / N per
  # observation in fit_multinom()'s scale).
  fit <- fit_multinom(X, cl, K, lambda / nrow(X), max.iter = 200L, tol = 1e-10)
  list(keep = which(keep), names = colnames(B), center = ctr, scale = scl,
       coef = fit$W, lambda = lambda)
}

baseline_cluster_probs <- function(model, B) {
  B <- as.matrix(B)
  X <- cbind(1, sweep(sweep(B[, model$keep, drop = FALSE], 2, model$center), 2, model$scale, "/"))
  softmax_rows(X %*% model$coef)
}

# ---------------------------------------------------------------------------
# newdata of p4l_assign(): ids, history (a p4l_data in the fit's coding, or
# NULL) and baseline covariates (n x q in the fit's coding, or NULL).

assign_newdata <- function(fit, newdata) {
  cols <- fit$data.columns
  if (inherits(newdata, "p4l_data")) {
    hist <- newdata
  } else if (is.data.frame(newdata)) {
    idc <- fit$id.column
    if (!(idc %in% names(newdata))) {
      stop_arg("`newdata` lacks the id column '", idc, "'.")
    }
    if (anyNA(newdata[[idc]])) {
      stop_arg("The id column '", idc, "' of `newdata` is missing at row ",
               which(is.na(newdata[[idc]]))[1], ".")
    }
    has.hist <- !is.null(cols) && all(c(cols$time, cols$action, cols$reward) %in% names(newdata))
    if (has.hist) {
      hist <- history_from_frame(fit, newdata)
    } else {
      ids <- unique(newdata[[idc]])
      base <- NULL
      bcols <- if (is.null(cols)) character(0) else cols$baseline
      if (length(bcols) && all(bcols %in% names(newdata))) {
        first <- newdata[match(ids, newdata[[idc]]), , drop = FALSE]
        base <- encode_columns(first, fit$coding$baseline, arg = "newdata")
        rownames(base) <- as.character(ids)
      }
      return(list(ids = ids, history = NULL, baseline = base))
    }
  } else {
    stop_arg("`newdata` must be a p4l_data object or a data frame.")
  }
  if (!identical(hist$state.names, fit$state.names)) {
    stop_arg("`newdata` must have the fit's state columns (",
             paste(fit$state.names, collapse = ", "), "); it has ",
             paste(hist$state.names, collapse = ", "), ".")
  }
  amap <- match(as.character(hist$action.levels), as.character(fit$action.levels))
  if (anyNA(amap)) {
    stop_arg("`newdata` has action(s) ", paste(hist$action.levels[is.na(amap)], collapse = ", "),
             " that the fit does not have (actions: ",
             paste(fit$action.levels, collapse = ", "), ").")
  }
  base <- NULL
  if (!is.null(hist$baseline) && !is.null(fit$baseline) &&
      identical(colnames(hist$baseline), colnames(fit$baseline))) {
    base <- hist$baseline
    rownames(base) <- as.character(hist$ids)
  }
  list(ids = hist$ids, history = hist, baseline = base)
}

# A long data frame with the fit's columns made into a p4l_data in the fit's coding.
history_from_frame <- function(fit, newdata) {
  cols <- fit$data.columns
  st <- cols$state
  miss <- setdiff(st, names(newdata))
  if (length(miss)) {
    stop_arg("`newdata` lacks the state column(s) ", paste0("'", miss, "'", collapse = ", "), ".")
  }
  nd <- newdata
  # Code the states with the fit's coding, so that factor levels match.
  if (!anyNA(nd[st])) {
    S <- encode_columns(nd, fit$coding$state, arg = "newdata")
    nd <- nd[setdiff(names(nd), st)]
    for (j in colnames(S)) nd[[j]] <- S[, j]
    st <- colnames(S)
  }
  base <- cols$baseline
  if (length(base) && !all(base %in% names(nd))) base <- character(0)
  hist <- p4l_data(nd, cols$id, cols$time, cols$action, cols$reward, st,
                   terminal = isTRUE(cols$is.terminal), baseline = if (length(base)) base,
                   na.action = if (is.null(cols$na.action)) "fail" else cols$na.action,
                   last = if (is.null(cols$last)) "drop" else cols$last)
  if (length(base)) {
    first <- newdata[match(hist$ids, newdata[[cols$id]]), , drop = FALSE]
    hist$baseline <- encode_columns(first, fit$coding$baseline, arg = "newdata")
  }
  hist
}

#' One row per individual of a P4L fit
#'
#' @param x A `p4l_fit` from [p4l()], or new individuals' policies from
#'   [p4l_assign()].
#' @param row.names,optional Unused (for the generic).
#' @param ... Unused.
#' @return A data frame with one row per individual: `id`, `cluster`,
#'   `weight` (the weight of that cluster: 1 for training individuals, the
#'   posterior or prior weight for new ones), the latent coordinates `u1`,
#'   ..., `ur`, and `value`: the individual's value of the learned softmax
#'   policy under the fit's worst-case Q-function,
#'   \eqn{(1-\gamma)\,\mathrm{mean}_{s_0} \sum_a \pi(a \mid s_0; u_i) Q(s_0, a; u_i)},
#'   averaged over all training individuals' initial states (the scale of
#'   `fit$value`, per step; divide by \eqn{1-\gamma} for the scale of
#'   [evaluate_policy()]). The mean of `value` over the training individuals
#'   is the fit's pessimistic value `fit$value` when the fit used every
#'   initial state (at most `control$max.initial` individuals). For new
#'   individuals it is the same formula, an extrapolation. For new
#'   individuals the data frame also has the columns `rule` and
#'   `transitions` of `x$assignment`. Fits without the training initial
#'   states (made before this version) have no `value` column.
#' @examples
#' sim <- sim_linear2d(num.per.group = 4, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- p4l(d, K = 3, seed = 1)
#' head(as.data.frame(fit))
#' @export
as.data.frame.p4l_fit <- function(x, row.names = NULL, optional = FALSE, ...) {
  ids <- x$ids
  n <- length(ids)
  cl <- as.integer(x$cluster)
  wt <- if (is.null(x$cluster.weights)) rep(1, n) else x$cluster.weights[cbind(seq_len(n), cl)]
  out <- data.frame(id = ids, cluster = cl, weight = wt, stringsAsFactors = FALSE)
  if (!is.null(x$assignment)) {
    out$rule <- x$assignment$rule
    out$transitions <- x$assignment$transitions
  }
  U <- x$U
  for (j in seq_len(ncol(U))) out[[paste0("u", j)]] <- unname(U[, j])
  S0 <- x$assignment.model$S0
  if (!is.null(S0)) out$value <- p4l_individual_values(x, U, S0)
  rownames(out) <- NULL
  out
}

# (1 - gamma) mean over the rows of S0 of sum_a pi(a|s0; u) Q(s0, a; u), one
# value per row of U (softmax policy, worst-case Q).
p4l_individual_values <- function(fit, U, S0, num.threads = 1L) {
  psi0 <- basis_features(fit$basis, S0, num.threads)
  d <- ncol(psi0)
  m <- length(fit$action.levels)
  vapply(seq_len(nrow(U)), function(i) {
    u <- U[i, ]
    logits <- cbind(0, psi0 %*% matrix(fit$Theta %*% u, d, m - 1L))
    q <- psi0 %*% matrix(fit$W %*% u, d, m)
    (1 - fit$gamma) * mean(rowSums(softmax_rows(logits) * q))
  }, numeric(1))
}

#' @rdname p4l_assign
#' @param object,x A result of `p4l_assign()` (for `summary()`), or its summary
#'   (for `print()`).
#' @param ... Unused.
#' @export
summary.p4l_assigned <- function(object, ...) {
  a <- object$assignment
  out <- list(assignment = a, K = object$K,
              cluster.counts = stats::setNames(tabulate(object$cluster, object$K),
                                               paste0("cluster", seq_len(object$K))),
              mean.weights = colMeans(object$cluster.weights),
              settings = object$assign.settings,
              training = list(num.individuals = nrow(object$assignment.model$S0),
                              proportions = object$assignment.model$proportions))
  class(out) <- "summary.p4l_assigned"
  out
}

#' @rdname p4l_assign
#' @export
print.summary.p4l_assigned <- function(x, ...) {
  cat("New individuals placed by p4l_assign(): ", nrow(x$assignment), " (fit: ",
      x$training$num.individuals, " training individuals, K = ", x$K, ")\n", sep = "")
  cat("  likelihood \"", x$settings$likelihood, "\", refine = ", x$settings$refine,
      ", rule without a history: \"", x$settings$new.individuals, "\"\n", sep = "")
  cat("  assigned clusters: ", paste(x$cluster.counts, collapse = ", "),
      "; training proportions: ", paste(format(x$training$proportions, digits = 2),
                                        collapse = ", "), "\n", sep = "")
  print(x$assignment, row.names = FALSE)
  invisible(x)
}
