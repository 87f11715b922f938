# The paper's preprocessing of a sepsis cohort (sepsis_cohort(),
# sim_sepsis_cohort()) into a p4l_data, as a stored recipe that predict()
# reapplies to raw new rows.

# Columns that are never covariates by default: ids and times, treatments
# (and the columns that contain the current block's treatment), SOFA, outcomes.
sepsis_excluded_columns <- function() {
  c("icustayid", "bloc", "charttime", "onset_hours",
    "input_4hourly", "input_total", "max_dose_vaso", "median_dose_vaso", "cumulated_balance",
    "SOFA",
    "died_in_hosp", "mortality_90d", "died_within_48h_of_out_time",
    "delay_end_of_record_and_discharge_or_death")
}

#' The paper's sepsis preprocessing, stored as a recipe
#'
#' `sepsis_data()` turns a sepsis cohort (one row per ICU stay and 4-hour
#' block, as [sepsis_cohort()], [sepsis_demo()] or [sim_sepsis_cohort()] give
#' it) into a [p4l_data()] object with the design of the paper's MIMIC-III
#' application: 3 x 3 dose actions of IV fluid and vasopressor, the reward
#' \eqn{-SOFA} at the next block, and states made of the first principal
#' components of the transformed covariates plus SOFA. Every step is stored
#' in the returned object as a recipe (`$recipe`, class `sepsis_recipe`), so
#' that `predict(recipe, newdata)` reapplies it to raw new rows of the same
#' schema, with the training cohort's medians, means, standard deviations,
#' loadings and bins.
#'
#' @section Actions:
#' `input_4hourly` (IV fluid, mL per block) is cut at `fluid.cuts` (0, 50,
#' 180, 530) into 5 bins: exactly 0; (0, 50\]; (50, 180\]; (180, 530\];
#' above 530 (intervals closed on the right, so 50 mL is in bin 1). The bins
#' are merged into levels by `merge`: by default bins 0 and 1 are "low", bin
#' 2 "mid", bins 3 and 4 "high". `max_dose_vaso` (maximum vasopressor dose in
#' norepinephrine equivalents, mcg/kg/min) is cut at `vaso.cuts` (0, 0.08,
#' 0.22, 0.45) and merged the same way. The action is
#' \eqn{3 \times fluid + vaso}{3 x fluid + vaso} (levels counted from 0), a
#' factor with all 9 levels in this order whether observed or not:
#' "fluid low / vaso low", "fluid low / vaso mid", "fluid low / vaso high",
#' "fluid mid / vaso low", ..., "fluid high / vaso high". A missing or
#' negative dose is an error. The recipe and `predict()` keep the nine
#' levels; the `p4l_data` has the actions that occur (a policy can only be
#' learned among those), in the same order, and a message names any that
#' never occur.
#'
#' @section Reward and the last block:
#' The reward of block \eqn{t} is \eqn{-SOFA_{t+1}}{-SOFA_(t+1)}, SOFA at the
#' stay's next block (its next row by `time`; [sepsis_cohort()]'s blocks are
#' consecutive), as in the paper; with `reward = "change"` it is
#' \eqn{-(SOFA_{t+1} - SOFA_t)}{-(SOFA_(t+1) - SOFA_t)}, the improvement.
#' Missing SOFA values are filled as the covariates are (below) before the
#' reward is computed. The last block of a stay has no next block and so no
#' reward: its action is not used and its state is the final state of the
#' stay's last transition (the rule of [p4l_data()]'s `last = "drop"`); a
#' message gives the count. Stays with a single block have no transition and
#' are dropped, with a message.
#'
#' @section States:
#' The covariates are, by default, the columns of `cohort` that are numeric,
#' or logical, factor or character with two values (such as `gender`, coded
#' 1 for its second level in sorted order, e.g. "Male", or for a factor its
#' second level), except ids and times (`icustayid`, `bloc`, `charttime`,
#' `onset_hours` and the columns named by `id` and `time`), treatments and the
#' columns that contain the current block's treatment (`input_4hourly`,
#' `input_total`, `max_dose_vaso`, `median_dose_vaso`, `cumulated_balance`
#' and the columns named by `fluid` and `vaso`), SOFA (`sofa`) and outcomes
#' (`died_in_hosp`, `mortality_90d`, `died_within_48h_of_out_time`,
#' `delay_end_of_record_and_discharge_or_death`). Default covariates that
#' are missing on every row or constant after filling are left out with a
#' message. Each covariate is then
#' 1. log-transformed, \eqn{\log(1 + x)}{log(1 + x)}, when it is among
#'    `log.columns`: by default the right-skewed labs and volumes BUN,
#'    Creatinine, SGOT, SGPT, Total_bili, INR, Arterial_lactate,
#'    output_total and output_4hourly (AI-Clinician's log-transformed
#'    columns, without SpO2, which is skewed to the left, and the treatment
#'    volumes, which are actions here, plus lactate);
#' 2. filled where missing: by the last value observed earlier in the same
#'    stay (by `time`), else (no earlier value) by the cohort's median of the
#'    observed (transformed) values;
#' 3. standardised with the cohort's mean and standard deviation of the
#'    filled values.
#'
#' The states are the first `num.pcs` principal components of the
#' standardised matrix ([stats::prcomp()], each loading vector signed so that
#' its largest entry in absolute value is positive), named `PC1`, `PC2`,
#' ..., and, with `sofa.state = TRUE`, SOFA itself (filled as above, not
#' standardised), as in the paper's 10 components plus SOFA. The paper chose
#' 10 components that explain at least 95% of the variance of its 41
#' covariates; `print(d$recipe)` reports the share the chosen components
#' explain here.
#'
#' @section Reapplying the recipe:
#' `predict(d$recipe, newdata)` applies the stored steps to raw rows of the
#' cohort schema: the same covariates (missing values allowed), filled by the
#' last value earlier in the same stay of `newdata`, else by the training
#' median, and standardised and projected with the training means, standard
#' deviations and loadings (never the new rows' own). Its result has the id,
#' time and state columns, and the `action` and `reward` columns of the
#' `p4l_data` when `newdata` has the treatment and SOFA columns, so it goes
#' straight into [predict.p4l_policy()]: `predict(fit, predict(d$recipe,
#' new.rows))` gives the recommended action of each new row. A stay that was
#' not in the training data is placed by a P4L fit from its blocks (its
#' transitions, see [p4l_assign()]); a new stay with a single block has no
#' transition, so use `history = FALSE` to leave out action and reward, and
#' the fit's rule for individuals without a history applies.
#'
#' @param cohort A data frame, one row per ICU stay and block, with the
#'   columns of [sepsis_cohort()] (at least `id`, `time`, `fluid`, `vaso`,
#'   `sofa` and the covariates; other columns are optional).
#' @param num.pcs Number of principal components in the state (at most the
#'   number of covariates).
#' @param covariates `NULL` (the default set, see States) or the names of
#'   the covariate columns.
#' @param log.columns Covariates transformed by \eqn{\log(1 + x)}{log(1 + x)}
#'   (see States); names not among the covariates are ignored for the
#'   default and an error otherwise. Their values must be at least 0.
#' @param fluid.cuts,vaso.cuts Increasing cut points of the IV fluid volume
#'   and of the vasopressor dose (the first usually 0, so that "none" is a
#'   bin of its own); the same number for both.
#' @param merge Level of each bin, one whole number per bin (one more than
#'   the cuts), non-decreasing, from 1 to `length(level.names)`, each level
#'   used.
#' @param level.names Names of the merged levels, in increasing dose order.
#' @param reward `"sofa"`: \eqn{-SOFA_{t+1}}{-SOFA_(t+1)}; `"change"`:
#'   \eqn{-(SOFA_{t+1} - SOFA_t)}{-(SOFA_(t+1) - SOFA_t)}.
#' @param sofa.state Add SOFA to the principal components in the state.
#' @param id,time,fluid,vaso,sofa Names of the stay id, block, IV fluid,
#'   vasopressor and SOFA columns.
#' @return A [p4l_data()] object (id `id`, time `time`, action `"action"`,
#'   reward `"reward"`, states `PC1`, ..., `SOFA`) with one more element,
#'   `recipe`: a `sepsis_recipe` list (plain R data) with `columns` (the id,
#'   time, fluid, vaso and SOFA column names), `covariates`, `coding` (per
#'   covariate: `"numeric"`, or `"binary"` with the two levels),
#'   `log.columns`, `median`, `mean`, `sd` (per covariate, on the
#'   transformed scale), `center` and `rotation` (the PCA's centre of the
#'   standardised matrix, zero up to rounding, and the covariates x
#'   `num.pcs` loadings), `sdev` (all components' standard deviations),
#'   `num.pcs`, `state.names`, `sofa.state`, `sofa.median`, `fluid.cuts`,
#'   `vaso.cuts`, `merge`, `level.names`, `action.levels`, `reward`,
#'   `dropped` (default covariates left out, with the reason), and the
#'   numbers of stays and blocks it was learned from.
#' @references Raghu A, Komorowski M, Ahmed I, Celi L, Szolovits P, Ghassemi M
#'   (2017). Deep reinforcement learning for sepsis treatment.
#'   arXiv:1711.09602.
#'
#'   Komorowski M, Celi LA, Badawi O, Gordon AC, Faisal AA (2018). The
#'   Artificial Intelligence Clinician learns optimal treatment strategies
#'   for sepsis in intensive care. Nature Medicine 24, 1716-1720.
#' @seealso [predict.sepsis_recipe()]; [sim_sepsis_cohort()] for a synthetic
#'   cohort.
#' @examples
#' sim <- sim_sepsis_cohort(num.stays = 60, seed = 1)
#' d <- sepsis_data(sim$data)
#' d
#' d$recipe
#' table(as.data.frame(d)$action)
#'
#' # Fit on some stays, recommend doses for raw rows of others
#' train <- sim$data[sim$data$icustayid %in% head(unique(sim$data$icustayid), 40), ]
#' new.rows <- sim$data[!sim$data$icustayid %in% train$icustayid, ]
#' d <- sepsis_data(train)
#' fit <- fqi(d, basis = rbf_basis(d, num.centers = 8, seed = 1), seed = 1)
#' rec <- predict(fit, predict(d$recipe, new.rows))
#' table(rec)
#' @export
sepsis_data <- function(cohort, num.pcs = 10, covariates = NULL,
                        log.columns = c("BUN", "Creatinine", "SGOT", "SGPT", "Total_bili", "INR",
                                        "Arterial_lactate", "output_total", "output_4hourly"),
                        fluid.cuts = c(0, 50, 180, 530), vaso.cuts = c(0, 0.08, 0.22, 0.45),
                        merge = c(1, 1, 2, 3, 3), level.names = c("low", "mid", "high"),
                        reward = c("sofa", "change"), sofa.state = TRUE, id = "icustayid",
                        time = "bloc", fluid = "input_4hourly", vaso = "max_dose_vaso",
                        sofa = "SOFA") {
  if (!is.data.frame(cohort)) {
    stop_arg("`cohort` must be a data frame; got an object of class '", class(cohort)[1], "'.")
  }
  num.pcs <- check_count(num.pcs, "num.pcs", lower = 1L)
  reward <- check_choice(reward, c("sofa", "change"), "reward")
  check_flag(sofa.state, "sofa.state")
  cols <- sepsis_check_columns(list(id = id, time = time, fluid = fluid, vaso = vaso,
                                    sofa = sofa), cohort)
  if (nrow(cohort) == 0L) stop_arg("`cohort` has no rows.")
  bins <- check_bins(fluid.cuts, vaso.cuts, merge, level.names)

  # Sorted by stay and time; stays with one block dropped.
  check_id_time(cohort, id, time, "cohort")
  st <- sepsis_sorted_stays(cohort, id, time)
  X <- st$X
  grp <- st$grp

  # Covariates.
  default.cov <- is.null(covariates)
  covariates <- sepsis_covariates(X, covariates, cols)
  if (!is.character(log.columns) || anyNA(log.columns)) {
    stop_arg("`log.columns` must be a character vector of covariate names.")
  }
  if (!missing(log.columns)) {
    bad <- setdiff(log.columns, covariates)
    if (length(bad) > 0L) {
      stop_arg("`log.columns` names '", bad[1], "', which is not a covariate.")
    }
  }
  cv <- sepsis_fill_covariates(X, covariates, log.columns, grp, default.cov)
  coding <- cv$coding
  logc <- cv$logc
  med <- cv$med
  filled <- cv$filled
  mu <- cv$mu
  s <- cv$s
  dropped <- cv$dropped
  keep <- cv$keep
  keep <- keep[s[keep] > 0]
  if (length(keep) == 0L) stop_arg("`cohort` has no usable covariate.")
  if (num.pcs > length(keep)) {
    stop_arg("`num.pcs` (", num.pcs, ") must be at most the number of covariates (",
             length(keep), ").")
  }
  Z <- sweep(sweep(do.call(cbind, filled[keep]), 2, mu[keep], "-"), 2, s[keep], "/")
  pca <- stats::prcomp(Z, center = TRUE, scale. = FALSE)
  rot <- sepsis_rotation(pca, num.pcs)

  sofa.raw <- X[[sofa]]
  if (!is.numeric(sofa.raw)) {
    stop_arg("Column '", sofa, "' (`sofa`) must be numeric; it is ", class(sofa.raw)[1], ".")
  }
  if (all(is.na(sofa.raw))) stop_arg("Column '", sofa, "' (`sofa`) is missing on every row.")
  recipe <- list(
    columns = cols, covariates = keep, coding = coding[keep], log.columns = intersect(keep, logc),
    median = med[keep], mean = mu[keep], sd = s[keep], center = pca$center,
    rotation = rot, sdev = pca$sdev, num.pcs = num.pcs,
    state.names = c(colnames(rot), if (sofa.state) sofa), sofa.state = sofa.state,
    sofa.median = stats::median(sofa.raw, na.rm = TRUE),
    fluid.cuts = bins$fluid.cuts, vaso.cuts = bins$vaso.cuts, merge = bins$merge,
    level.names = bins$level.names, action.levels = bins$action.levels, reward = reward,
    dropped = dropped, num.stays = length(unique(grp)), num.blocks = nrow(X))
  class(recipe) <- "sepsis_recipe"

  sepsis_training_data(recipe, X, grp, id, time)
}

