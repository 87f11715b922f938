#' Control settings of auto-clustered policy iteration
#'
#' @param num.lambda Number of fusion penalties \eqn{\lambda}{lambda} on the path.
#' @param lambda.min.ratio Smallest \eqn{\lambda}{lambda} as a fraction of the largest
#'   (the largest is the size of the individual loss gradients at the pooled
#'   fit).
#' @param mcp.gamma Concavity parameter of the MCP fusion penalty (> 1).
#' @param admm.rho ADMM penalty parameter (`mcp.gamma * admm.rho` must exceed 1).
#' @param admm.max.iter,admm.tol ADMM iteration limit and tolerance on the
#'   largest primal residual \eqn{\|\beta_i - \beta_j - \eta_{ij}\|}{||beta_i - beta_j - eta_ij||}.
#' @param bic.constant The constant \eqn{C_N} of the BIC; `NULL` uses
#'   \eqn{\log\log(N p)}{log log(N p)} (Ma and Huang 2017).
#' @param pi.max.iter Largest number of policy-iteration steps per cluster.
#' @param max.outer Largest number of rounds of (evaluation and clustering,
#'   policy improvement).
#' @param graph The pairs of individuals the fusion penalty acts on:
#'   `"complete"` every pair (the paper's; memory and time per ADMM iteration
#'   grow with N^2), `"knn"` a sparse graph, the `num.neighbors` nearest
#'   neighbours of each individual's unfused estimate joined by a minimum
#'   spanning tree (so that any two individuals can still fuse; memory and time
#'   grow with N), or `"auto"` (the default): `"complete"` up to 300
#'   individuals, `"knn"` above. See [acpi()], section "Many individuals".
#' @param num.neighbors Neighbours per individual in the `"knn"` graph.
#' @return A list of class `acpi_control`.
#' @examples
#' acpi_control(num.lambda = 10)
#' acpi_control(graph = "knn", num.neighbors = 5)
#' @export
acpi_control <- function(num.lambda = 20, lambda.min.ratio = 0.01, mcp.gamma = 3,
                         admm.rho = 1, admm.max.iter = 500, admm.tol = 1e-3,
                         bic.constant = NULL, pi.max.iter = 50, max.outer = 5,
                         graph = c("auto", "complete", "knn"), num.neighbors = 10) {
  graph <- check_choice(graph, c("auto", "complete", "knn"), "graph")
  mcp.gamma <- check_number(mcp.gamma, "mcp.gamma", lower = 1, lower.open = TRUE)
  admm.rho <- check_number(admm.rho, "admm.rho", lower = 0, lower.open = TRUE)
  if (mcp.gamma * admm.rho <= 1) stop_arg("`mcp.gamma * admm.rho` must exceed 1.")
  structure(list(num.lambda = check_count(num.lambda, "num.lambda"),
                 lambda.min.ratio = check_number(lambda.min.ratio, "lambda.min.ratio", 0, 1,
                                                 lower.open = TRUE),
                 mcp.gamma = mcp.gamma, admm.rho = admm.rho,
                 admm.max.iter = check_count(admm.max.iter, "admm.max.iter"),
                 admm.tol = check_number(admm.tol, "admm.tol", lower = 0, lower.open = TRUE),
                 bic.constant = if (is.null(bic.constant)) NULL else
                   check_number(bic.constant, "bic.constant", lower = 0),
                 pi.max.iter = check_count(pi.max.iter, "pi.max.iter"),
                 max.outer = check_count(max.outer, "max.outer"),
                 graph = graph, num.neighbors = check_count(num.neighbors, "num.neighbors")),
            class = "acpi_control")
}

