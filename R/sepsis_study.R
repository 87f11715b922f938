#' The paper's sepsis evaluation (Table 3) as a study
#'
#' Builds the pieces of [run_study()] for the evaluation protocol of the
#' paper's Section 7 (Table 3, Figure 3): a personalised simulator
#' ([persim()]) is fitted once to all stays of `data`; in each replication,
#' `num.stays` stays are drawn at random (all of them when `data` has fewer),
#' P4L and the baselines are fitted on them, and every fitted policy, and the
#' clinicians' policy (the fitted behaviour policy, [behaviour_policy()]), is
#' evaluated by Monte Carlo in the simulator of each drawn stay, from the
#' stay's first state, for `horizon` blocks.
#'
#' The value reported for a method in a replication is the mean over the
#' drawn stays of the discounted sum of rewards (with [sepsis_data()], the
#' discounted sum of \eqn{-}SOFA at the next blocks). `summary()` of the study
#' gives the mean and standard deviation over replications, `plot()` the
#' boxplot of the paper's Figure 3.
#'
#' The simulator is fitted on the data that the methods learn from, as in the
#' paper; it cannot correct for confounders that the state does not hold (see
#' `bench/README.md`, section "persim", for its accuracy on simulated data
#' whose truth is known).
#'
#' @param data A [p4l_data()] object (for example from [sepsis_data()]).
#' @param simulator A [persim()] fit on `data`, or `NULL` to fit one with
#'   its defaults (seeded by `seed`).
#' @param num.stays Stays drawn in each replication.
#' @param methods Methods to run, among `"P4L"`, `"ACPI"`, `"VL"`, `"FQI"`
#'   and `"Clinicians"`.
#' @param K Clusters of P4L (a number or `"auto"`, see [p4l()]).
#' @param K.acpi Clusters of ACPI (`NULL` chooses by BIC, see [acpi()]).
#' @param gamma Discount factor of the fits and of the values.
#' @param horizon Blocks per simulated episode.
#' @param num.episodes Monte Carlo episodes per stay.
#' @param num.centers RBF centres of the basis shared by the methods (the
#'   paper's Gaussian RBF basis with the median-distance bandwidth, see
#'   [rbf_basis()]), built on each replication's stays.
#' @param control Settings of P4L ([p4l_control()]).
#' @param acpi.control Settings of ACPI ([acpi_control()]). The default is a
#'   shorter fusion path than `acpi_control()`'s (5 penalties, one round,
#'   at most 100 ADMM iterations): ACPI's path grows with the square of the
#'   number of stays, and with `acpi_control()` it does not finish in 24
#'   minutes at 1,000 stays; with this default it takes about a minute.
#' @param seed Seed of the simulator when it is fitted here.
#' @return A list with `design`, `simulate`, `methods` and `evaluate` for
#'   [run_study()], and the `simulator`.
#' @seealso [run_study()], [persim()], [sepsis_data()];
#'   `vignette("sepsis", package = "p4l")`.
#' @examples
#' \donttest{
#' d <- sepsis_data(sepsis_demo())
#' st <- sepsis_study(d, methods = c("FQI", "Clinicians"), num.episodes = 20, seed = 1)
#' res <- run_study(st$design, st$methods, st$simulate, st$evaluate, replications = 2,
#'                  seed = 1)
#' summary(res)
#' }
#' @export
sepsis_study <- function(data, simulator = NULL, num.stays = 1000,
                         methods = c("P4L", "ACPI", "VL", "FQI", "Clinicians"), K = "auto",
                         K.acpi = NULL, gamma = 0.8, horizon = 10, num.episodes = 100,
                         num.centers = 16, control = p4l_control(),
                         acpi.control = acpi_control(num.lambda = 5, max.outer = 1,
                                                     admm.max.iter = 100),
                         seed = 1) {
  check_p4l_data_arg(data)
  methods <- match.arg(methods, c("P4L", "ACPI", "VL", "FQI", "Clinicians"), several.ok = TRUE)
  num.stays <- check_count(num.stays, "num.stays", lower = 2L)
  gamma <- check_number(gamma, "gamma", 0, 1, upper.open = TRUE)
  horizon <- check_count(horizon, "horizon")
  num.episodes <- check_count(num.episodes, "num.episodes", lower = 2L)
  num.centers <- check_count(num.centers, "num.centers")
  K <- study_K(K)[[1]]
  if (is.null(simulator)) simulator <- persim(data, seed = seed)
  if (!inherits(simulator, "p4l_persim")) stop_arg("`simulator` must be a persim() fit or NULL.")
  if (anyNA(match_ids(data$ids, simulator$ids))) {
    stop_arg("`simulator` was not fitted on every individual of `data`.")
  }
  simulate <- function(setting, seed) {
    ids <- data$ids
    if (length(ids) > num.stays) ids <- sort(ids[sample.int(length(ids), num.stays)])
    d <- subset(data, ids = ids)
    list(data = d, env = persim_env(simulator, ids),
         basis = rbf_basis(d, num.centers = min(num.centers, nrow(unique(d$S))), seed = seed))
  }
  all <- list(
    P4L = function(sim, seed) p4l(sim$data, K = K, gamma = gamma, basis = sim$basis,
                                  control = control, seed = seed),
    ACPI = function(sim, seed) acpi(sim$data, K = K.acpi, gamma = gamma, basis = sim$basis,
                                    control = acpi.control, seed = seed),
    VL = function(sim, seed) vlearning(sim$data, gamma = gamma, basis = sim$basis, seed = seed),
    FQI = function(sim, seed) fqi(sim$data, gamma = gamma, basis = sim$basis, seed = seed),
    Clinicians = function(sim, seed) behaviour_policy(sim$data, basis = sim$basis,
                                                      gamma = gamma, seed = seed))
  list(design = data.frame(stays = min(num.stays, length(data$ids))),
       simulate = simulate, methods = all[methods],
       evaluate = study_evaluate(num.episodes = num.episodes * min(num.stays, length(data$ids)),
                                 horizon = horizon, gamma = gamma),
       simulator = simulator)
}