# The covariates coded (covariate_coding()), log1p-transformed (log.columns),
# carried forward within each stay and filled with their medians; those
# missing on every row or constant dropped (an error when given, a message
# when chosen by default). Returns list(coding, logc, med, filled, mu, s,
# dropped, keep), keep the covariates left before the constant ones go.
sepsis_fill_covariates <- function(X, covariates, log.columns, grp, default.cov) {
  dropped <- character(0)
  coding <- lapply(covariates, function(nm) covariate_coding(X[[nm]], nm))
  names(coding) <- covariates
  raw <- lapply(covariates, function(nm) code_covariate(X[[nm]], coding[[nm]], "cohort"))
  names(raw) <- covariates
  logc <- intersect(covariates, log.columns)
  for (nm in logc) raw[[nm]] <- log1p_checked(raw[[nm]], nm, "cohort")
  med <- vapply(raw, function(x) if (all(is.na(x))) NA_real_ else stats::median(x, na.rm = TRUE),
                numeric(1))
  empty <- covariates[is.na(med)]
  if (length(empty) > 0L) {
    if (!default.cov) {
      stop_arg("Covariate column '", empty[1], "' is missing on every row of `cohort`.")
    }
    dropped <- c(dropped, stats::setNames(rep("missing on every row", length(empty)), empty))
  }
  keep <- covariates[!is.na(med)]
  filled <- lapply(keep, function(nm) {
    x <- locf_within(raw[[nm]], grp)
    x[is.na(x)] <- med[[nm]]
    x
  })
  names(filled) <- keep
  mu <- vapply(filled, mean, numeric(1))
  s <- vapply(filled, stats::sd, numeric(1))
  flat <- keep[!(s > 0)]
  if (length(flat) > 0L) {
    if (!default.cov) {
      stop_arg("Covariate column '", flat[1], "' is constant in `cohort` (after filling ",
               "missing values); it cannot be standardised.")
    }
    dropped <- c(dropped, stats::setNames(rep("constant", length(flat)), flat))
  }
  if (length(dropped) > 0L) {
    message("sepsis_data(): left out the covariate(s) ",
            paste0("'", names(dropped), "' (", dropped, ")", collapse = ", "), ".")
  }
  list(coding = coding, logc = logc, med = med, filled = filled, mu = mu, s = s,
       dropped = dropped, keep = keep)
}

