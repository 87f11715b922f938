#' p4l: Penalized Pessimistic Personalized Policy Learning
#'
#' Learns individualized treatment policies from offline, heterogeneous
#' longitudinal data. Start with [p4l_data()] to validate a long data frame,
#' [rbf_basis()] for the shared state features, and the simulators
#' [sim_linear2d()] and [env_linear2d()] for the paper's 2-D study, and
#' [sim_icu()] for an episodic clinical course whose optimum is known exactly
#' ([icu_optimum()], [icu_policy_value()]). Without a simulator,
#' [policy_value()] estimates any policy's value from the observed data with
#' bootstrap intervals, and [behaviour_policy()] models the observed actions.
#'
#' @section Threads:
#' Functions with a `num.threads` argument run their C++ core with
#' 'RcppParallel'. The number of threads is taken from, in order: the
#' argument, the option `p4l.num.threads`, the environment variable
#' `P4L_NUM_THREADS`, and finally 2. Results never depend on it: work is split
#' by individual or episode and reduced in a fixed order.
#'
#' @section Memory:
#' [p4l()], [fqi()], [vlearning()], [acpi()] and [evaluate_policy()] estimate
#' their largest allocations from the problem's sizes (transitions,
#' individuals, basis functions times actions, rank, episodes) before they
#' allocate, and stop with an error that names the argument to change when
#' the estimate exceeds the memory available: the option `p4l.max.memory`
#' (bytes) when set, otherwise `MemAvailable` of `/proc/meminfo` where it
#' exists (no check elsewhere). For example, `acpi()` without `clusters` keeps
#' two p x p matrices per individual, while with `clusters` its memory does
#' not grow with the number of individuals.
#'
#' @section Seeds:
#' Functions with a `seed` argument draw one from R's generator when it is
#' `NULL`, so [set.seed()] makes them reproducible. The C++ core derives one
#' random stream per work item (individual, episode) from it.
#'
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- fqi(d, basis = rbf_basis(d, num.centers = 8, seed = 1), seed = 1)
#' evaluate_policy(fit, sim$env, num.episodes = 20, horizon = 20, seed = 1)
#' @keywords internal
#' @docType package
#' @name p4l-package
#' @useDynLib p4l, .registration = TRUE
#' @importFrom Rcpp sourceCpp
#' @importFrom RcppParallel RcppParallelLibs
#' @importFrom stats predict
#' @importFrom cli cli_progress_bar
NULL
