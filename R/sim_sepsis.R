# A synthetic sepsis cohort in the schema of sepsis_cohort() (AI-Clinician
# `MIMICtable` names), with planted patient subgroups whose SOFA responds
# differently to IV fluids and vasopressors. Everything is vectorised over
# stays; the only loop runs over blocks.

# Columns of the synthetic cohort, in the order of sepsis_cohort().
sim_sepsis_columns <- function() {
  c("bloc", "icustayid", "charttime", "onset_hours", "gender", "age", "died_in_hosp",
    "mortality_90d", "Weight_kg", sim_sepsis_covariates()$name, "mechvent", "Shock_Index",
    "PaO2_FiO2", "median_dose_vaso", "max_dose_vaso", "input_total", "input_4hourly",
    "output_total", "output_4hourly", "cumulated_balance", "SOFA", "SIRS")
}

# The vitals and labs: block value = center + slope * z + type shift + stay
# effect (sd `between`) + noise (sd `within`), on the log scale when `log`
# (center then the log of the typical value), clipped to [min, max]. z is the
# latent severity (SOFA points). `group` sets the missingness rate.
sim_sepsis_covariates <- function() {
  v <- function(name, group, center, slope, between, within, min, max, log = FALSE) {
    data.frame(name = name, group = group, center = center, slope = slope, between = between,
               within = within, min = min, max = max, log = log, stringsAsFactors = FALSE)
  }
  rbind(
    v("GCS", "vital", 15, -0.6, 1.5, 1, 3, 15),
    v("HR", "vital", 85, 2, 10, 6, 40, 180),
    v("SysBP", "vital", NA, NA, NA, NA, 60, 220),   # from MeanBP and the pulse pressure
    v("MeanBP", "vital", 88, -1.8, 8, 5, 35, 150),
    v("DiaBP", "vital", NA, NA, NA, NA, 25, 120),   # from MeanBP and the pulse pressure
    v("RR", "vital", 18, 0.6, 4, 3, 6, 50),
    v("SpO2", "vital", 97.5, -0.3, 1.5, 1.2, 70, 100),
    v("Temp_C", "vital", 37.2, 0.05, 0.6, 0.4, 34, 41),
    v("FiO2_1", "vital", 0.35, 0.03, 0.08, 0.05, 0.21, 1),
    v("Potassium", "lab", 4, 0.03, 0.4, 0.3, 2.5, 7),
    v("Sodium", "lab", 139, 0.1, 4, 1.5, 120, 160),
    v("Chloride", "lab", 105, 0, 5, 2, 85, 130),
    v("Glucose", "lab", log(130), 0.02, 0.25, 0.15, 40, 600, log = TRUE),
    v("BUN", "lab", log(20), 0.08, 0.5, 0.1, 2, 200, log = TRUE),
    v("Creatinine", "lab", log(1), 0.1, 0.45, 0.1, 0.2, 12, log = TRUE),
    v("Magnesium", "lab", 2, 0, 0.25, 0.15, 1, 4),
    v("Calcium", "lab", 8.3, -0.05, 0.5, 0.3, 5.5, 11),
    v("Ionised_Ca", "lab", 1.12, -0.005, 0.08, 0.05, 0.7, 1.5),
    v("CO2_mEqL", "lab", 25, -0.5, 3, 2, 5, 45),
    v("SGOT", "lab", log(40), 0.12, 0.8, 0.2, 5, 5000, log = TRUE),
    v("SGPT", "lab", log(35), 0.1, 0.8, 0.2, 5, 5000, log = TRUE),
    v("Total_bili", "lab", log(0.8), 0.1, 0.7, 0.15, 0.1, 40, log = TRUE),
    v("Albumin", "lab", 3, -0.05, 0.5, 0.2, 1, 5),
    v("Hb", "lab", 10.5, -0.1, 1.5, 0.5, 5, 17),
    v("WBC_count", "lab", log(12), 0.03, 0.4, 0.15, 0.5, 80, log = TRUE),
    v("Platelets_count", "lab", log(200), -0.06, 0.45, 0.1, 5, 900, log = TRUE),
    v("PTT", "lab", 35, 1, 8, 4, 20, 150),
    v("PT", "lab", 14.5, 0.3, 2, 1, 10, 60),
    v("INR", "lab", log(1.3), 0.03, 0.2, 0.05, 0.8, 8, log = TRUE),
    v("Arterial_pH", "lab", 7.4, -0.01, 0.04, 0.03, 6.9, 7.65),
    v("paO2", "lab", 110, -2, 30, 20, 40, 500),
    v("paCO2", "lab", 40, -0.2, 6, 4, 15, 100),
    v("Arterial_BE", "lab", 0, -0.6, 3, 2, -25, 20),
    v("Arterial_lactate", "lab", log(1.2), 0.09, 0.4, 0.15, 0.3, 20, log = TRUE),
    v("HCO3", "lab", 24, -0.5, 3, 2, 5, 45)
  )
}