# The role columns (`cols`: id, time, fluid, vaso, sofa): each the name of
# one column of `cohort`.
sepsis_check_columns <- function(cols, cohort) {
  for (nm in names(cols)) {
    v <- cols[[nm]]
    if (!is.character(v) || length(v) != 1L || is.na(v) || !nzchar(v)) {
      stop_arg("`", nm, "` must be the name of one column of `cohort`.")
    }
    if (!(v %in% names(cohort))) {
      stop_arg("`cohort` lacks the column '", v, "' (`", nm, "`).")
    }
  }
  cols
}

# The cohort sorted by stay and time, without the stays of a single block
# (with a message). Returns list(X, grp), grp the stay index of each row.
sepsis_sorted_stays <- function(cohort, id, time) {
  ord <- order(cohort[[id]], cohort[[time]], method = "radix")
  X <- cohort[ord, , drop = FALSE]
  rownames(X) <- NULL
  grp <- match(X[[id]], unique(X[[id]]))
  size <- tabulate(grp)
  if (any(size < 2L)) {
    single <- size[grp] < 2L
    message("sepsis_data(): dropped ", sum(size < 2L), " stay(s) with a single block ",
            "(no transition).")
    X <- X[!single, , drop = FALSE]
    if (nrow(X) == 0L) stop_arg("No stay of `cohort` has two or more blocks.")
    rownames(X) <- NULL
    grp <- match(X[[id]], unique(X[[id]]))
  }
  list(X = X, grp = grp)
}

