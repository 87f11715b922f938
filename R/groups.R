#' Choose the number of subgroups from the individuals' transitions
#'
#' Two methods. `"kde"` is the heuristic of Section 5 of the paper ("K =
#' Auto"): estimate each individual's transition density \eqn{P_i(s', r \mid
#' s, a)}{P_i(s', r | s, a)} by kernel density estimation, measure how
#' different the individuals' densities are, cluster the individuals, and
#' choose the number of clusters. It needs trajectories long enough for a
#' density per individual. `"mixture"` is for short trajectories (a dozen
#' transitions, as in ICU stays): a finite mixture model of how each
#' action shifts the next state and the reward, fitted by EM, with K chosen
#' by the held-out likelihood of individuals. `"auto"` (default) takes
#' `"mixture"` when the median individual has fewer than \eqn{2 (1 + q)}
#' transitions per action (\eqn{q} states), the rule by which [p4l()]'s
#' start switches to per-individual intercepts (`p4l_control(init.model =
#' "auto")`), and the responses are continuous (the reward and the next
#' states have, in the median column, at least 10 distinct values), and
#' `"kde"` otherwise. The mixture's Gaussian mean shifts describe ordinal
#' scores and flags poorly: on [sim_icu()] courses (scores 0 to 4) it
#' split the patients by where their scores sit, not by how they respond.
#'
#' @section Method "kde":
#' **Densities.** Transitions are described by the state \eqn{s} and action
#' \eqn{a} they start from and by the response \eqn{y = (s' - s, r)} (the
#' state increment and the reward; the conditional density of \eqn{s'} and of
#' \eqn{s' - s} given \eqn{s} carry the same information, and increments are
#' on a common scale across the state space). Both are standardized by their
#' pooled standard deviations (constant columns, such as CartPole's reward,
#' are dropped). Individual \eqn{j}'s conditional density is the
#' Nadaraya-Watson type kernel estimate
#' \deqn{\hat p_j(y \mid s, a) = \frac{\sum_{t \in j} w_t(s, a) k_t(y) +
#'   \lambda \hat p_0(y \mid s, a)}{\sum_{t \in j} w_t(s, a) + \lambda},}{p.hat_j(y | s, a) = (sum_(t in j) w_t(s, a) k_t(y) + lambda p.hat_0(y | s, a))/(sum_(t in j) w_t(s, a) + lambda) ,}
#' with Gaussian kernels \eqn{w_t(s, a) = 1\{a_t = a\} \exp(-|s - s_t|^2 / 2
#' h_x^2)}{w_t(s, a) = 1{a_t = a} exp(-|s - s_t|^2 / 2 h_x^2)} and \eqn{k_t(y) \propto \exp(-|y - y_t|^2 / 2 h_y^2)}{k_t(y) proportional to exp(-|y - y_t|^2 / 2 h_y^2)}, shrunk
#' towards the pooled estimate \eqn{\hat p_0}{p.hat_0} (the same formula over all
#' individuals) with weight \eqn{\lambda}{lambda} = `shrinkage`: where individual
#' \eqn{j} has few nearby transitions, its estimate is the population's. The
#' bandwidths are `bandwidth` times Scott's rule for the typical individual,
#' \eqn{h = m^{-1/(d + 4)}} on the standardized scales, where \eqn{m} is the
#' median number of transitions per individual and \eqn{d} the number of
#' state and response dimensions. The default, half of Scott's rule, smooths
#' less than density estimation would: telling densities apart needs less
#' bias and tolerates more variance, which averages out over transitions.
#'
#' **Distances.** With \eqn{L_{ij}} the mean of \eqn{\log \hat p_j(y_t \mid
#' s_t, a_t)}{log p.hat_j(y_t | s_t, a_t)} over (up to `max.points` of) individual \eqn{i}'s transitions,
#' leaving transition \eqn{t} and its neighbours within `window` time steps
#' out of \eqn{\hat p_i}{p.hat_i} (consecutive states of a trajectory are nearly
#' equal, so without this an individual would fit itself far better than any
#' other individual could, even in a homogeneous population), the distance
#' \deqn{D_{ij} = \{(L_{ii} - L_{ij}) + (L_{jj} - L_{ji})\} / 2}{D_ij = {(L_ii - L_ij) + (L_jj - L_ji)} / 2}
#' estimates the symmetrised Kullback-Leibler divergence between the
#' transition densities of \eqn{i} and \eqn{j}, each averaged where that
#' individual's data lie (negative estimates are set to 0). It is computed
#' in C++, in parallel over individuals.
#'
#' **Clusters and K.** The individuals are clustered hierarchically on
#' \eqn{D} (`linkage`, Ward's by default), the tree is cut into \eqn{K = 2,
#' \dots,}{K = 2, ...,} `max.K` clusters, and \eqn{K} is the number with the largest
#' average silhouette width (Rousseeuw, 1987) computed from \eqn{D}. When no
#' \eqn{K} reaches an average silhouette of `min.silhouette` (0.5, the lower
#' end of "reasonable structure" in Kaufman and Rousseeuw's scale) the data
#' are taken as homogeneous, \eqn{K = 1}. In our simulations (the paper's 2-D
#' environment with 10 to 20 individuals per subgroup and 50 to 100 steps;
#' CartPole mixtures of 2 or 3 environments with 100 trajectories each) the
#' chosen K was the true number of subgroups, with silhouettes above 0.75;
#' homogeneous populations gave silhouettes of 0.2 to 0.55, so a few of them
#' are split in two.
#'
#' The result is deterministic: no random numbers are used, and the number
#' of threads does not change it. The cost is about (number of evaluation
#' points) x (number of transitions) kernel evaluations.
#'
#' @section Method "mixture":
#' **Model.** For each action, the responses \eqn{y = (r, s')} of the
#' transitions with a next state are regressed on \eqn{(1, s)} (states
#' standardized) by pooled least squares, and the residuals \eqn{e_t} are
#' whitened by their pooled within-individual covariance (directions of no
#' within-individual variation are dropped, such as a reward that is minus
#' a next state). Subgroup \eqn{k} shifts the residual of action \eqn{a}
#' by a mean \eqn{\mu_{ka}}{mu_ka}, and every individual has its own level
#' \eqn{b_i}:
#' \deqn{e_t = b_i + \mu_{k, a_t} + \varepsilon_t, \quad \varepsilon_t \sim N(0,
#'   I),}{e_t = b_i + mu_(k, a_t) + eps_t, eps_t ~ N(0, I),}
#' with individual \eqn{i} in subgroup \eqn{k} with probability
#' \eqn{\pi_k}{pi_k}. The level is profiled out (it is estimated for each
#' individual and component), so subgroups differ in how the actions
#' compare within an individual, the treatment contrasts that change the
#' best policy, and not in how severe or how stable an individual is
#' overall: a population with one treatment response but individuals of
#' different severity is one group. An individual whose transitions with a
#' next state all share one action says nothing about the contrasts; its
#' subgroup is the most likely a priori (its id is in `uninformative`). The
#' means are estimated with `ridge` pseudo-transitions per action toward
#' the pooled fit, so that an action a subgroup rarely takes has a mean
#' near 0.
#'
#' **Fit and K.** For each \eqn{K = 1, \dots,}{K = 1, ...,} `max.K`, EM
#' from `restarts` k-means partitions of the individuals' mean residuals per
#' action (the fit with the largest likelihood is kept). The individuals
#' are split at random into `folds` folds; each fold's individuals are
#' scored by their log-likelihood under the mixture fitted on the other
#' folds (EM started from the fit on all individuals).
#' `criterion$cv.gain` is the mean held-out log-likelihood per individual
#' over that of \eqn{K = 1}, with its standard error. The chosen K is the
#' smallest whose held-out log-likelihood is within one standard error (of
#' the paired differences over individuals) of the best; and it is 1 unless
#' that K's gain over one group is at least twice its standard error, so
#' one group is kept unless the data clearly support more. The held-out likelihood, unlike an
#' in-sample criterion such as BIC, needs no count of parameters of a model
#' whose assumptions (Gaussian, homoscedastic residuals) hold only roughly.
#' `cluster` is each individual's most probable subgroup under the fit of
#' the chosen K on all individuals, `posterior` the probabilities.
#'
#' On synthetic sepsis cohorts ([sim_sepsis_cohort()], 1,000 stays of 3 to
#' 18 blocks, 9 actions; development cohorts, `bench/README.md`) it chose
#' K = 2 for two planted subgroups (two cohorts), K = 1 for one (two
#' cohorts), and K = 2 for three subgroups, one of which responds in
#' between the other two. The result depends on `seed` (folds and k-means
#' starts), not on the number of threads. It takes about 5 seconds for
#' 1,000 stays and `max.K = 6`.
#'
#' @param data A [p4l_data()] object.
#' @param max.K Largest number of subgroups considered (at most the number of
#'   individuals minus one).
#' @param bandwidth Multiplier of Scott's bandwidths (one number for both, or
#'   `c(x = , y = )` for the state and response kernels).
#' @param shrinkage Weight \eqn{\lambda > 0}{lambda > 0} of the pooled density in each
#'   individual's estimate, in units of nearby transitions.
#' @param window Transitions of an individual within this many steps of the
#'   one evaluated are left out of its own estimate (0 leaves out only the
#'   transition itself).
#' @param max.points Largest number of each individual's transitions at which
#'   densities are compared (evenly spaced in time); all transitions are used
#'   in the estimates.
#' @param linkage Agglomeration method of [stats::hclust()].
#' @param min.silhouette Smallest average silhouette width that counts as
#'   evidence of more than one subgroup.
#' @param method `"auto"`, `"kde"` or `"mixture"` (see Details); the
#'   arguments `bandwidth` to `min.silhouette` are those of `"kde"`.
#' @param folds Number of folds of individuals for the held-out likelihood
#'   (`"mixture"`; at least 2, at most the number of individuals).
#' @param restarts Number of k-means starts of EM for each K (`"mixture"`).
#' @param ridge Pseudo-transitions per action by which each subgroup's mean
#'   responses are shrunk toward the pooled fit (`"mixture"`; positive).
#' @param seed Random seed of the folds and the k-means starts
#'   (`"mixture"`; `NULL` draws one from R's generator). R's random state is
#'   restored afterwards.
#' @param num.threads Number of threads (see [p4l-package]).
#'
#' @return An object of class `p4l_groups`. With `"kde"`, a list with `K` (the chosen
#'   number of subgroups), `cluster` (integer subgroup of each individual,
#'   named by id), `criterion` (data frame of `K` and the average
#'   `silhouette` for \eqn{K = 2, \dots,}{K = 2, ...,} `max.K`), `clusters` (matrix of the
#'   partitions for every \eqn{K}, one column per K), `distance` (the
#'   matrix \eqn{D}), `tree` (the [stats::hclust()] tree), `assigned` (ids of
#'   the individuals with fewer than two transitions with a next state: they
#'   are left out of \eqn{D}, the tree and `clusters`, and join the subgroup
#'   whose members' densities fit their transitions best, or the largest
#'   subgroup when they have no such transition; a message says how many),
#'   `bandwidth` (the
#'   state and response bandwidths on the standardized scales), `method` and
#'   `settings`. With `"mixture"`: `K`, `cluster`, `criterion` (data frame of
#'   `K` = 1, ..., `max.K`, the `loglik` of the fit on all individuals up to
#'   a constant, `cv.gain` and its `se`, and whether EM `converged`),
#'   `clusters` (the partitions for every K, one column each), `posterior`
#'   (individuals x K probabilities of the chosen fit, columns in the order
#'   of the cluster labels), `heldout` (individuals x K held-out
#'   log-likelihoods, up to a constant per individual), `uninformative` (ids whose transitions with a
#'   next state are fewer than two or share one action), `method` and
#'   `settings`. It has `print` and `plot` methods.
#' @seealso [plot.p4l_groups()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 6, T = 50, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' sel <- select_groups(d, max.K = 4)
#' sel
#' table(sel$cluster, sim$group)
#' plot(sel)
#'
#' # Short ICU stays (3 to 18 blocks, 9 dose actions): the mixture method
#' coh <- sim_sepsis_cohort(400, seed = 1)
#' ds <- sepsis_data(coh$data)
#' sel2 <- select_groups(ds, max.K = 3)
#' sel2
#' table(sel2$cluster, coh$type[names(sel2$cluster)])
#' @export
select_groups <- function(data, max.K = 6, bandwidth = 0.5, shrinkage = 1, window = 10,
                          max.points = 50, linkage = "ward.D2", min.silhouette = 0.5,
                          method = c("auto", "kde", "mixture"), folds = 5, restarts = 5,
                          ridge = 1, seed = 1, num.threads = NULL) {
  if (!inherits(data, "p4l_data")) {
    stop_arg("`data` must be a p4l_data object; build one with p4l_data().")
  }
  validate_p4l_data(data)
  N <- length(data$ids)
  if (N < 3L) stop_arg("`data` has ", N, " individual(s); choosing subgroups needs at least 3.")
  max.K <- check_count(max.K, "max.K", lower = 2L)
  if (max.K > N - 1L) max.K <- N - 1L
  bandwidth <- groups_check_bandwidth(bandwidth)
  shrinkage <- check_number(shrinkage, "shrinkage", 0, lower.open = TRUE)
  max.points <- check_count(max.points, "max.points", lower = 2L)
  window <- check_count(window, "window", lower = 0L)
  linkage <- match.arg(linkage, c("ward.D2", "ward.D", "average", "complete", "single",
                                  "mcquitty", "median", "centroid"))
  min.silhouette <- check_number(min.silhouette, "min.silhouette", -1, 1)
  method <- check_choice(method, c("auto", "kde", "mixture"), "method")
  folds <- check_count(folds, "folds", lower = 2L)
  restarts <- check_count(restarts, "restarts", lower = 1L)
  ridge <- check_number(ridge, "ridge", 0, lower.open = TRUE)
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)
  if (method == "auto") method <- groups_auto_method(data)
  if (method == "mixture") {
    if (folds > N) stop_arg("`folds` (", folds, ") exceeds the number of individuals (", N, ").")
    return(groups_mixture(data, max.K, folds, restarts, ridge, seed))
  }

  # Transitions with a recorded next state (terminal rows without one carry no s').
  keep <- data$next.observed
  X <- data$S[keep, , drop = FALSE]
  Y <- cbind(data$S_next[keep, , drop = FALSE] - X, reward = data$R[keep])
  owner <- data$individual[keep]
  action <- data$A[keep]
  counts.all <- tabulate(owner, nbins = N)
  # Individuals with fewer than two transitions with a next state (e.g. an
  # episode that ended after one decision) have no density of their own worth
  # comparing: they are clustered without them and assigned afterwards.
  main <- which(counts.all >= 2L)
  few <- which(counts.all < 2L)
  if (length(main) < 3L) {
    stop_arg("Only ", length(main), " individual(s) have at least two transitions with a next ",
             "state; choosing subgroups needs at least 3 such individuals.")
  }
  with.any <- which(counts.all >= 1L)  # owners of the density estimates
  X <- standardize_columns(X, "State")
  Y <- standardize_columns(Y, "Response (next state - state, reward)")
  if (ncol(Y) == 0L) stop_arg("The next states and rewards do not vary: nothing to compare.")
  # Individuals re-indexed 1..G over those with at least one transition.
  G <- length(with.any)
  gidx <- match(owner, with.any)
  counts <- counts.all[with.any]
  m <- stats::median(counts.all[main])
  d <- ncol(X) + ncol(Y)
  h <- bandwidth * m^(-1 / (d + 4))
  eval <- groups_eval_points(gidx, counts, max.points)
  Lall <- kde_cross_loglik_cpp(X, Y, action - 1L, gidx - 1L, G, eval, h[1], h[2], shrinkage,
                               window, num.threads)
  gm <- match(main, with.any)
  L <- Lall[gm, gm, drop = FALSE]
  Nm <- length(main)
  if (max.K > Nm - 1L) max.K <- Nm - 1L
  D <- groups_distance(L, as.character(data$ids[main]))

  cut <- groups_cut(D, linkage, max.K, min.silhouette)
  K <- cut$K
  cluster <- integer(N)
  cluster[main] <- cut$cl.main
  if (length(few)) {
    cluster[few] <- groups_assign_few(few, with.any, gm, cut$cl.main, K, Lall)
    message("select_groups(): ", length(few), " individual(s) with fewer than two transitions ",
            "with a next state were assigned to subgroups after the clustering.")
  }
  names(cluster) <- as.character(data$ids)
  out <- list(K = K, cluster = cluster, criterion = data.frame(K = cut$Ks, silhouette = cut$sil),
              clusters = cut$clusters, distance = D, tree = cut$tree,
              assigned = as.character(data$ids[few]),
              bandwidth = c(x = h[1], y = h[2]), method = "kde",
              settings = list(max.K = max.K, bandwidth = bandwidth, shrinkage = shrinkage,
                              max.points = max.points, linkage = linkage,
                              min.silhouette = min.silhouette,
                              state.dims = colnames(X), response.dims = colnames(Y)))
  class(out) <- "p4l_groups"
  out
}