sim_sepsis_types <- function() c("fluid", "vaso", "neutral")

# The model of sim_sepsis_cohort() (see its documentation).
sim_sepsis_params <- function() {
  lv <- c("low", "mid", "high")
  list(
    # SOFA change per block by type (rows) and treatment level (columns).
    fluid.effect = rbind(fluid = c(0.4, -0.2, -0.8), vaso = c(0, 0.3, 0.8),
                         neutral = c(0.2, -0.2, 0.2), deparse.level = 0),
    vaso.effect = rbind(fluid = c(0, 0.3, 0.8), vaso = c(0.4, -0.2, -0.8),
                        neutral = c(0.2, -0.2, 0.2), deparse.level = 0),
    levels = lv,
    severity.mean = 7, severity.sd = 2.5, severity.range = c(1, 18), initial.sd = 1.5,
    pull = 0.15, noise.sd = 0.8, sofa.sd = 0.5,
    # Type shifts of vitals and labs (on the log scale for log labs).
    type.shift = list(
      fluid = c(MeanBP = -5, HR = 8, Arterial_lactate = 0.2, BUN = 0.2, Hb = 0.5),
      vaso = c(MeanBP = -8, HR = 3, Temp_C = 0.4, WBC_count = 0.2, Arterial_lactate = 0.1),
      neutral = c(MeanBP = 0)),
    pulse.pressure = c(mean = 45, sd = 8),
    # Clinicians: ordinal logits k * score + intercept[k] (k = 0, 1, 2), then
    # mixed with `uniform` of the uniform policy.
    fluid.score = c(MeanBP = -0.08, log.lactate = 0.8, severity = 0.1),
    fluid.intercept = c(0, -0.5, -1.3),
    vaso.score = c(MeanBP = -0.12, severity = 0.15),
    vaso.intercept = c(0, -2, -3.6),
    behaviour.center = c(MeanBP = 72, lactate = 2, severity = 7),
    uniform = 0.05,
    best.action = c(fluid = "fluid high / vaso low", vaso = "fluid low / vaso high",
                    neutral = "fluid mid / vaso mid"),
    window.blocks = 18L, block.hours = 4, window.start = -24,
    covariates = sim_sepsis_covariates()
  )
}

# Fluid and vasopressor levels (1 to 3) of a fixed treatment label, or NULL.
sim_sepsis_treatment <- function(treatment) {
  if (is.null(treatment)) return(NULL)
  lv <- c("low", "mid", "high")
  labs <- paste0("fluid ", rep(lv, each = 3L), " / vaso ", rep(lv, 3L))
  k <- if (is.character(treatment) && length(treatment) == 1L) match(treatment, labs) else NA
  if (is.na(k)) {
    stop_arg("`treatment` must be NULL (the clinicians) or one of \"", labs[1], "\", ..., \"",
             labs[9], "\".")
  }
  c((k - 1L) %/% 3L + 1L, (k - 1L) %% 3L + 1L)
}

# The missing rate of each covariate column: labs three times as often as
# vitals, `missing` overall.
sim_sepsis_missing_rates <- function(cov, missing) {
  vit <- cov$name[cov$group == "vital"]
  lab <- cov$name[cov$group == "lab"]
  w.v <- (length(vit) + length(lab)) / (length(vit) + 3 * length(lab))
  ifelse(cov$group == "vital", missing * w.v, pmin(3 * missing * w.v, 1))
}

