# A small outpatient dose study with a known truth: the "40 x 15" study of
# the vignette "Your own data" and of the stress suite (S2).

dose_study_levels <- c("low", "mid", "high")

# The true model (see ?sim_dose_study).
dose_study_params <- function() {
  list(effect = rbind(low = c(-2.5, -1.25, 0), high = c(0, -1.25, -2.5)),
       side = c(0, 0.25, 0.5), crp.intercept = 4, crp.ar = 0.6, crp.bmi = 0.1,
       crp.sd = 1, sym.intercept = 1, sym.crp = 0.8, sym.sd = 0.5,
       beh.slope = c(-0.3, 0, 0.3), beh.center = 8, beh.uniform = 0.1)
}

# Clinicians' dose probabilities at CRP values (rows), columns low, mid, high.
dose_study_behaviour <- function(crp, par = dose_study_params()) {
  z <- outer(crp - par$beh.center, par$beh.slope)
  p <- (1 - par$beh.uniform) * softmax_rows(z) + par$beh.uniform / 3
  colnames(p) <- dose_study_levels
  p
}

# One step of the true dynamics for vectors (dose index k in 1:3).
dose_study_step <- function(crp, bmi, type, k, eps.crp, eps.sym, par = dose_study_params()) {
  eff <- par$effect[cbind(match(type, rownames(par$effect)), k)]
  crp.next <- pmin(pmax(par$crp.intercept + par$crp.ar * crp + par$crp.bmi * (bmi - 28) + eff +
                          par$crp.sd * eps.crp, 0.5), 25)
  sym <- pmin(pmax(par$sym.intercept + par$sym.crp * crp.next + par$side[k] +
                     par$sym.sd * eps.sym, 2), 15)
  list(crp = crp.next, reward = -sym)
}

dose_study_initial_crp <- function(n) pmin(pmax(exp(log(10) + 0.35 * stats::rnorm(n)), 0.5), 25)

# Rows of a probability matrix sampled with given uniforms (inverse CDF).
sample_rows_inverse <- function(p, u) {
  cp <- p %*% upper.tri(diag(ncol(p)), diag = TRUE)
  pmin(rowSums(u > cp) + 1L, ncol(p))
}