# The covariate columns: by default every column of X that is not a role or
# excluded column and is numeric or binary; given, checked.
sepsis_covariates <- function(X, covariates, cols) {
  if (is.null(covariates)) {
    reserved <- unique(c(sepsis_excluded_columns(), unlist(cols)))
    cand <- setdiff(names(X), reserved)
    ok <- vapply(cand, function(nm) covariate_kind(X[[nm]]) != "other", logical(1))
    return(cand[ok])
  }
  if (!is.character(covariates) || length(covariates) == 0L || anyNA(covariates) ||
      anyDuplicated(covariates)) {
    stop_arg("`covariates` must be NULL or distinct column names of `cohort`.")
  }
  miss <- setdiff(covariates, names(X))
  if (length(miss) > 0L) {
    stop_arg("`cohort` lacks the covariate column(s) ", paste0("'", miss, "'", collapse = ", "),
             " (`covariates`).")
  }
  clash <- intersect(covariates, unlist(cols))
  if (length(clash) > 0L) {
    stop_arg("`covariates` may not include the ", names(cols)[match(clash[1], unlist(cols))],
             " column '", clash[1], "'.")
  }
  for (nm in covariates) {
    if (covariate_kind(X[[nm]]) == "other") {
      stop_arg("Covariate column '", nm, "' must be numeric, or take two values; it is ",
               class(X[[nm]])[1], if (!is.numeric(X[[nm]])) " with more than two values", ".")
    }
  }
  covariates
}