# The stays: subgroup `type` (exact counts by largest remainders) and its
# row `gi` of the effect tables, number of blocks `nblk`, first block in the
# window, severity `mu`, age, weight, sex, onset and ventilation threshold,
# drawn in this order.
sim_sepsis_stays <- function(N, nb, subgroups, par) {
  prop <- subgroups / sum(subgroups)
  type <- sample(rep(names(prop), largest_remainders(prop, N)))
  gi <- match(type, rownames(par$fluid.effect))
  full <- stats::runif(N) < 0.4
  nblk <- ifelse(full, nb[2],
                 nb[1] + floor(stats::runif(N) * (nb[2] - nb[1] + 1)))
  nblk <- as.integer(pmin(nblk, nb[2]))
  first <- 1L + floor(stats::runif(N) * pmax(par$window.blocks - nblk + 1L, 1L))
  mu <- pmin(pmax(stats::rnorm(N, par$severity.mean, par$severity.sd),
                  par$severity.range[1]), par$severity.range[2])
  age <- pmin(pmax(stats::rnorm(N, 66, 16), 18), 91)
  weight <- pmin(pmax(stats::rnorm(N, 80, 18), 40), 200)
  male <- stats::runif(N) < 0.56
  onset <- round(stats::runif(N, -6, 30))
  vent.threshold <- stats::rnorm(N, 9, 2)
  list(type = type, gi = gi, nblk = nblk, first = first, mu = mu, age = age, weight = weight,
       male = male, onset = onset, vent.threshold = vent.threshold)
}

# The stays' effects on the vitals and labs (`gen`) and their subgroup shifts,
# and the pulse pressures, drawn in this order. Returns list(stay.eff, shift,
# pp), the first two N x nrow(gen) matrices.
sim_sepsis_stay_effects <- function(type, gen, par) {
  N <- length(type)
  stay.eff <- matrix(stats::rnorm(N * nrow(gen)), N) * rep(gen$between, each = N)
  shift <- matrix(0, N, nrow(gen), dimnames = list(NULL, gen$name))
  for (g in names(par$type.shift)) {
    s <- par$type.shift[[g]]
    s <- s[names(s) %in% gen$name]
    if (length(s)) shift[type == g, names(s)] <- rep(s, each = sum(type == g))
  }
  colnames(stay.eff) <- gen$name
  pp <- pmax(stats::rnorm(N, par$pulse.pressure[["mean"]], par$pulse.pressure[["sd"]]), 15)
  list(stay.eff = stay.eff, shift = shift, pp = pp)
}

# The stays' courses over Tm blocks (all stays at once): latent severity Z,
# the mean blood pressure and log lactate the clinicians see (MAP, LAC), and
# the fluid and vasopressor levels they choose (Fl, Va; `fixed`: one
# treatment for all). Returns list(Z, Fl, Va, MAP, LAC), each N x Tm.
sim_sepsis_courses <- function(mu, gi, gen, eff, par, fixed, Tm) {
  N <- length(mu)
  shift <- eff$shift
  stay.eff <- eff$stay.eff
  Z <- Fl <- Va <- MAP <- LAC <- matrix(NA_real_, N, Tm)
  z <- pmin(pmax(mu + stats::rnorm(N, 0, par$initial.sd), 0), 24)
  im <- match("MeanBP", gen$name)
  il <- match("Arterial_lactate", gen$name)
  bc <- par$behaviour.center
  for (t in seq_len(Tm)) {
    Z[, t] <- z
    MAP[, t] <- gen$center[im] + gen$slope[im] * z + shift[, im] + stay.eff[, im] +
      stats::rnorm(N, 0, gen$within[im])
    LAC[, t] <- gen$center[il] + gen$slope[il] * z + shift[, il] + stay.eff[, il] +
      stats::rnorm(N, 0, gen$within[il])
    map <- pmin(pmax(MAP[, t], gen$min[im]), gen$max[im])
    lac <- pmin(pmax(exp(LAC[, t]), gen$min[il]), gen$max[il])
    sf <- par$fluid.score[["MeanBP"]] * (map - bc[["MeanBP"]]) +
      par$fluid.score[["log.lactate"]] * log(lac / bc[["lactate"]]) +
      par$fluid.score[["severity"]] * (z - bc[["severity"]])
    sv <- par$vaso.score[["MeanBP"]] * (map - bc[["MeanBP"]]) +
      par$vaso.score[["severity"]] * (z - bc[["severity"]])
    f <- sim_sepsis_level(sf, par$fluid.intercept, par$uniform, stats::runif(N))
    v <- sim_sepsis_level(sv, par$vaso.intercept, par$uniform, stats::runif(N))
    if (!is.null(fixed)) {
      f[] <- fixed[1]
      v[] <- fixed[2]
    }
    Fl[, t] <- f
    Va[, t] <- v
    z <- z + par$pull * (mu - z) + par$fluid.effect[cbind(gi, f)] +
      par$vaso.effect[cbind(gi, v)] + stats::rnorm(N, 0, par$noise.sd)
    z <- pmin(pmax(z, 0), 24)
  }
  list(Z = Z, Fl = Fl, Va = Va, MAP = MAP, LAC = LAC)
}