# One or two positive bandwidth multipliers, as two (states, responses).
groups_check_bandwidth <- function(bandwidth) {
  if (!is.numeric(bandwidth) || !(length(bandwidth) %in% 1:2) || any(!is.finite(bandwidth)) ||
      any(bandwidth <= 0)) {
    stop_arg("`bandwidth` must be one or two positive numbers (multipliers of Scott's rule).")
  }
  rep_len(as.numeric(bandwidth), 2L)
}

# The symmetric distances between individuals from their cross
# log-likelihoods L (the kernel density estimates of kde_cross_loglik_cpp()).
groups_distance <- function(L, ids) {
  M <- diag(L) - L  # M[i, j] = L_ii - L_ij
  D <- pmax((M + t(M)) / 2, 0)
  diag(D) <- 0
  dimnames(D) <- list(ids, ids)
  D
}

# Evaluation points of the density comparison (0-based rows of the kept
# transitions): up to max.points transitions per individual, evenly spaced.
groups_eval_points <- function(gidx, counts, max.points) {
  start <- cumsum(c(0L, counts))[seq_len(length(counts))]
  ord <- order(gidx)  # transitions are stored by individual, but do not rely on it
  lapply(seq_len(length(counts)), function(i) {
    idx <- ord[start[i] + seq_len(counts[i])]
    if (counts[i] > max.points) {
      idx <- idx[unique(round(seq(1, counts[i], length.out = max.points)))]
    }
    as.integer(idx - 1L)
  })
}