# The first num.pcs principal axes, each signed so that its largest loading
# is positive, named PC1, PC2, ...
sepsis_rotation <- function(pca, num.pcs) {
  rot <- pca$rotation[, seq_len(num.pcs), drop = FALSE]
  flip <- sign(rot[cbind(apply(abs(rot), 2, which.max), seq_len(num.pcs))])
  rot <- sweep(rot, 2, flip, "*")
  colnames(rot) <- paste0("PC", seq_len(num.pcs))
  rot
}

# The p4l_data of sepsis_data(): the recipe applied to the training rows X
# (sorted, stay index grp), each stay's last block without an action.
sepsis_training_data <- function(recipe, X, grp, id, time) {
  out <- sepsis_apply(recipe, X, arg = "cohort", history = TRUE, sorted = TRUE)
  last <- c(grp[-1L] != grp[-length(grp)], TRUE)
  out$action[last] <- NA
  message("sepsis_data(): the last block of each of the ", sum(last), " stays has no next ",
          "block and so no reward; its action is not used (its state ends the stay's last ",
          "transition).")
  unseen <- setdiff(recipe$action.levels, as.character(out$action[!last]))
  if (length(unseen) > 0L) {
    message("sepsis_data(): the action(s) ", paste0("'", unseen, "'", collapse = ", "),
            " never occur (before a stay's last block); the p4l_data has the other ",
            length(recipe$action.levels) - length(unseen), ".")
  }
  d <- p4l_data(out, id = id, time = time, action = "action", reward = "reward",
                state = recipe$state.names, last = "drop")
  d$recipe <- recipe
  d
}