# The measurements of the blocks in long format (severity z, stay index si,
# and the blocks' mean blood pressure `map` and log lactate `lac` of the
# courses): the vitals and labs X, systolic and diastolic pressures, SOFA and
# SIRS, drawn in this order. Returns list(X, sys, dia, sofa, sirs).
sim_sepsis_measurements <- function(z, si, map, lac, gen, cov, eff, par) {
  n <- length(z)
  im <- match("MeanBP", gen$name)
  il <- match("Arterial_lactate", gen$name)
  X <- matrix(NA_real_, n, nrow(gen), dimnames = list(NULL, gen$name))
  for (j in seq_len(nrow(gen))) {
    x <- if (j == im) map else if (j == il) lac else
      gen$center[j] + gen$slope[j] * z + eff$shift[si, j] + eff$stay.eff[si, j] +
        stats::rnorm(n, 0, gen$within[j])
    if (gen$log[j]) x <- exp(x)
    X[, j] <- pmin(pmax(x, gen$min[j]), gen$max[j])
  }
  pp <- eff$pp
  ir <- match("SysBP", cov$name)
  id <- match("DiaBP", cov$name)
  sys <- pmin(pmax(X[, "MeanBP"] + 2 * pp[si] / 3, cov$min[ir]), cov$max[ir])
  dia <- pmin(pmax(X[, "MeanBP"] - pp[si] / 3, cov$min[id]), cov$max[id])
  sofa <- pmin(pmax(round(z + stats::rnorm(n, 0, par$sofa.sd)), 0), 24)
  sirs <- (X[, "Temp_C"] > 38 | X[, "Temp_C"] < 36) + (X[, "HR"] > 90) +
    (X[, "RR"] > 20 | X[, "paCO2"] < 32) + (X[, "WBC_count"] > 12 | X[, "WBC_count"] < 4)
  list(X = X, sys = sys, dia = dia, sofa = sofa, sirs = sirs)
}

# The columns derived from the measurements and treatments (ventilation,
# shock index, P/F ratio, doses, cumulative fluids and urine, balance, SOFA,
# SIRS), and the cohort's columns in order.
sim_sepsis_derived_columns <- function(data, si, vent, vaso.med, vaso, fluid, urine, sofa, sirs) {
  cum <- function(x) stats::ave(x, si, FUN = cumsum)
  data$mechvent <- vent
  data$Shock_Index <- data$HR / data$SysBP
  data$PaO2_FiO2 <- data$paO2 / data$FiO2_1
  data$median_dose_vaso <- vaso.med
  data$max_dose_vaso <- vaso
  data$input_total <- cum(fluid)
  data$input_4hourly <- fluid
  data$output_total <- cum(urine)
  data$output_4hourly <- urine
  data$cumulated_balance <- data$input_total - data$output_total
  data$SOFA <- sofa
  data$SIRS <- as.numeric(sirs)
  data[, sim_sepsis_columns()]
}

# `num.blocks`: two whole numbers, at least 2, in increasing order.
sim_sepsis_check_blocks <- function(num.blocks) {
  if (!is.numeric(num.blocks) || length(num.blocks) != 2L || any(!is.finite(num.blocks)) ||
      any(num.blocks != round(num.blocks)) || num.blocks[1] < 2 || num.blocks[1] > num.blocks[2]) {
    stop_arg("`num.blocks` must be two whole numbers, at least 2, the first not larger than ",
             "the second.")
  }
  as.integer(num.blocks)
}

# `subgroups`: non-negative proportions named by distinct subgroup types.
sim_sepsis_check_subgroups <- function(subgroups) {
  if (!is.numeric(subgroups) || length(subgroups) < 1L || is.null(names(subgroups)) ||
      anyNA(subgroups) || any(!is.finite(subgroups)) || any(subgroups < 0) ||
      sum(subgroups) <= 0) {
    stop_arg("`subgroups` must be named non-negative proportions, such as ",
             "c(fluid = 0.5, vaso = 0.5).")
  }
  bad <- setdiff(names(subgroups), sim_sepsis_types())
  if (length(bad) > 0L || anyDuplicated(names(subgroups))) {
    stop_arg("The names of `subgroups` must be distinct and among ",
             paste0("\"", sim_sepsis_types(), "\"", collapse = ", "),
             if (length(bad) > 0L) paste0("; got \"", bad[1], "\""), ".")
  }
  invisible(subgroups)
}

# Exact counts summing to N from proportions `prop`, by largest remainders
# (ties to the first).
largest_remainders <- function(prop, N) {
  raw <- prop * N
  count <- floor(raw)
  rest <- N - sum(count)
  if (rest > 0) {
    extra <- order(-(raw - count), seq_along(raw))[seq_len(rest)]
    count[extra] <- count[extra] + 1
  }
  count
}

