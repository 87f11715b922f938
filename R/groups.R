#' Choose the number of subgroups from the individuals' transition densities
#'
#' The heuristic of Section 5 of the paper ("K = Auto"): estimate each
#' individual's transition density \eqn{P_i(s', r \mid s, a)}{P_i(s', r | s, a)} by kernel
#' density estimation, measure how different the individuals' densities
#' are, cluster the individuals, and choose the number of clusters.
#'
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
#' @param num.threads Number of threads (see [p4l-package]).
#'
#' @return An object of class `p4l_groups`: a list with `K` (the chosen
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
#'   state and response bandwidths on the standardized scales) and
#'   `settings`. It has `print` and `plot` methods.
#' @seealso [plot.p4l_groups()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 6, T = 50, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' sel <- select_groups(d, max.K = 4)
#' sel
#' table(sel$cluster, sim$group)
#' plot(sel)
#' @export
select_groups <- function(data, max.K = 6, bandwidth = 0.5, shrinkage = 1, window = 10,
                          max.points = 50, linkage = "ward.D2", min.silhouette = 0.5,
                          num.threads = NULL) {
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
  num.threads <- resolve_threads(num.threads)

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
              bandwidth = c(x = h[1], y = h[2]),
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

#' @export
print.p4l_groups <- function(x, ...) {
  cat("<p4l_groups> K = ", x$K, " subgroup", if (x$K == 1) "" else "s", " for ",
      length(x$cluster), " individuals (sizes ",
      paste(tabulate(x$cluster, nbins = x$K), collapse = ", "), ")\n", sep = "")
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
#' @param which `"criterion"`: the average silhouette width against K, the
#'   chosen K marked; `"map"`: the individuals in two dimensions (classical
#'   multidimensional scaling of the distances), coloured by subgroup.
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