#' Simulate a small dose study with two hidden response types
#'
#' A made-up outpatient study shaped like the data biostatisticians receive:
#' patients seen at weekly visits, a time-varying biomarker (CRP, with some
#' values missing), baseline covariates (BMI, sex, smoking), a dose chosen by
#' the clinician at each visit among `"low"`, `"mid"` and `"high"`, and a
#' symptom score recorded after every visit, including the last. Half of the
#' patients respond best to the low dose and half to the high dose; the type
#' is hidden but correlated with BMI and sex. The truth is returned, so a
#' learned policy can be checked ([dose_study_value()]).
#'
#' **The model.** Patient \eqn{i} has BMI \eqn{\sim N(28, 5^2)}{~ N(28, 5^2)} clipped to
#' \[18, 45\], sex (male with probability 1/2) and a response type drawn from
#' the score \eqn{0.15 (BMI - 28) + 0.8 (male - 1/2) + N(0, 1)}: the half with
#' the larger scores is of type `"high"`. CRP at the first visit is
#' log-normal around 10; at visit \eqn{t + 1} it is
#' \eqn{4 + 0.6\,CRP_t + 0.1 (BMI - 28) + e_{type}(dose) + N(0, 1)}{4 + 0.6 CRP_t + 0.1 (BMI - 28) + e_type(dose) + N(0, 1)}, clipped
#' to \[0.5, 25\], with dose effects \eqn{e = (-2.5, -1.25, 0)} (low, mid,
#' high) for type `"low"` and \eqn{(0, -1.25, -2.5)} for type `"high"`. The
#' symptom score after visit \eqn{t} is
#' \eqn{1 + 0.8\,CRP_{t+1} + (0, 0.25, 0.5)[dose] + N(0, 0.5^2)}{1 + 0.8 CRP_(t+1) + (0, 0.25, 0.5)[dose] + N(0, 0.5^2)}, clipped to
#' \[2, 15\]; the reward is minus the score. Each type's best policy is to
#' give its own best dose at every visit. Clinicians dose by CRP
#' (confounding): \eqn{P(dose) \propto \exp((-0.3, 0, 0.3)(CRP - 8))}{P(dose) proportional to exp((-0.3, 0, 0.3)(CRP - 8))}, mixed
#' with 10% uniform. Smoking status is drawn independently of everything else
#' (a covariate that does not matter).
#'
#' @param num.patients Number of patients (at least 2).
#' @param num.visits Visits per patient (at least 1).
#' @param missing Probability that a CRP value is missing (`NA`), independently
#'   at each visit.
#' @param final.state Add a last row per patient with the CRP measured at the
#'   visit after the last one and `NA` dose and reward (then every visit's
#'   transition has a next state, the format of the other simulators).
#' @param seed Random seed (`NULL` draws one from R's generator). The seed
#'   fixes the patients and their courses; `missing` and `final.state` do not
#'   change them.
#'
#' @return A list with
#'   \describe{
#'   \item{`data`}{long data frame, one row per patient and visit: `id`
#'     (`"pt01"`, ...), `visit` (1, 2, ...), `date` (`Date`, weekly from a
#'     patient-specific start), `crp`, `dose` (character), `symptom`, `reward`
#'     (minus the symptom score), `bmi`, `sex` (factor `female`/`male`) and
#'     `smoking` (factor `never`/`former`/`current`).}
#'   \item{`type`}{named character vector: each patient's response type
#'     (`"low"` or `"high"`).}
#'   \item{`best.dose`}{named character vector: each patient's best dose.}
#'   \item{`patients`}{data frame of `id`, `bmi`, `sex`, `smoking`, `type`.}
#'   \item{`seed`}{the seed used.}
#'   }
#' @seealso [dose_study_value()]; the vignette "Your own data".
#' @examples
#' sim <- sim_dose_study(num.patients = 10, num.visits = 5, missing = 0.1, seed = 1)
#' head(sim$data)
#' table(sim$type)
#' @export
sim_dose_study <- function(num.patients = 40, num.visits = 15, missing = 0,
                           final.state = FALSE, seed = NULL) {
  N <- check_count(num.patients, "num.patients", lower = 2L)
  V <- check_count(num.visits, "num.visits", lower = 1L)
  missing <- check_number(missing, "missing", lower = 0, upper = 1, upper.open = TRUE)
  check_flag(final.state, "final.state")
  seed <- resolve_seed(seed)
  local_seed(seed)
  par <- dose_study_params()
  ids <- sprintf(paste0("pt%0", max(2L, nchar(N)), "d"), seq_len(N))
  bmi <- pmin(pmax(stats::rnorm(N, 28, 5), 18), 45)
  male <- stats::rbinom(N, 1, 0.5)
  score <- 0.15 * (bmi - 28) + 0.8 * (male - 0.5) + stats::rnorm(N)
  type <- ifelse(rank(score, ties.method = "first") > N / 2, "high", "low")
  crp <- dose_study_initial_crp(N)
  visits <- vector("list", V + 1L)
  for (t in seq_len(V)) {
    k <- sample_rows_inverse(dose_study_behaviour(crp, par), stats::runif(N))
    st <- dose_study_step(crp, bmi, type, k, stats::rnorm(N), stats::rnorm(N), par)
    visits[[t]] <- data.frame(id = ids, visit = t, crp = crp, dose = dose_study_levels[k],
                              symptom = -st$reward, reward = st$reward,
                              stringsAsFactors = FALSE)
    crp <- st$crp
  }
  # Everything below is drawn after the courses, so it does not change them.
  smoking <- factor(sample(c("never", "former", "current"), N, replace = TRUE,
                           prob = c(0.5, 0.3, 0.2)), levels = c("never", "former", "current"))
  start <- as.Date("2024-01-08") + sample(0:90, N, replace = TRUE)
  if (final.state) {
    visits[[V + 1L]] <- data.frame(id = ids, visit = V + 1L, crp = crp, dose = NA_character_,
                                   symptom = NA_real_, reward = NA_real_,
                                   stringsAsFactors = FALSE)
  }
  data <- do.call(rbind, visits)
  data <- data[order(data$id, data$visit), ]
  rownames(data) <- NULL
  if (missing > 0) data$crp[stats::runif(nrow(data)) < missing] <- NA_real_
  i <- match(data$id, ids)
  data$date <- start[i] + 7L * (data$visit - 1L)
  data$bmi <- bmi[i]
  data$sex <- factor(c("female", "male")[male[i] + 1L], levels = c("female", "male"))
  data$smoking <- smoking[i]
  data <- data[, c("id", "visit", "date", "crp", "dose", "symptom", "reward", "bmi", "sex",
                   "smoking")]
  best <- ifelse(type == "low", "low", "high")
  list(data = data, type = stats::setNames(type, ids), best.dose = stats::setNames(best, ids),
       patients = data.frame(id = ids, bmi = bmi,
                             sex = factor(c("female", "male")[male + 1L],
                                          levels = c("female", "male")),
                             smoking = smoking, type = type, stringsAsFactors = FALSE),
       seed = seed)
}