# The clustering tree of the distances D cut at K = 2..max.K, and the cut of
# the largest mean silhouette width (K = 1 when it is below min.silhouette).
# Returns list(tree, Ks, clusters, sil, K, cl.main).
groups_cut <- function(D, linkage, max.K, min.silhouette) {
  Nm <- nrow(D)
  tree <- stats::hclust(stats::as.dist(D), method = linkage)
  Ks <- seq.int(2L, max.K)
  clusters <- vapply(Ks, function(k) stats::cutree(tree, k = k), integer(Nm))
  clusters <- matrix(clusters, nrow = Nm, dimnames = list(rownames(D), Ks))
  sil <- vapply(seq_along(Ks), function(j) mean(silhouette_widths(D, clusters[, j])), numeric(1))
  best <- which.max(sil)
  if (sil[best] < min.silhouette) {
    K <- 1L
    cl.main <- rep(1L, Nm)
  } else {
    K <- Ks[best]
    cl.main <- relabel_by_appearance(clusters[, best])
  }
  list(tree = tree, Ks = Ks, clusters = clusters, sil = sil, K = K, cl.main = cl.main)
}

# The subgroups of the individuals `few` left out of the clustering: each
# joins the subgroup whose members' densities explain its transitions best
# (mean log-likelihood, Lall over the individuals with.any); one without any
# transition with a next state joins the largest subgroup.
groups_assign_few <- function(few, with.any, gm, cl.main, K, Lall) {
  sizes <- tabulate(cl.main, nbins = K)
  vapply(few, function(i) {
    gi <- match(i, with.any)
    if (is.na(gi) || K == 1L) return(which.max(sizes))
    score <- vapply(seq_len(K), function(k) mean(Lall[gi, gm[cl.main == k]]), numeric(1))
    which.max(score)
  }, integer(1))
}