# Doses within the treatment levels (1, 2, 3), from two uniforms u and w per
# row drawn here: level 1 is 0 with probability `zero`, else low * w; level 2
# is mid[1] + mid[2] * w; level 3 is high[1] + high[2] * w with probability
# `top`, else tail[1] plus an exponential of mean tail[2], capped at `cap`.
sim_sepsis_dose <- function(level, zero, low, mid, top, high, tail, cap) {
  n <- length(level)
  u <- stats::runif(n)
  w <- stats::runif(n)
  ifelse(level == 1L, ifelse(u < zero, 0, low * w),
         ifelse(level == 2L, mid[1] + mid[2] * w,
                ifelse(u < top, high[1] + high[2] * w,
                       pmin(tail[1] + stats::rexp(n, 1 / tail[2]), cap))))
}

# Ordinal-logit level (1, 2, 3) from scores and uniforms, mixed with uniform.
sim_sepsis_level <- function(score, intercept, uniform, u) {
  e0 <- intercept[1]
  e1 <- score + intercept[2]
  e2 <- 2 * score + intercept[3]
  m <- pmax(e0, e1, e2)
  e0 <- exp(e0 - m)
  e1 <- exp(e1 - m)
  e2 <- exp(e2 - m)
  tot <- e0 + e1 + e2
  c1 <- (1 - uniform) * e0 / tot + uniform / 3
  c2 <- c1 + (1 - uniform) * e1 / tot + uniform / 3
  1L + (u > c1) + (u > c2)
}

