# The 2-D simulator of the paper (Sec 6.1): its subgroups and data
# generator. The environment, env_linear2d(), is in R/env.R.

#' Subgroups of the paper's 2-D environment (Table 1)
#'
#' The transition parameters of the three subgroups of the paper's Table 1,
#' with the paper's reward (`reward.sign = 1`).
#'
#' @return A data frame with row names `a`, `b`, `c` and columns `c1`, `c2`,
#'   `reward.sign`.
#' @examples
#' linear2d_groups()
#' # a variant where subgroup (c) is rewarded for the opposite action
#' g <- linear2d_groups(); g["c", "reward.sign"] <- -1; g
#' @export
linear2d_groups <- function() {
  data.frame(c1 = c(0, 0.6, -0.7), c2 = c(-0.6, 0.4, 0.5), reward.sign = c(1, 1, 1),
             row.names = c("a", "b", "c"))
}

#' Simulate the paper's heterogeneous 2-D environment
#'
#' Simulates the environment of Section 6.1 of the paper in C++. Each
#' individual starts at \eqn{S_0 \sim N(0, I_2)}{S_0 ~ N(0, I_2)} and follows the balanced
#' behaviour policy \eqn{A_t \sim}{A_t ~} Bernoulli(1/2) for `T` decision times:
#' \deqn{S_{t+1,1} = 0.8(2A_t - 1) S_{t,1} + c_1 S_{t,2} + \epsilon_{t,1},}{S_(t+1,1) = 0.8(2A_t - 1) S_(t,1) + c_1 S_(t,2) + epsilon_(t,1),}
#' \deqn{S_{t+1,2} = c_2 S_{t,1} + 0.8(1 - 2A_t) S_{t,2} + \epsilon_{t,2},}{S_(t+1,2) = c_2 S_(t,1) + 0.8(1 - 2A_t) S_(t,2) + epsilon_(t,2),}
#' with \eqn{\epsilon_t \sim N(0, 0.25 I_2)}{epsilon_t ~ N(0, 0.25 I_2)}, and reward
#' \deqn{R_t = 0.9 / [1 + \exp\{\sigma (2A_t - 1)(S_{t,1} - 2 S_{t,2})\}] + U[-0.1, 0.1],}{R_t = 0.9 / [1 + exp{sigma (2A_t - 1)(S_(t,1) - 2 S_(t,2))}] + U[-0.1, 0.1],}
#' where \eqn{\sigma}{sigma} is the subgroup's `reward.sign` (1 in the paper; -1
#' reverses which action is rewarded).
#'
#' @param num.per.group Number of individuals in each subgroup (one number,
#'   or one per row of `groups`).
#' @param T Number of decision times per individual.
#' @param groups A data frame with one row per subgroup and columns `c1`,
#'   `c2` and optionally `reward.sign` (default 1); row names label the
#'   subgroups. Defaults to the paper's Table 1, [linear2d_groups()].
#' @param seed Random seed (`NULL` draws one from R's generator). Individual
#'   `i` uses its own random stream, so results do not depend on threads.
#' @param num.threads Number of threads (see [p4l-package]).
#'
#' @return A list with
#'   \describe{
#'   \item{`data`}{long data frame with columns `id`, `time`, `action`,
#'     `reward`, `s1`, `s2`; `T + 1` rows per individual, the last with the
#'     final state and `NA` action and reward. Ready for [p4l_data()].}
#'   \item{`group`}{factor: the true subgroup of each id, named by id.}
#'   \item{`params`}{data frame of each id's `group`, `c1`, `c2`, `reward.sign`.}
#'   \item{`env`}{named list of each id's [env_linear2d()] environment, for
#'     [evaluate_policy()].}
#'   }
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 10, seed = 42)
#' head(sim$data)
#' table(sim$group)
#' @export
sim_linear2d <- function(num.per.group = 20, T = 100, groups = linear2d_groups(),
                         seed = NULL, num.threads = NULL) {
  if (!is.data.frame(groups) || nrow(groups) < 1L) {
    stop_arg("`groups` must be a data frame with one row per subgroup.")
  }
  for (col in c("c1", "c2")) {
    if (!(col %in% names(groups)) || !is.numeric(groups[[col]]) || any(!is.finite(groups[[col]]))) {
      stop_arg("`groups` must have a finite numeric column '", col, "'.")
    }
  }
  if (is.null(groups$reward.sign)) groups$reward.sign <- 1
  if (!all(groups$reward.sign %in% c(-1, 1))) {
    stop_arg("Column 'reward.sign' of `groups` must be 1 or -1.")
  }
  labels <- rownames(groups)
  if (is.null(labels) || identical(labels, as.character(seq_len(nrow(groups))))) {
    labels <- letters[seq_len(nrow(groups))]
  }
  if (!is.numeric(num.per.group) || !(length(num.per.group) %in% c(1L, nrow(groups)))) {
    stop_arg("`num.per.group` must be one whole number or one per row of `groups`.")
  }
  sizes <- vapply(num.per.group, check_count, integer(1), name = "num.per.group")
  sizes <- rep_len(sizes, nrow(groups))
  T <- check_count(T, "T")
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)
  g <- rep(seq_len(nrow(groups)), sizes)
  raw <- sim_linear2d_cpp(groups$c1[g], groups$c2[g], groups$reward.sign[g], T, seed,
                          num.threads)
  data <- data.frame(id = as.integer(raw[, 1]), time = as.integer(raw[, 2]),
                     action = as.integer(raw[, 3]), reward = raw[, 4], s1 = raw[, 5],
                     s2 = raw[, 6])
  ids <- seq_along(g)
  group <- stats::setNames(factor(labels[g], levels = labels), ids)
  params <- data.frame(id = ids, group = group, c1 = groups$c1[g], c2 = groups$c2[g],
                       reward.sign = groups$reward.sign[g])
  env <- lapply(seq_along(g), function(i) {
    env_linear2d(groups$c1[g[i]], groups$c2[g[i]], groups$reward.sign[g[i]])
  })
  names(env) <- ids
  list(data = data, group = group, params = params, env = env, seed = seed)
}