# Columns scaled to unit standard deviation; constant columns dropped. A
# column whose values or spread overflow is an error naming it (never
# dropped silently).
standardize_columns <- function(X, what = "State") {
  s <- column_scales(X, what)$scale
  keep <- s > 1e-12 * pmax(1, apply(abs(X), 2, max))
  standardise_columns(X[, keep, drop = FALSE], 0, s[keep], what = what, squares = TRUE)
}

# Silhouette width of each object for a partition, from a distance matrix.
silhouette_widths <- function(D, cl) {
  K <- max(cl)
  sizes <- tabulate(cl, nbins = K)
  sums <- vapply(seq_len(K), function(k) rowSums(D[, cl == k, drop = FALSE]), numeric(nrow(D)))
  sums <- matrix(sums, nrow = nrow(D))
  own <- cbind(seq_len(nrow(D)), cl)
  a <- ifelse(sizes[cl] > 1L, sums[own] / pmax(sizes[cl] - 1L, 1L), 0)
  mean.other <- sweep(sums, 2, sizes, "/")
  mean.other[own] <- Inf
  b <- apply(mean.other, 1, min)
  s <- (b - a) / pmax(a, b)
  s[sizes[cl] == 1L | !is.finite(s)] <- 0
  s
}

# Cluster labels 1, 2, ... in order of first appearance (individuals' order).
relabel_by_appearance <- function(cl) {
  match(cl, unique(cl))
}