#' Auto-clustered policy iteration
#'
#' ACPI (Chen, Song and Jordan 2022) finds subgroups of individuals whose
#' value functions agree and learns one policy per subgroup from that
#' subgroup's data only.
#'
#' **Auto-clustered policy evaluation.** Each individual \eqn{i} has its own
#' linear Q-function \eqn{Q_i(s, a) = \phi(s, a)^\top \beta_i}{Q_i(s, a) = phi(s, a)' beta_i} (\eqn{\phi}{phi} the
#' shared basis, one block per action) for its current policy. The
#' \eqn{\beta_i}{beta_i} minimise the sum of the individuals' mean squared projected
#' Bellman errors (whose unpenalised minimiser is each individual's LSTD-Q
#' estimate), weighted by their numbers of transitions \eqn{T_i}, plus a `ridge` penalty and the
#' concave pairwise fusion penalty
#' \eqn{\sum_{i<j} \mathrm{MCP}(\|\beta_i - \beta_j\|; \lambda)}{sum_(i<j) MCP(||beta_i - beta_j||; lambda)}
#' (Ma and Huang 2017), solved by ADMM over a path of \eqn{\lambda}{lambda}.
#' Individuals whose differences are fused to zero form a cluster. With
#' `K = NULL` the \eqn{\lambda}{lambda} with the smallest BIC,
#' \eqn{\log(L/n) + C_N \log(n) K p / n}{log(L/n) + C_N log(n) K p / n} (L the summed loss of the per-cluster
#' refits, n the number of transitions, p the number of Q weights), is
#' chosen. With `K` given, the fit with the smallest BIC among those with at
#' least `K` clusters is taken and its clusters are merged two at a time (each
#' time the pair whose union raises the loss least) until `K` remain: the
#' fusion path itself tends to keep outlying individuals as singletons, so the
#' path point with exactly `K` clusters is often not a useful split. The fit is
#' deterministic.
#'
#' **Policy iteration.** Within each cluster, policy iteration (LSTD-Q
#' evaluation with `ridge`, greedy improvement; Lagoudakis and Parr 2003)
#' runs on that cluster's data only, from the uniform policy, until the greedy
#' actions stop changing. Evaluation and clustering are then repeated under
#' the clusters' new policies until the clusters stop changing
#' (`control$max.outer` rounds at most). Given `clusters` skip clustering.
#'
#' **Many individuals.** On every pair the fusion path costs time and memory
#' that grow with \eqn{N^2}{N^2} (at 1,000 individuals it did not finish in 24
#' minutes). Above 300 individuals (`acpi_control(graph = "auto")`) the
#' penalty acts only on the pairs of a sparse graph: each individual's
#' `num.neighbors` nearest neighbours (Euclidean distance between the
#' unfused LSTD-Q estimates) joined by a minimum spanning tree, so that any
#' two individuals can still fuse, as in convex clustering (Hocking et al.
#' 2011, Chi and Lange 2015). Its ADMM keeps two copies of the coefficients
#' per edge; the individuals' updates are one p x p solve each (by the
#' Woodbury identity when an individual has fewer transitions than p), in
#' parallel. Its \eqn{\lambda}{lambda} grid reaches the penalty at which the
#' spanning tree alone fuses everyone, and with `K` given the path stops at
#' the first \eqn{\lambda}{lambda} with `K` clusters. The sparse graph gives
#' another path than every pair (on the 2-D study, forced, the same or higher
#' values); the 2-D study and Table 2 (60 and 300 individuals) keep every
#' pair. Times and that comparison are in `bench/README.md` (issue 16, item 4).
#'
#' **Memory.** With p = |A| d Q weights and N individuals, the fusion path
#' on every pair keeps two p x p matrices per individual and two p-vectors
#' per pair of individuals, about \eqn{8(2Np^2 + pN^2)} bytes; on the sparse
#' graph (k neighbours, at most N(k + 1) edges) four single-precision
#' p-vectors per edge and,
#' per individual with \eqn{T_i < p}{T_i < p} transitions, a \eqn{T_i \times p}{T_i x p} factor (two p x p
#' matrices otherwise), about \eqn{8(2\min(np, Np^2) + 2pN(k + 1))}{8(2 min(n p, N p^2) + 2 p N (k + 1))} bytes;
#' with `clusters` given,
#' policy iteration accumulates each cluster's p x p system directly over its
#' transitions, so memory does not grow with N. `acpi()` stops before it
#' allocates more than is available (see [p4l-package], section Memory).
#'
#' @inheritParams fqi
#' @param K Number of clusters; `NULL` chooses it by BIC along the fusion
#'   path (see Details); `"auto"` takes it from [select_groups()] with its
#'   default method, as `p4l(K = "auto")` does.
#' @param clusters Known clusters: one label per individual (named by id, or
#'   in the order of `data$ids`). Clustering is then skipped and `K` ignored.
#' @param ridge Ridge penalty (per transition) of the LSTD-Q systems.
#' @param control Settings from [acpi_control()].
#' @return An object of class `c("acpi_fit", "p4l_policy")` with one greedy
#'   policy per cluster (`policy.coef` = `q.coef`), `cluster` (named by id),
#'   `path` (the \eqn{\lambda}{lambda} path: number of clusters, BIC, ADMM iterations,
#'   the chosen index, the fused coefficients, the fusion `graph` used and its
#'   `num.edges`) and `convergence`.
#' @references Chen, E. Y., Song, R. and Jordan, M. I. (2022). Reinforcement
#'   learning with heterogeneous data: estimation and inference.
#'   arXiv:2202.00088. Ma, S. and Huang, J. (2017). A concave pairwise fusion
#'   approach to subgroup analysis. JASA 112, 410-423. Hocking, T. D., Joulin,
#'   A., Bach, F. and Vert, J.-P. (2011). Clusterpath: an algorithm for
#'   clustering using convex fusion penalties. ICML. Chi, E. C. and Lange, K.
#'   (2015). Splitting methods for convex clustering. JCGS 24, 994-1013.
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- acpi(d, K = 3, seed = 1)
#' table(fit$cluster, sim$group)
#' predict(fit, data.frame(id = c(1, 9), s1 = 0.5, s2 = -0.5))
#' @export
acpi <- function(data, K = NULL, gamma = 0.8, basis = NULL, clusters = NULL, ridge = 1e-4,
                 control = acpi_control(), num.threads = NULL, seed = NULL, verbose = FALSE) {
  cl <- match.call()
  check_p4l_data_arg(data)
  N <- length(data$ids)
  if (identical(K, "auto")) K <- select_groups(data, max.K = min(6L, N), num.threads = num.threads)$K
  if (!is.null(K)) K <- check_count(K, "K", lower = 1L, upper = N)
  ea <- estimator_args(gamma, ridge, control, "acpi_control", num.threads, verbose, seed)
  given <- resolve_clusters(clusters, data)
  feat <- estimator_features(data, basis, ea$seed, ea$num.threads, guard = function(d)
    guard_acpi(data, d, !is.null(given), ea$control, K, ea$num.threads))  # R/memory.R
  res <- acpi_fit_features(data, feat$psi, feat$psi.next, K = K, clusters = given,
                           gamma = ea$gamma, ridge = ea$ridge, control = ea$control,
                           num.threads = ea$num.threads)
  W <- lapply(res$W, name_coef, basis = feat$basis, action.levels = data$action.levels)
  cluster <- stats::setNames(as.integer(res$cluster), as.character(data$ids))
  conv <- list(outer.iterations = res$outer.iterations, clusters.stable = res$clusters.stable,
               pi.iterations = res$pi.iterations, pi.converged = as.logical(res$pi.converged))
  path <- NULL
  if (is.null(given)) {
    path <- res$path
    path$graph <- acpi_graph(ea$control, N)
    colnames(path$coef) <- as.character(data$ids)
    path$chosen <- if (path$chosen >= 1) path$chosen else NA_integer_
  }
  if (verbose) {
    message("acpi: ", length(W), " cluster(s); policy iteration steps ",
            paste(res$pi.iterations, collapse = ", "))
  }
  baseline_policy("acpi", "acpi_fit", data, feat$basis, ea$gamma, slot = cluster,
                  policy.coef = W, q.coef = W, greedy = TRUE, cluster = cluster, call = cl,
                  K = length(W), ridge = ea$ridge, control = ea$control, path = path,
                  clusters.given = !is.null(given), convergence = conv, seed = ea$seed)
}