# "numeric", "binary" (logical, factor or character with two values) or "other".
covariate_kind <- function(x) {
  if (is.numeric(x)) return("numeric")
  if (is.logical(x) || is.factor(x) || is.character(x)) {
    v <- unique(as.character(x[!is.na(x)]))
    if (length(v) == 2L) return("binary")
  }
  "other"
}

covariate_coding <- function(x, column) {
  if (is.numeric(x)) return(list(column = column, type = "numeric", levels = NULL))
  levs <- if (is.factor(x)) intersect(levels(x), as.character(x)) else
    sort(unique(as.character(x[!is.na(x)])), method = "radix")
  list(column = column, type = "binary", levels = levs)
}

# A covariate as a double vector in its coding (binary: 1 for the second level).
code_covariate <- function(x, cd, arg) {
  if (cd$type == "numeric") {
    if (!is.numeric(x)) {
      stop_arg("Column '", cd$column, "' of `", arg, "` must be numeric; it is ", class(x)[1], ".")
    }
    x <- as.double(x)
    bad <- which(!is.na(x) & !is.finite(x))
    if (length(bad) > 0L) {
      stop_arg("Column '", cd$column, "' of `", arg, "` is not finite at row ", bad[1], ".")
    }
    return(x)
  }
  v <- as.character(x)
  unseen <- setdiff(unique(v[!is.na(v)]), cd$levels)
  if (length(unseen) > 0L) {
    stop_arg("Column '", cd$column, "' of `", arg, "` has the value '", unseen[1],
             "', which the training cohort did not have (values: ",
             paste(cd$levels, collapse = ", "), ").")
  }
  as.double(v == cd$levels[2])
}

log1p_checked <- function(x, column, arg) {
  bad <- which(!is.na(x) & x < 0)
  if (length(bad) > 0L) {
    stop_arg("Column '", column, "' of `", arg, "` is log-transformed (`log.columns`) but is ",
             "negative at row ", bad[1], " (", format(x[bad[1]]), ").")
  }
  log1p(x)
}

# Last observation carried forward within groups (rows sorted by group).
locf_within <- function(x, grp) {
  na <- is.na(x)
  if (!any(na)) return(x)
  idx <- seq_along(x)
  prev <- cummax(ifelse(na, 0L, idx))
  ok <- na & prev > 0L & grp[pmax(prev, 1L)] == grp
  x[ok] <- x[prev[ok]]
  x
}

check_id_time <- function(df, id, time, arg) {
  if (anyNA(df[[id]])) {
    stop_arg("The id column '", id, "' of `", arg, "` is missing at row ",
             which(is.na(df[[id]]))[1], ".")
  }
  tm <- df[[time]]
  if (!is.numeric(tm) || anyNA(tm)) {
    stop_arg("The time column '", time, "' of `", arg, "` must be numeric without missing ",
             "values.")
  }
  key <- paste(id_key(df[[id]]), tm)
  if (anyDuplicated(key)) {
    r <- which(duplicated(key))[1]
    stop_arg("`", arg, "` has two rows for stay ", format(df[[id]][r]), " at ", time, " ",
             format(tm[r]), ".")
  }
  invisible()
}

check_bins <- function(fluid.cuts, vaso.cuts, merge, level.names) {
  for (nm in c("fluid.cuts", "vaso.cuts")) {
    v <- get(nm)
    if (!is.numeric(v) || length(v) < 1L || any(!is.finite(v)) || any(diff(v) <= 0)) {
      stop_arg("`", nm, "` must be increasing finite numbers.")
    }
  }
  if (length(fluid.cuts) != length(vaso.cuts)) {
    stop_arg("`fluid.cuts` and `vaso.cuts` must have the same number of cuts (they share ",
             "`merge`).")
  }
  if (!is.character(level.names) || length(level.names) < 2L || anyNA(level.names) ||
      anyDuplicated(level.names) || !all(nzchar(level.names))) {
    stop_arg("`level.names` must be at least two distinct names.")
  }
  k <- length(level.names)
  if (!is.numeric(merge) || length(merge) != length(fluid.cuts) + 1L || anyNA(merge) ||
      any(merge != round(merge)) || any(diff(merge) < 0) || !setequal(merge, seq_len(k))) {
    stop_arg("`merge` must give a level (1 to ", k, ") to each of the ", length(fluid.cuts) + 1L,
             " bins, non-decreasing, using every level.")
  }
  labs <- paste0("fluid ", rep(level.names, each = k), " / vaso ", rep(level.names, k))
  list(fluid.cuts = as.numeric(fluid.cuts), vaso.cuts = as.numeric(vaso.cuts),
       merge = as.integer(merge), level.names = level.names, action.levels = labs)
}