# Method "mixture": a finite mixture of per-action mean responses.

# The method of select_groups(method = "auto"): "mixture" for short
# trajectories (p4l()'s start would use intercepts) whose responses are
# continuous (the median response column, reward and next states over the
# transitions with a next state, has at least 10 distinct values); "kde"
# otherwise. The mixture's Gaussian mean shifts describe ordinal scores and
# flags poorly: on sim_icu() courses they split the patients by where their
# scores sit, not by how they respond.
groups_auto_method <- function(data) {
  if (p4l_init_model(data, "auto") != "intercept") return("kde")
  keep <- data$next.observed
  Y <- cbind(data$R[keep], data$S_next[keep, , drop = FALSE])
  distinct <- apply(Y, 2, function(y) length(unique(y)))
  if (stats::median(distinct) >= 10) "mixture" else "kde"
}

# Sufficient statistics of the mixture model: per action, the pooled
# least-squares regression of the responses (reward, next state) on (1,
# standardized state) over the transitions with a next state; the residuals
# whitened by their pooled within-individual covariance (directions with
# eigenvalue below 1e-8 of the largest dropped: the reward -SOFA' and the
# next SOFA, for example, carry one residual); and per individual and action
# the count and the sums of the whitened residuals. Returns list(nia (N x m),
# Sia (N x m q, column (d - 1) m + a), tot (N x q), n, SS (sums of squares),
# N, m, q).
groups_mixture_stats <- function(data) {
  N <- length(data$ids)
  m <- length(data$action.levels)
  keep <- data$next.observed
  n <- tabulate(data$individual[keep], N)
  if (sum(n) - sum(n > 0) < 1L) {
    stop_arg("No individual has two transitions with a next state: nothing to compare.")
  }
  S <- data$S[keep, , drop = FALSE]
  cs <- column_scales(S, "State")
  scl <- cs$scale
  scl[scl == 0] <- 1
  X <- cbind(1, standardise_columns(S, cs$shift, scl))
  Y <- cbind(data$R[keep], center_scale(data$S_next[keep, , drop = FALSE], cs$shift, scl))
  A <- data$A[keep]
  g <- data$individual[keep]
  E <- matrix(0, nrow(Y), ncol(Y))
  for (a in seq_len(m)) {
    rows <- which(A == a)
    if (length(rows)) {
      E[rows, ] <- least_squares_residuals(X[rows, , drop = FALSE], Y[rows, , drop = FALSE])
    }
  }
  means <- matrix(0, N, ncol(E))
  if (length(g)) means[sort(unique(g)), ] <- rowsum(E, g)
  means <- means / pmax(n, 1)
  within <- E - means[g, , drop = FALSE]
  C <- crossprod(within) / (sum(n) - sum(n > 0))
  ev <- eigen(C, symmetric = TRUE)
  use <- ev$values > 1e-8 * max(ev$values[1], .Machine$double.xmin)
  if (!any(use)) stop_arg("The next states and rewards do not vary: nothing to compare.")
  Z <- E %*% (ev$vectors[, use, drop = FALSE] %*% diag(1 / sqrt(ev$values[use]), sum(use)))
  groups_mixture_counts(Z, A, g, N, m)
}