resolve_clusters <- function(clusters, data) {
  if (is.null(clusters)) return(NULL)
  N <- length(data$ids)
  if (!is.atomic(clusters) || length(clusters) != N || anyNA(clusters)) {
    stop_arg("`clusters` must give one non-missing label per individual (", N, ").")
  }
  if (!is.null(names(clusters))) {
    idx <- match(as.character(data$ids), names(clusters))
    if (anyNA(idx)) {
      stop_arg("`clusters` is named but has no label for id ",
               format(data$ids[which(is.na(idx))[1]]), ".")
    }
    clusters <- clusters[idx]
  }
  as.integer(factor(clusters, levels = unique(clusters)))
}

# ACPI on given features; K = NULL means BIC, clusters = integer labels or NULL.
acpi_fit_features <- function(data, psi, psi.next, K = NULL, clusters = NULL, gamma = 0.8,
                              ridge = 1e-4, control = acpi_control(), num.threads = 1L) {
  inp <- transition_inputs(data, psi, psi.next)
  given <- if (is.null(clusters)) integer(0) else as.integer(clusters) - 1L
  control$graph <- acpi_graph(control, length(data$ids))
  acpi_cpp(inp, given, if (is.null(K)) 0L else as.integer(K), gamma, ridge, control, num.threads)
}

# The fusion graph acpi() uses for N individuals: "auto" is "complete" up to
# 300 individuals (where the paper's studies run: the 2-D study has 60, Table
# 2 300), "knn" above.
acpi_graph <- function(control, N) {
  g <- control$graph
  if (is.null(g) || identical(g, "auto")) g <- if (N <= 300) "complete" else "knn"
  g
}