# Level (1..k) of doses: bin = number of cuts strictly below the dose.
dose_level <- function(x, cuts, merge, column, arg) {
  if (!is.numeric(x)) {
    stop_arg("Column '", column, "' of `", arg, "` must be numeric; it is ", class(x)[1], ".")
  }
  bad <- which(is.na(x) | x < 0 | !is.finite(x))
  if (length(bad) > 0L) {
    stop_arg("Column '", column, "' of `", arg, "` is ",
             if (is.na(x[bad[1]])) "missing" else "negative or not finite", " at row ",
             bad[1], "; every block needs a dose (0 when none was given).")
  }
  merge[findInterval(x, cuts, left.open = TRUE) + 1L]
}

# The recipe applied to raw rows: a data frame with the id, time and state
# columns, and (history) the action and reward columns when newdata has the
# treatment and SOFA columns. Rows in the order of newdata (`sorted`: already
# sorted by id and time).
sepsis_apply <- function(recipe, newdata, arg = "newdata", history = TRUE, sorted = FALSE) {
  cols <- recipe$columns
  for (nm in c("id", "time")) {
    if (!(cols[[nm]] %in% names(newdata))) {
      stop_arg("`", arg, "` lacks the ", nm, " column '", cols[[nm]], "'.")
    }
  }
  miss <- setdiff(c(recipe$covariates, if (recipe$sofa.state) cols$sofa), names(newdata))
  if (length(miss) > 0L) {
    stop_arg("`", arg, "` lacks the column(s) ", paste0("'", miss, "'", collapse = ", "),
             " that the recipe uses.")
  }
  n <- nrow(newdata)
  if (sorted) {
    ord <- seq_len(n)
  } else {
    check_id_time(newdata, cols$id, cols$time, arg)
    ord <- order(newdata[[cols$id]], newdata[[cols$time]], method = "radix")
  }
  X <- newdata[ord, , drop = FALSE]
  grp <- match(id_key(X[[cols$id]]), unique(id_key(X[[cols$id]])))
  p <- length(recipe$covariates)
  Z <- matrix(0, n, p)
  for (j in seq_len(p)) {
    nm <- recipe$covariates[j]
    x <- code_covariate(X[[nm]], recipe$coding[[nm]], arg)
    if (nm %in% recipe$log.columns) x <- log1p_checked(x, nm, arg)
    x <- locf_within(x, grp)
    x[is.na(x)] <- recipe$median[[nm]]
    Z[, j] <- (x - recipe$mean[[nm]]) / recipe$sd[[nm]]
  }
  S <- sweep(Z, 2, recipe$center, "-") %*% recipe$rotation
  out <- data.frame(X[[cols$id]], X[[cols$time]], stringsAsFactors = FALSE)
  names(out) <- c(cols$id, cols$time)
  for (j in seq_len(ncol(S))) out[[colnames(recipe$rotation)[j]]] <- S[, j]
  has.sofa <- cols$sofa %in% names(newdata)
  if (has.sofa) {
    sf <- X[[cols$sofa]]
    if (!is.numeric(sf)) {
      stop_arg("Column '", cols$sofa, "' of `", arg, "` must be numeric; it is ", class(sf)[1],
               ".")
    }
    sf <- locf_within(as.double(sf), grp)
    sf[is.na(sf)] <- recipe$sofa.median
    if (recipe$sofa.state) out[[cols$sofa]] <- sf
  }
  if (history && all(c(cols$fluid, cols$vaso) %in% names(newdata))) {
    lf <- dose_level(X[[cols$fluid]], recipe$fluid.cuts, recipe$merge, cols$fluid, arg)
    lv <- dose_level(X[[cols$vaso]], recipe$vaso.cuts, recipe$merge, cols$vaso, arg)
    k <- length(recipe$level.names)
    out$action <- factor(recipe$action.levels[(lf - 1L) * k + lv], levels = recipe$action.levels)
    if (has.sofa) {
      last <- c(grp[-1L] != grp[-n], TRUE)
      nxt <- c(sf[-1L], NA_real_)
      nxt[last] <- NA_real_
      out$reward <- if (recipe$reward == "sofa") -nxt else -(nxt - sf)
    }
  }
  out <- out[order(ord), , drop = FALSE]
  rownames(out) <- NULL
  out
}