# The statistics of groups_mixture_stats() from whitened residuals Z (one
# row per transition), their actions A (1..m) and owners g (1..N).
groups_mixture_counts <- function(Z, A, g, N, m) {
  q <- ncol(Z)
  nia <- matrix(0, N, m)
  Sia <- matrix(0, N, m * q)
  for (a in seq_len(m)) {
    rows <- which(A == a)
    if (!length(rows)) next
    ia <- sort(unique(g[rows]))
    nia[, a] <- tabulate(g[rows], N)
    Sia[ia, (seq_len(q) - 1L) * m + a] <- rowsum(Z[rows, , drop = FALSE], g[rows])
  }
  n <- tabulate(g, N)
  tot <- matrix(0, N, q)
  SS <- numeric(N)
  if (length(g)) {
    tot[sort(unique(g)), ] <- rowsum(Z, g)
    SS[sort(unique(g))] <- rowsum(rowSums(Z^2), g)[, 1]
  }
  list(nia = nia, Sia = Sia, tot = tot, n = n, SS = SS, N = N, m = m, q = q,
       weighted = groups_mixture_weighted(nia, Sia, tot, n))
}

# The per-individual terms whose responsibility-weighted sums give the
# M-step: counts n_ia, n_ia n_ib / n_i, sums S_iad, n_ia tot_id / n_i.
groups_mixture_weighted <- function(nia, Sia, tot, n) {
  inv.n <- 1 / pmax(n, 1)
  m <- ncol(nia)
  q <- ncol(tot)
  outer.n <- nia[, rep(seq_len(m), m), drop = FALSE] * nia[, rep(seq_len(m), each = m), drop = FALSE]
  outer.t <- nia[, rep(seq_len(m), q), drop = FALSE] * tot[, rep(seq_len(q), each = m), drop = FALSE]
  cbind(nia, outer.n * inv.n, Sia, outer.t * inv.n)
}

# The rows idx of the statistics.
groups_mixture_rows <- function(st, idx) {
  st$nia <- st$nia[idx, , drop = FALSE]
  st$Sia <- st$Sia[idx, , drop = FALSE]
  st$tot <- st$tot[idx, , drop = FALSE]
  st$n <- st$n[idx]
  st$SS <- st$SS[idx]
  st$weighted <- st$weighted[idx, , drop = FALSE]
  st$N <- length(idx)
  st
}

# Each individual's log-likelihood (up to a constant common to all
# components) under each component k with mean responses M[[k]] (m x q), its
# own level profiled out: -1/2 times the within-individual sum of squares of
# its whitened residuals minus M[[k]][a_t, ]. Returns N x K.
groups_mixture_loglik <- function(st, M) {
  Mv <- vapply(M, as.vector, numeric(st$m * st$q))            # m q x K
  quad <- vapply(M, function(Mk) rowSums(Mk^2), numeric(st$m))  # m x K
  out <- 2 * (st$Sia %*% Mv) - st$nia %*% quad
  inv.n <- 1 / pmax(st$n, 1)
  for (k in seq_along(M)) {
    out[, k] <- out[, k] + rowSums((st$tot - st$nia %*% M[[k]])^2) * inv.n
  }
  -0.5 * (st$SS - out)
}

# Component means from the responsibilities post (N x K): for each k the
# ridge (`lambda` pseudo-transitions per action toward the pooled fit, 0)
# minimiser of the responsibility-weighted within-individual sums of squares.
groups_mixture_means <- function(st, post, lambda) {
  m <- st$m
  q <- st$q
  W <- crossprod(st$weighted, post)
  lapply(seq_len(ncol(post)), function(k) {
    H <- diag(W[seq_len(m), k] + lambda, m) - matrix(W[m + seq_len(m * m), k], m)
    G <- matrix(W[m + m * m + seq_len(m * q), k] - W[m + m * m + m * q + seq_len(m * q), k], m)
    solve(H, G)
  })
}

# Log-likelihoods with the log mixing weights: posterior probabilities (N x
# K), each individual's marginal log-likelihood, and their total.
groups_mixture_estep <- function(st, M, weights) {
  L <- groups_mixture_loglik(st, M)
  L <- L + rep(log(weights), each = st$N)
  top <- L[cbind(seq_len(st$N), max.col(L, ties.method = "first"))]
  marginal <- top + log(rowSums(exp(L - top)))
  list(post = exp(L - marginal), marginal = marginal, loglik = sum(marginal))
}