#' Simulate a sepsis cohort with hidden treatment-response subgroups
#'
#' A synthetic ICU cohort in the schema of [sepsis_cohort()] (AI-Clinician
#' `MIMICtable` names and column types): one row per ICU stay and 4-hour
#' block, vitals and labs with missing values, the IV fluid volume and the
#' maximum vasopressor dose of each block chosen by simulated clinicians,
#' SOFA, SIRS, demographics and outcomes. Each stay belongs to a hidden
#' subgroup whose SOFA responds differently to fluids and vasopressors, and
#' the truth is returned, so that [sepsis_data()] and [p4l()] can be checked
#' on it, and so that users without ICU data can run the sepsis workflow.
#'
#' @section Subgroups and dynamics:
#' Each stay has a latent severity \eqn{z_t} on the SOFA scale. Its mean
#' level \eqn{\mu_i \sim N(7, 2.5^2)}{mu_i ~ N(7, 2.5^2)} is clipped to
#' \[1, 18\], \eqn{z_1 = \mu_i + N(0, 1.5^2)}{z_1 = mu_i + N(0, 1.5^2)}, and
#' \deqn{z_{t+1} = z_t + 0.15 (\mu_i - z_t) + f_g(F_t) + v_g(V_t) + N(0, 0.8^2),}{z_(t+1) = z_t + 0.15 (mu_i - z_t) + f_g(F_t) + v_g(V_t) + N(0, 0.8^2),}
#' clipped to \[0, 24\], where \eqn{F_t}, \eqn{V_t} are the fluid and
#' vasopressor levels (low, mid, high: the bins of [sepsis_data()]) and
#' \eqn{f_g}, \eqn{v_g} the effects of subgroup \eqn{g} (SOFA points per
#' block; negative is better):
#' \tabular{lll}{
#'   subgroup \tab fluids (low, mid, high) \tab vasopressor (low, mid, high) \cr
#'   `"fluid"` (fluid-responsive) \tab 0.4, -0.2, -0.8 \tab 0, 0.3, 0.8 \cr
#'   `"vaso"` (vasopressor-responsive) \tab 0, 0.3, 0.8 \tab 0.4, -0.2, -0.8 \cr
#'   `"neutral"` \tab 0.2, -0.2, 0.2 \tab 0.2, -0.2, 0.2
#' }
#' So the best action is "fluid high / vaso low" for `"fluid"` stays, "fluid
#' low / vaso high" for `"vaso"` stays and "fluid mid / vaso mid" for
#' `"neutral"` stays, at every block (`params$best.action`). SOFA is
#' \eqn{z_t + N(0, 0.5^2)}{z_t + N(0, 0.5^2)} rounded and clipped to \[0, 24\].
#'
#' @section Vitals and labs:
#' Each vital or lab is, per block, `center + slope * z + shift + b_i + e`,
#' with a stay effect `b_i ~ N(0, between^2)` and noise `e ~ N(0, within^2)`,
#' clipped to its range; skewed labs (Glucose, BUN, Creatinine, SGOT, SGPT,
#' Total_bili, WBC_count, Platelets_count, INR, Arterial_lactate) are
#' generated on the log scale. `params$covariates` lists center, slope,
#' between, within and range of every column. Typical values at SOFA 7 and
#' ranges: GCS 11 (3-15), HR 99/min (40-180), MeanBP 75 mmHg (35-150) with
#' SysBP and DiaBP from a pulse pressure around 45 mmHg, RR 22/min (6-50),
#' SpO2 95% (70-100), Temp_C 37.6 (34-41), FiO2_1 0.56 (0.21-1), Potassium 4.2
#' (2.5-7), Sodium 140 (120-160), Chloride 105 (85-130), Glucose 150 mg/dL
#' (40-600), BUN 35 mg/dL (2-200), Creatinine 2 mg/dL (0.2-12), Magnesium 2
#' (1-4), Calcium 8 (5.5-11), Ionised_Ca 1.09 (0.7-1.5), CO2_mEqL 21.5 (5-45),
#' SGOT 93 (5-5000), SGPT 70 (5-5000) U/L, Total_bili 1.6 mg/dL (0.1-40),
#' Albumin 2.65 g/dL (1-5), Hb 9.8 g/dL (5-17), WBC_count 15 (0.5-80),
#' Platelets_count 131 (5-900), PTT 42 s (20-150), PT 16.6 s (10-60), INR 1.6
#' (0.8-8), Arterial_pH 7.33 (6.9-7.65), paO2 96 mmHg (40-500), paCO2 38.6
#' mmHg (15-100), Arterial_BE -4.2 (-25-20), Arterial_lactate 2.3 mmol/L
#' (0.3-20), HCO3 20.5 (5-45). The subgroups shift a few of them
#' (`params$type.shift`): `"fluid"` stays have a lower MeanBP (-5), a higher
#' HR (+8), lactate, BUN and Hb; `"vaso"` stays a lower MeanBP (-8), higher
#' temperature and WBC. `Shock_Index` is HR / SysBP and `PaO2_FiO2` is
#' paO2 / FiO2_1 (missing when a part is). SIRS counts the criteria
#' temperature > 38 or < 36, HR > 90, RR > 20 or paCO2 < 32, WBC > 12 or < 4
#' (before missing values are made). Urine output per block
#' (`output_4hourly`) is log-normal around 300 mL, less when severe;
#' `mechvent` is 1 while the severity exceeds a stay-specific threshold
#' around 9. Age is \eqn{N(66, 16^2)}{N(66, 16^2)} clipped to \[18, 91\],
#' `Weight_kg` \eqn{N(80, 18^2)}{N(80, 18^2)} clipped to \[40, 200\], gender
#' `"Male"` with probability 0.56; `died_in_hosp` is drawn with probability
#' `plogis(-3 + 0.3 (z_last - 6) + 0.02 (age - 65))`, and `mortality_90d` is 1
#' for those and with probability 0.08 for the others.
#'
#' @section Clinicians (confounding):
#' The clinicians see the block's MeanBP, lactate and severity (not the
#' subgroup). The fluid level is drawn from ordinal logits
#' \eqn{k s_F + c_k}, \eqn{k = 0, 1, 2}, with score
#' \eqn{s_F = -0.08 (MAP - 72) + 0.8 \log(lactate / 2) + 0.1 (z - 7)}{s_F = -0.08 (MAP - 72) + 0.8 log(lactate / 2) + 0.1 (z - 7)}
#' and \eqn{c = (0, -0.5, -1.3)}; the vasopressor level likewise with
#' \eqn{s_V = -0.12 (MAP - 72) + 0.15 (z - 7)}{s_V = -0.12 (MAP - 72) + 0.15 (z - 7)} and
#' \eqn{c = (0, -2, -3.6)}; each mixed with 5% of the uniform choice. The
#' doses within a level: fluids low: 0 mL with probability 0.55, else
#' uniform on (0, 50); mid: uniform on (50, 180); high: uniform on (180,
#' 530) with probability 0.6, else 530 plus an exponential of mean 500 mL
#' (at most 5000). Vasopressor low: 0 with probability 0.85, else uniform on
#' (0, 0.08); mid: uniform on (0.08, 0.22); high: uniform on (0.22, 0.45)
#' with probability 0.7, else 0.45 plus an exponential of mean 0.3 (at most
#' 3) mcg/kg/min. `median_dose_vaso` is the maximum times a uniform on (0.5,
#' 1); `input_total`, `output_total` are cumulated within the stay and
#' `cumulated_balance` is their difference.
#'
#' @section Blocks and missing values:
#' A stay has its maximum number of blocks, `num.blocks[2]`, with probability
#' 0.4 and otherwise a number drawn uniformly from `num.blocks[1]` to
#' `num.blocks[2]`. Its blocks are consecutive: `bloc` starts at a number
#' drawn uniformly so that the stay fits the window of 18 blocks (-24 to +48
#' hours around onset; at 1 when it has 18 blocks or more); `charttime` =
#' -24 + 4 (`bloc` - 1) hours since onset. Vitals and labs are missing
#' completely at random, labs three times as often as vitals, with the rates
#' chosen so that the fraction of missing values over all the vital and lab
#' columns above (not the derived `Shock_Index`, `PaO2_FiO2`) is `missing`
#' (a lab's rate is capped at 1). Demographics, treatments, SOFA, SIRS and
#' outcomes are complete. The missing values are drawn after everything
#' else, so `missing` does not change the stays' courses.
#'
#' @param num.stays Number of ICU stays.
#' @param num.blocks The smallest and largest number of 4-hour blocks per
#'   stay (two whole numbers, at least 2).
#' @param subgroups Named proportions of the subgroups, names among
#'   `"fluid"`, `"vaso"` and `"neutral"`; they are rescaled to sum to 1 and
#'   the counts are the rounded proportions of `num.stays` (exactly, largest
#'   remainders), assigned to stays at random.
#' @param missing Fraction of the vital and lab values that are missing (see
#'   Blocks and missing values), in \[0, 0.5\].
#' @param treatment `NULL` (the simulated clinicians choose the doses, see
#'   Clinicians) or one action label of [sepsis_data()]'s default coding,
#'   such as `"fluid high / vaso low"`, given at every block of every stay.
#'   The random numbers are drawn as with the clinicians, so the same seed
#'   gives the same stays, first blocks and noise: the mean of
#'   `-SOFA` at the next blocks under a fixed treatment is that treatment's
#'   true value (used to validate [persim()]).
#' @param seed Random seed (`NULL` draws one from R's generator). The same
#'   seed and arguments give identical results.
#' @return A list with
#'   \describe{
#'   \item{`data`}{the cohort: a data frame with the columns of
#'     [sepsis_cohort()] (`bloc`, `icustayid` integer, `charttime`,
#'     `onset_hours`, `gender` character, `age`, `died_in_hosp`,
#'     `mortality_90d`, `Weight_kg`, the vitals and labs, `mechvent` integer,
#'     `Shock_Index`, `PaO2_FiO2`, `median_dose_vaso`, `max_dose_vaso`,
#'     `input_total`, `input_4hourly`, `output_total`, `output_4hourly`,
#'     `cumulated_balance`, `SOFA`, `SIRS`), ordered by stay and block.}
#'   \item{`type`}{character vector: each stay's subgroup, named by
#'     `icustayid`.}
#'   \item{`stays`}{data frame, one row per stay: `icustayid`, `type`,
#'     `num.blocks`, `severity` (\eqn{\mu_i}{mu_i}).}
#'   \item{`params`}{the model's parameters (effects, clinicians, covariate
#'     table, the best action of each subgroup).}
#'   \item{`missing`, `seed`}{the missing rate and the seed used.}
#'   }
#' @seealso [sepsis_data()] to turn the cohort into a `p4l_data`;
#'   [sepsis_cohort()] for real ICU data.
#' @examples
#' sim <- sim_sepsis_cohort(num.stays = 50, seed = 1)
#' dim(sim$data)
#' head(sim$data[, c("icustayid", "bloc", "charttime", "MeanBP", "input_4hourly",
#'                   "max_dose_vaso", "SOFA")])
#' table(sim$type)
#' # SOFA change after high fluids, by subgroup
#' d <- sim$data
#' nxt <- c(d$SOFA[-1], NA)
#' nxt[c(d$icustayid[-1] != d$icustayid[-nrow(d)], TRUE)] <- NA
#' high <- d$input_4hourly > 180
#' tapply(nxt - d$SOFA, list(sim$type[as.character(d$icustayid)], high), mean,
#'        na.rm = TRUE)
#' @export
sim_sepsis_cohort <- function(num.stays = 1000, num.blocks = c(3, 18),
                              subgroups = c(fluid = 0.5, vaso = 0.5), missing = 0.1,
                              treatment = NULL, seed = NULL) {
  # The random draws keep this order (the sections below): seeded cohorts must not change.
  N <- check_count(num.stays, "num.stays", lower = 1L)
  nb <- sim_sepsis_check_blocks(num.blocks)
  sim_sepsis_check_subgroups(subgroups)
  missing <- check_number(missing, "missing", lower = 0, upper = 0.5)
  fixed <- sim_sepsis_treatment(treatment)
  seed <- resolve_seed(seed)
  local_seed(seed)
  par <- sim_sepsis_params()
  cov <- par$covariates

  # Stays: subgroup (exact counts by largest remainders), blocks, severity.
  st <- sim_sepsis_stays(N, nb, subgroups, par)
  # Stay effects of the vitals and labs, and their type shifts.
  gen <- cov[!is.na(cov$center), ]
  eff <- sim_sepsis_stay_effects(st$type, gen, par)

  # Courses, block by block (all stays at once).
  Tm <- nb[2]
  crs <- sim_sepsis_courses(st$mu, st$gi, gen, eff, par, fixed, Tm)

  # Long format: the first nblk[i] blocks of each stay's course.
  keep <- outer(seq_len(N), seq_len(Tm), function(i, t) t <= st$nblk[i])
  # row-major order (stay, then block)
  keep.t <- t(keep)
  pos <- which(keep.t)
  si <- (pos - 1L) %/% Tm + 1L        # stay index
  ti <- (pos - 1L) %% Tm + 1L         # block of the stay's course
  n <- length(pos)
  take <- function(M) t(M)[pos]
  z <- take(crs$Z)
  f <- take(crs$Fl)
  v <- take(crs$Va)
  ids <- 200000L + seq_len(N)
  bloc <- as.integer(st$first[si] + ti - 1L)

  # Vitals and labs, blood pressures, SOFA and SIRS.
  ms <- sim_sepsis_measurements(z, si, take(crs$MAP), take(crs$LAC), gen, cov, eff, par)

  # Doses within the levels (the fluid's random draws first, then the vasopressor's).
  fluid <- sim_sepsis_dose(f, zero = 0.55, low = 50, mid = c(50, 130), top = 0.6,
                           high = c(180, 350), tail = c(530, 500), cap = 5000)
  vaso <- sim_sepsis_dose(v, zero = 0.85, low = 0.08, mid = c(0.08, 0.14), top = 0.7,
                          high = c(0.22, 0.23), tail = c(0.45, 0.3), cap = 3)
  vaso.med <- vaso * stats::runif(n, 0.5, 1)
  urine <- pmin(exp(log(300) - 0.12 * (z - 7) + stats::rnorm(n, 0, 0.5)), 3000)
  vent <- as.integer(z > st$vent.threshold[si])
  last.z <- z[c(si[-1L] != si[-n], TRUE)]
  died <- stats::runif(N) < stats::plogis(-3 + 0.3 * (last.z - 6) + 0.02 * (st$age - 65))
  mort90 <- died | stats::runif(N) < 0.08

  # Missing values, drawn last: per column, the number missing is binomial and
  # the rows are a uniform sample (MCAR per value).
  rate <- sim_sepsis_missing_rates(cov, missing)
  data <- data.frame(bloc = bloc, icustayid = ids[si],
                     charttime = par$window.start + par$block.hours * (bloc - 1),
                     onset_hours = st$onset[si],
                     gender = ifelse(st$male, "Male", "Female")[si], age = st$age[si],
                     died_in_hosp = as.integer(died)[si], mortality_90d = as.integer(mort90)[si],
                     Weight_kg = st$weight[si], stringsAsFactors = FALSE)
  for (j in seq_len(nrow(cov))) {
    nm <- cov$name[j]
    x <- if (nm == "SysBP") ms$sys else if (nm == "DiaBP") ms$dia else ms$X[, nm]
    if (rate[j] > 0) x[sample.int(n, stats::rbinom(1L, n, rate[j]))] <- NA_real_
    data[[nm]] <- x
  }
  data <- sim_sepsis_derived_columns(data, si, vent, vaso.med, vaso, fluid, urine, ms$sofa,
                                     ms$sirs)
  rownames(data) <- NULL
  key <- as.character(ids)
  par$missing.rate <- stats::setNames(rate, cov$name)
  list(data = data, type = stats::setNames(st$type, key),
       stays = data.frame(icustayid = ids, type = st$type, num.blocks = st$nblk, severity = st$mu,
                          stringsAsFactors = FALSE),
       params = par, missing = missing, seed = seed)
}