#' Reapply a sepsis preprocessing recipe to raw rows
#'
#' The steps of [sepsis_data()], with the training cohort's statistics, on
#' raw rows of the cohort schema (see [sepsis_data()], Reapplying the
#' recipe).
#'
#' @param object A `sepsis_recipe` (`sepsis_data(...)$recipe`).
#' @param newdata A data frame with the id and time columns and the recipe's
#'   covariates (missing values allowed; filled by the last earlier value of
#'   the same stay in `newdata`, else the training median), SOFA when it is a
#'   state, and optionally the IV fluid and vasopressor columns.
#' @param history Add the `action` column (when `newdata` has both treatment
#'   columns) and the `reward` column (also needs SOFA; `NA` at each stay's
#'   last row), so that a P4L fit places new stays from their blocks.
#' @param ... Unused.
#' @return A data frame with one row per row of `newdata`, in its order: the
#'   id and time columns, the states (`PC1`, ..., and SOFA when it is a
#'   state), and with `history` the `action` (factor with the recipe's
#'   `action.levels`) and `reward` columns.
#' @examples
#' sim <- sim_sepsis_cohort(num.stays = 40, seed = 2)
#' d <- sepsis_data(sim$data)
#' new <- sim_sepsis_cohort(num.stays = 3, seed = 3)$data
#' head(predict(d$recipe, new))
#' # states only
#' head(predict(d$recipe, new[, setdiff(names(new), "input_4hourly")]))
#' @export
predict.sepsis_recipe <- function(object, newdata, history = TRUE, ...) {
  if (!is.data.frame(newdata)) {
    stop_arg("`newdata` must be a data frame; got an object of class '", class(newdata)[1], "'.")
  }
  check_flag(history, "history")
  if (nrow(newdata) == 0L) stop_arg("`newdata` has no rows.")
  sepsis_apply(object, newdata, arg = "newdata", history = history)
}

#' @export
print.sepsis_recipe <- function(x, ...) {
  cat("<sepsis_recipe> learned from ", x$num.stays, " stays, ", x$num.blocks, " blocks\n",
      sep = "")
  cat("  covariates (", length(x$covariates), "): ", paste(x$covariates, collapse = ", "), "\n",
      sep = "")
  if (length(x$log.columns) > 0L) {
    cat("  log(1 + x): ", paste(x$log.columns, collapse = ", "), "\n", sep = "")
  }
  if (length(x$dropped) > 0L) {
    cat("  left out: ", paste0(names(x$dropped), " (", x$dropped, ")", collapse = ", "), "\n",
        sep = "")
  }
  cat("  missing values: last value in the stay, else the cohort median\n")
  share <- sum(x$sdev[seq_len(x$num.pcs)]^2) / sum(x$sdev^2)
  cat("  states: ", x$num.pcs, " principal components (", format(round(100 * share, 1)),
      "% of the variance)", if (x$sofa.state) paste0(" + ", x$columns$sofa), "\n", sep = "")
  cat("  actions: ", length(x$action.levels), " = fluid (", x$columns$fluid, ", cuts ",
      paste(x$fluid.cuts, collapse = ", "), ") x vaso (", x$columns$vaso, ", cuts ",
      paste(x$vaso.cuts, collapse = ", "), "); bins -> levels ",
      paste(x$merge, collapse = ", "), " (", paste(x$level.names, collapse = ", "), ")\n",
      sep = "")
  cat("  reward: ", if (x$reward == "sofa") paste0("-", x$columns$sofa, " at the next block") else
    paste0("-(change of ", x$columns$sofa, " to the next block)"), "\n", sep = "")
  invisible(x)
}