# EM from responsibilities `post` (N x K). Returns list(M, weights, post,
# loglik, iterations, converged).
groups_mixture_em <- function(st, post, lambda, max.iter = 500L, tol = 1e-6) {
  old <- -Inf
  for (it in seq_len(max.iter)) {
    weights <- pmax(colMeans(post), 1e-12)
    weights <- weights / sum(weights)
    M <- groups_mixture_means(st, post, lambda)
    e <- groups_mixture_estep(st, M, weights)
    post <- e$post
    done <- e$loglik - old <= tol * abs(e$loglik)
    if (done) break
    old <- e$loglik
  }
  list(M = M, weights = weights, post = post, loglik = e$loglik, iterations = it,
       converged = done)
}

# The best of `restarts` EM runs from k-means partitions of the individuals'
# mean whitened residuals per action (shrunk by one pseudo-transition), or
# random partitions when there are fewer than K distinct such rows.
groups_mixture_fit <- function(st, K, restarts, lambda) {
  if (K == 1L) return(groups_mixture_em(st, matrix(1, st$N, 1L), lambda))
  dev <- st$Sia / (st$nia[, rep(seq_len(st$m), st$q), drop = FALSE] + 1)
  best <- NULL
  for (s in seq_len(restarts)) {
    # k-means needs K distinct rows; without them, a random partition
    cl <- tryCatch(suppressWarnings(stats::kmeans(dev, K, iter.max = 100L)$cluster),
                   error = function(e) sample(rep_len(seq_len(K), st$N)))
    fit <- groups_mixture_em(st, outer(cl, seq_len(K), "==") * 1, lambda)
    if (is.null(best) || fit$loglik > best$loglik) best <- fit
  }
  best
}

# The mixture method of select_groups(): fits K = 1..max.K on all
# individuals and, warm-started from those fits, on the training folds;
# scores each individual by its held-out log-likelihood; chooses the smallest
# K within one standard error (paired over individuals) of the best.
groups_mixture <- function(data, max.K, folds, restarts, ridge, seed) {
  st <- groups_mixture_stats(data)
  N <- st$N
  local_seed(seed)
  fold <- sample(rep_len(seq_len(folds), N))
  Ks <- seq_len(max.K)
  fits <- lapply(Ks, function(K) groups_mixture_fit(st, K, restarts, ridge))
  split <- lapply(seq_len(folds), function(f) {
    list(test = which(fold == f), train = groups_mixture_rows(st, which(fold != f)),
         held = groups_mixture_rows(st, which(fold == f)))
  })
  held <- vapply(Ks, function(K) {
    h <- numeric(N)
    for (sp in split) {
      start <- groups_mixture_estep(sp$train, fits[[K]]$M, fits[[K]]$weights)$post
      fit <- groups_mixture_em(sp$train, start, ridge)
      h[sp$test] <- groups_mixture_estep(sp$held, fit$M, fit$weights)$marginal
    }
    h
  }, numeric(N))                                                 # N x max.K
  gain <- held - held[, 1L]
  diff <- held - held[, which.max(colMeans(held))]
  se.diff <- apply(diff, 2, stats::sd) / sqrt(N)
  K <- Ks[which(colMeans(diff) >= -se.diff)[1L]]
  se.gain <- apply(gain, 2, stats::sd) / sqrt(N)
  if (K > 1L && mean(gain[, K]) < 2 * se.gain[K]) K <- 1L
  ids <- as.character(data$ids)
  map.of <- function(fit) max.col(fit$post, ties.method = "first")
  clusters <- matrix(vapply(fits, function(fit) relabel_by_appearance(map.of(fit)), integer(N)),
                     N, dimnames = list(ids, Ks))
  map <- map.of(fits[[K]])
  posterior <- fits[[K]]$post[, unique(c(map, seq_len(K))), drop = FALSE]
  dimnames(posterior) <- list(ids, seq_len(K))
  informative <- rowSums(st$nia > 0) >= 2L
  out <- list(K = K, cluster = stats::setNames(clusters[, K], ids),
              criterion = data.frame(K = Ks, loglik = vapply(fits, `[[`, 0, "loglik"),
                                     cv.gain = colMeans(gain),
                                     se = se.gain,
                                     converged = vapply(fits, `[[`, TRUE, "converged")),
              clusters = clusters, posterior = posterior,
              heldout = matrix(held, N, dimnames = list(ids, Ks)),
              uninformative = ids[!informative],
              method = "mixture",
              settings = list(max.K = max.K, folds = folds, restarts = restarts, ridge = ridge,
                              seed = seed, dims = st$q))
  class(out) <- "p4l_groups"
  out
}