#' True value of a policy in the simulated dose study
#'
#' Monte Carlo value of a dosing policy for every patient of a
#' [sim_dose_study()] data set under the true model: episodes of `horizon`
#' visits start at a fresh CRP draw with the patient's own BMI, sex and type;
#' all policies share the random numbers (common random numbers), so
#' differences between policies are estimated precisely.
#'
#' @param policy A fitted policy (any `p4l_policy`: its action probabilities
#'   for the patient's own id are used, with the patient's CRP and baseline
#'   covariates as new data; greedy policies give their deployed dose),
#'   `"behaviour"` (the clinicians' policy), `"best"` (each patient's best dose
#'   at every visit), or one of `"low"`, `"mid"`, `"high"` (that dose always).
#' @param sim The output of [sim_dose_study()].
#' @param num.episodes Episodes per patient.
#' @param horizon Visits per episode.
#' @param gamma Discount factor.
#' @param seed Random seed of the episodes.
#' @return A named numeric vector: each patient's mean discounted return
#'   \eqn{\sum_{t < horizon} \gamma^t R_t}{sum_(t < horizon) gamma^t R_t}.
#' @examples
#' sim <- sim_dose_study(num.patients = 10, num.visits = 5, seed = 1)
#' v <- dose_study_value("behaviour", sim, num.episodes = 50, horizon = 5)
#' tapply(v, sim$type, mean)
#' @export
dose_study_value <- function(policy, sim, num.episodes = 200, horizon = 15, gamma = 0.9,
                             seed = 1) {
  if (!is.list(sim) || is.null(sim$patients) || is.null(sim$type)) {
    stop_arg("`sim` must be the output of sim_dose_study().")
  }
  E <- check_count(num.episodes, "num.episodes")
  H <- check_count(horizon, "horizon")
  gamma <- check_number(gamma, "gamma", lower = 0, upper = 1)
  if (is.character(policy)) {
    if (length(policy) != 1L || !(policy %in% c("behaviour", "best", dose_study_levels))) {
      stop_arg("`policy` must be a fitted policy, \"behaviour\", \"best\", \"low\", \"mid\" ",
               "or \"high\".")
    }
  } else if (!inherits(policy, "p4l_policy")) {
    stop_arg("`policy` must be a fitted policy (p4l_policy) or a character label.")
  }
  par <- dose_study_params()
  pat <- sim$patients
  N <- nrow(pat)
  idx <- rep(seq_len(N), each = E)
  local_seed(seed)
  crp <- dose_study_initial_crp(N * E)
  eps.crp <- matrix(stats::rnorm(N * E * H), N * E)
  eps.sym <- matrix(stats::rnorm(N * E * H), N * E)
  u <- matrix(stats::runif(N * E * H), N * E)
  ret <- numeric(N * E)
  for (t in seq_len(H)) {
    if (is.character(policy) && policy == "behaviour") {
      p <- dose_study_behaviour(crp, par)
    } else if (is.character(policy)) {
      k <- if (policy == "best") match(ifelse(pat$type[idx] == "low", "low", "high"),
                                       dose_study_levels) else
        rep(match(policy, dose_study_levels), N * E)
      p <- matrix(0, N * E, 3)
      p[cbind(seq_len(N * E), k)] <- 1
    } else {
      nd <- data.frame(id = pat$id[idx], crp = crp, bmi = pat$bmi[idx], sex = pat$sex[idx],
                       smoking = pat$smoking[idx], stringsAsFactors = FALSE)
      id.col <- policy$id.column
      if (!is.null(id.col) && id.col != "id") names(nd)[1] <- id.col
      pr <- stats::predict(policy, nd, type = "prob")
      p <- matrix(0, N * E, 3)
      p[, match(colnames(pr), dose_study_levels)] <- pr
    }
    k <- sample_rows_inverse(p, u[, t])
    st <- dose_study_step(crp, pat$bmi[idx], pat$type[idx], k, eps.crp[, t], eps.sym[, t], par)
    ret <- ret + gamma^(t - 1) * st$reward
    crp <- st$crp
  }
  stats::setNames(as.numeric(tapply(ret, idx, mean)), pat$id)
}