#' @export
print.p4l_groups <- function(x, ...) {
  cat("<p4l_groups> K = ", x$K, " subgroup", if (x$K == 1) "" else "s", " for ",
      length(x$cluster), " individuals (sizes ",
      paste(tabulate(x$cluster, nbins = x$K), collapse = ", "), ")\n", sep = "")
  if (identical(x$method, "mixture")) {
    crit <- x$criterion
    cat("  method \"mixture\": held-out log-likelihood per individual over K = 1 (",
        x$settings$folds, " folds), with its standard error:\n", sep = "")
    cat(paste0("    K = ", crit$K, ": ", formatC(crit$cv.gain, digits = 3, format = "f"),
               " (", formatC(crit$se, digits = 3, format = "f"), ")",
               ifelse(crit$converged, "", "  EM not converged"),
               ifelse(crit$K == x$K, "  <-", ""), collapse = "\n"), "\n", sep = "")
    cat("  (the smallest K within one standard error of the best; one group unless\n",
        "  its gain is at least twice its standard error)\n", sep = "")
    if (length(x$uninformative)) {
      cat("  ", length(x$uninformative), " individual(s) with transitions of a single action ",
          "went to the most likely subgroup a priori\n", sep = "")
    }
    return(invisible(x))
  }
  cat("  average silhouette width by K:\n")
  crit <- x$criterion
  cat(paste0("    K = ", crit$K, ": ", formatC(crit$silhouette, digits = 3, format = "f"),
             ifelse(crit$K == x$K, "  <-", ""), collapse = "\n"), "\n", sep = "")
  if (x$K == 1) {
    cat("  (no K reaches ", x$settings$min.silhouette, ": taken as homogeneous)\n", sep = "")
  }
  invisible(x)
}

#' Plot the choice of the number of subgroups
#'
#' @param x A `p4l_groups` object from [select_groups()].
#' @param which `"criterion"`: the criterion against K, the chosen K marked
#'   (method `"kde"`: the average silhouette width; `"mixture"`: the held-out
#'   log-likelihood gain over K = 1 with bars of one standard error);
#'   `"map"`: the individuals in two dimensions, coloured by subgroup
#'   (`"kde"`: classical multidimensional scaling of the distances;
#'   `"mixture"`: the first two principal components of the posterior
#'   probabilities, or the posterior of subgroup 1 against the individuals'
#'   order when K is 1 or 2).
#' @param ... Further graphical parameters passed to [graphics::plot()].
#' @return `x`, invisibly.
#' @examples
#' sim <- sim_linear2d(num.per.group = 6, T = 50, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' sel <- select_groups(d, max.K = 4)
#' plot(sel, which = "map")
#' @export
plot.p4l_groups <- function(x, which = c("criterion", "map"), ...) {
  which <- match.arg(which)
  if (identical(x$method, "mixture")) return(plot_groups_mixture(x, which, ...))
  if (which == "criterion") {
    crit <- x$criterion
    graphics::plot(crit$K, crit$silhouette, type = "b", pch = 19, xlab = "number of subgroups K",
                   ylab = "average silhouette width", xaxt = "n",
                   ylim = range(c(crit$silhouette, x$settings$min.silhouette, 0)), ...)
    graphics::axis(1, at = crit$K)
    graphics::abline(h = x$settings$min.silhouette, lty = 3, col = "grey40")
    if (x$K > 1) {
      graphics::points(x$K, crit$silhouette[crit$K == x$K], pch = 1, cex = 2.2, col = "red")
    }
    graphics::title(main = paste0("Chosen K = ", x$K))
  } else {
    xy <- stats::cmdscale(stats::as.dist(x$distance), k = 2)
    if (ncol(xy) < 2L) xy <- cbind(xy, 0)
    pal <- grDevices::hcl.colors(max(3L, x$K), "Dark 3")
    graphics::plot(xy[, 1], xy[, 2], col = pal[x$cluster[rownames(x$distance)]], pch = 19,
                   xlab = "coordinate 1",
                   ylab = "coordinate 2", asp = 1, ...)
    graphics::title(main = paste0("Individuals by transition density (K = ", x$K, ")"))
  }
  invisible(x)
}

# plot.p4l_groups() for method "mixture".
plot_groups_mixture <- function(x, which, ...) {
  pal <- grDevices::hcl.colors(max(3L, x$K), "Dark 3")
  if (which == "criterion") {
    crit <- x$criterion
    lo <- crit$cv.gain - crit$se
    hi <- crit$cv.gain + crit$se
    graphics::plot(crit$K, crit$cv.gain, type = "b", pch = 19, xlab = "number of subgroups K",
                   ylab = "held-out log-likelihood gain per individual", xaxt = "n",
                   ylim = range(c(lo, hi, 0)), ...)
    graphics::axis(1, at = crit$K)
    graphics::segments(crit$K, lo, crit$K, hi)
    graphics::abline(h = 0, lty = 3, col = "grey40")
    graphics::points(x$K, crit$cv.gain[crit$K == x$K], pch = 1, cex = 2.2, col = "red")
    graphics::title(main = paste0("Chosen K = ", x$K))
  } else {
    P <- x$posterior
    if (ncol(P) > 2L) {
      xy <- stats::prcomp(P)$x[, 1:2, drop = FALSE]
      lab <- c("principal component 1", "principal component 2")
    } else {
      xy <- cbind(seq_len(nrow(P)), P[, 1])
      lab <- c("individual", "posterior probability of subgroup 1")
    }
    graphics::plot(xy[, 1], xy[, 2], col = pal[x$cluster], pch = 19, xlab = lab[1],
                   ylab = lab[2], ...)
    graphics::title(main = paste0("Individuals by subgroup probability (K = ", x$K, ")"))
  }
  invisible(x)
}
