# The sepsis cohort: an AI-Clinician-style table (one row per ICU stay and
# block of hours around Sepsis-3 onset) extracted from ICU data through ricu,
# and the derived MIMIC-III demo cohort shipped in inst/extdata.

# AI-Clinician column -> ricu concept, for block means of measurements.
sepsis_mean_concepts <- function() {
  c(GCS = "gcs", HR = "hr", SysBP = "sbp", MeanBP = "map", DiaBP = "dbp", RR = "resp",
    SpO2 = "o2sat", Temp_C = "temp", FiO2_1 = "fio2", Potassium = "k", Sodium = "na",
    Chloride = "cl", Glucose = "glu", BUN = "bun", Creatinine = "crea", Magnesium = "mg",
    Calcium = "ca", Ionised_Ca = "cai", CO2_mEqL = "tco2", SGOT = "ast", SGPT = "alt",
    Total_bili = "bili", Albumin = "alb", Hb = "hgb", WBC_count = "wbc",
    Platelets_count = "plt", PTT = "ptt", PT = "pt", INR = "inr_pt", Arterial_pH = "ph",
    paO2 = "po2", paCO2 = "pco2", Arterial_BE = "be", Arterial_lactate = "lact",
    HCO3 = "bicar")
}

# The columns of sepsis_cohort() in order (AI-Clinician's MIMICtable order, with
# the columns ricu cannot supply left out and onset_hours added).
sepsis_columns <- function() {
  m <- names(sepsis_mean_concepts())
  c("bloc", "icustayid", "charttime", "onset_hours", "gender", "age", "died_in_hosp",
    "mortality_90d", "Weight_kg", m, "mechvent", "Shock_Index",
    "PaO2_FiO2", "median_dose_vaso", "max_dose_vaso", "input_total", "input_4hourly",
    "output_total", "output_4hourly", "cumulated_balance", "SOFA", "SIRS")
}

# MIMIC-III inputevents_mv order categories counted as IV fluids (also MIMIC-IV).
sepsis_fluid_categories <- function() {
  c("02-Fluids (Crystalloids)", "03-IV Fluid Bolus", "04-Fluids (Colloids)")
}

# MIMIC-III CareVue items (d_items labels of inputevents_cv) counted as IV fluids:
# crystalloid and colloid solutions; blood products, nutrition, oral or gastric
# intake, flushes and drug carriers are not fluids here.
sepsis_cv_fluid_pattern <- function() {
  paste0("saline|^\\.45% ?ns|^\\.9% ?ns|^d5|dextrose|ringer|^lr$|^d5rl$|albumin|hespan|",
         "hetastarch|plasma ?lyte|crystalloid|colloid|dextran|voluven|bicarbonate")
}

sepsis_cv_fluid_exclude <- function() "flush|free water|tpn|lipid|amino|kphos|ampho"

#' Sepsis cohort from ICU data (AI-Clinician style)
#'
#' Builds the sepsis cohort of Komorowski et al.'s AI Clinician from an ICU
#' database read through the \pkg{ricu} package: one row per ICU stay and block
#' of `block.hours` hours around the Sepsis-3 onset, from `window[1]` to
#' `window[2]` hours, with block means of vital signs and laboratory values, the
#' IV fluid volume and the maximum vasopressor dose of each block, SOFA, SIRS,
#' demographics and outcomes. Column names follow AI-Clinician's `MIMICtable`
#' as far as \pkg{ricu} can supply them. The result is a plain data frame,
#' ready for [p4l_data()] (for example with `na.action = "locf"`).
#'
#' @section Cohort:
#' Sepsis onset is the first hour at which \pkg{ricu}'s `sep3` concept (Sepsis-3:
#' suspected infection and an increase of SOFA by 2 or more, with \pkg{ricu}'s
#' defaults) is met, in whole hours since ICU admission (`onset_hours`; it can
#' be negative when the infection was suspected before admission). Block `b`
#' (`bloc`, 1, 2, ...) covers the hours `[w + (b - 1) h, w + b h)` since onset,
#' with `w = window[1]` and `h = block.hours`; `charttime` is the block's start
#' in hours since onset. A stay has the blocks that overlap its ICU stay (from
#' ICU admission to ICU discharge, \pkg{ricu}'s `los_icu`) inside the window;
#' stays with fewer than `min.blocks` such blocks are dropped. Blocks are
#' consecutive, so a stay's rows are `bloc` = first, ..., last.
#'
#' @section Columns:
#' \describe{
#'   \item{`bloc`, `icustayid`, `charttime`}{block number (integer, from 1 at
#'     `window[1]`), the source's ICU stay id (integer) and the block's start in
#'     hours since onset.}
#'   \item{`onset_hours`}{the sepsis onset in hours since ICU admission.}
#'   \item{`gender`, `age`, `Weight_kg`}{`"Female"` or `"Male"` (ricu's `sex`),
#'     age in years (ricu's `age`; MIMIC's ages above 89 are set to 90 by ricu)
#'     and admission weight in kg (ricu's `weight`).}
#'   \item{`died_in_hosp`}{1 if the patient died in the hospital admission of
#'     the stay (ricu's `death` per hospital admission, mapped to all its ICU
#'     stays), else 0.}
#'   \item{`mortality_90d`}{1 if the patient died within 90 days of ICU
#'     admission (date of death `dod` of the `patients` table), else 0;
#'     MIMIC-III and MIMIC-IV sources only, `NA` elsewhere.}
#'   \item{block means}{`GCS` (gcs), `HR` (hr), `SysBP` (sbp), `MeanBP` (map),
#'     `DiaBP` (dbp), `RR` (resp), `SpO2` (o2sat), `Temp_C` (temp), `FiO2_1`
#'     (fio2 / 100, a fraction), `Potassium` (k), `Sodium` (na), `Chloride`
#'     (cl), `Glucose` (glu), `BUN` (bun), `Creatinine` (crea), `Magnesium`
#'     (mg), `Calcium` (ca), `Ionised_Ca` (cai), `CO2_mEqL` (tco2), `SGOT`
#'     (ast), `SGPT` (alt), `Total_bili` (bili), `Albumin` (alb), `Hb` (hgb),
#'     `WBC_count` (wbc), `Platelets_count` (plt), `PTT` (ptt), `PT` (pt),
#'     `INR` (inr_pt), `Arterial_pH` (ph), `paO2` (po2), `paCO2` (pco2),
#'     `Arterial_BE` (be), `Arterial_lactate` (lact), `HCO3` (bicar): the mean
#'     of the concept's values (ricu concept in parentheses, loaded at a
#'     one-minute resolution, so the raw charted values) charted in the block.}
#'   \item{`mechvent`}{1 if a ventilation episode (ricu's `vent_ind`) overlaps
#'     the block, else 0.}
#'   \item{`Shock_Index`, `PaO2_FiO2`}{`HR / SysBP` and `paO2 / FiO2_1` from
#'     the block means.}
#'   \item{`median_dose_vaso`, `max_dose_vaso`}{median and maximum over the
#'     block's minutes of the vasopressor rate in norepinephrine equivalents,
#'     mcg/kg/min (ricu's `norepi_equiv`: norepinephrine + epinephrine +
#'     phenylephrine / 10 + dopamine / 100 + vasopressin x 2.5, where
#'     concurrent charted rates of one drug are averaged per minute, MIMIC's
#'     MetaVision rows marked "Rewritten" included); 0 when none is running.}
#'   \item{`input_4hourly`, `input_total`}{IV fluid volume (mL) given in the
#'     block, and charted for the stay up to the block's end; see IV fluids.}
#'   \item{`output_4hourly`, `output_total`, `cumulated_balance`}{urine output
#'     (mL, ricu's `urine`) in the block and charted for the stay up to the
#'     block's end, and `input_total - output_total`.}
#'   \item{`SOFA`, `SIRS`}{the maximum over the block's hours of ricu's hourly
#'     `sofa` and `sirs` scores.}
#' }
#' The names `input_4hourly` and `output_4hourly` are AI-Clinician's and hold
#' per-block volumes whatever `block.hours` is.
#'
#' @section Missing values:
#' A block without any value of a measurement has `NA` there (and so do
#' `Shock_Index` and `PaO2_FiO2` when a part is missing); nothing is carried
#' forward or imputed here. `p4l_data(na.action = "locf")` carries the last
#' value forward within a stay. Volumes and doses are 0 in a block without
#' fluids, urine or vasopressors charted.
#'
#' @section IV fluids:
#' \pkg{ricu} has no IV-fluid concept, so fluids come from the source's tables
#' (amounts in mL): for `mimic` and `mimic_demo` the MetaVision table
#' `inputevents_mv` (order categories "02-Fluids (Crystalloids)", "03-IV Fluid
#' Bolus" and "04-Fluids (Colloids)") and the CareVue table `inputevents_cv`
#' (items whose label in `d_items` names a crystalloid or colloid solution:
#' saline, dextrose, Ringer's, albumin, hetastarch and the like, not blood
#' products, nutrition, oral intake, flushes or free water); for `miiv` the
#' table `inputevents` with the same order categories. A MetaVision or MIMIC-IV
#' infusion's amount is spread evenly over its start and end time and split
#' among the blocks it overlaps; a CareVue amount counts at its chart time.
#' Volumes are not adjusted for tonicity. Other sources have no fluid
#' extraction yet: `input_4hourly`, `input_total` and `cumulated_balance` are
#' `NA` there, with a warning.
#'
#' @section Missing AI-Clinician columns:
#' `elixhauser` (no comorbidity index in \pkg{ricu}), `re_admission`,
#' `died_within_48h_of_out_time` and `delay_end_of_record_and_discharge_or_death`
#' (no \pkg{ricu} concepts for earlier stays, ICU discharge status or the end of
#' records) are not returned. Differences in definition: AI-Clinician's
#' outputs count all output events, here urine only; its fluids are
#' tonicity-weighted, here plain volumes; its SOFA and SIRS are computed from
#' the block values, here they are \pkg{ricu}'s hourly scores (SOFA over the
#' preceding 24 hours).
#'
#' @param src A \pkg{ricu} data source name: `"mimic_demo"` (the MIMIC-III demo,
#'   from the `mimic.demo` package), `"mimic"`, `"miiv"`, `"eicu"`, ... (set up
#'   as \pkg{ricu} describes; credentialed access for the full databases).
#' @param window Two numbers: the cohort's time window in hours since onset.
#'   The width must be a multiple of `block.hours`.
#' @param block.hours Length of a block in hours (a whole number).
#' @param min.blocks Minimum number of blocks a stay must have to be kept.
#' @param ... Further arguments passed to every [ricu::load_concepts()] call,
#'   for example `patient_ids` to restrict the stays (`verbose` is `FALSE`
#'   unless given).
#' @return A data frame with one row per stay and block, ordered by stay and
#'   block, with the columns above; attributes `src`, `window` and
#'   `block.hours`.
#' @references Komorowski M, Celi LA, Badawi O, Gordon AC, Faisal AA (2018).
#'   The Artificial Intelligence Clinician learns optimal treatment strategies
#'   for sepsis in intensive care. Nature Medicine 24, 1716-1720.
#'
#'   Bennett N, Plecko D, Ukor I-F, Meinshausen N, Buehlmann P (2023). ricu:
#'   R's interface to intensive care data. GigaScience 12, giad041.
#' @seealso [sepsis_demo()] for the cohort derived from the MIMIC-III demo,
#'   shipped with the package.
#' @examples
#' \donttest{
#' # About 20 seconds on the MIMIC-III demo.
#' if (requireNamespace("ricu", quietly = TRUE) &&
#'     requireNamespace("mimic.demo", quietly = TRUE)) {
#'   cohort <- sepsis_cohort("mimic_demo")
#'   head(cohort[, c("icustayid", "bloc", "charttime", "HR", "input_4hourly",
#'                   "max_dose_vaso", "SOFA")])
#' }
#' }
#' @export
sepsis_cohort <- function(src = "mimic_demo", window = c(-24, 48), block.hours = 4,
                          min.blocks = 3, ...) {
  if (!is.character(src) || length(src) != 1L || is.na(src) || !nzchar(src)) {
    stop_arg("`src` must be the name of one ricu data source, such as \"mimic_demo\".")
  }
  sz <- sepsis_cohort_blocks(window, block.hours, min.blocks)
  block.hours <- sz$block.hours
  num.blocks <- sz$num.blocks
  min.blocks <- sz$min.blocks
  sepsis_check_ricu(src)
  dots <- list(...)
  if (is.null(dots$verbose)) dots$verbose <- FALSE
  # Scores (sep3, sofa, sirs) are computed on all stays and then restricted to
  # `patient_ids`: ricu's score callbacks can fail on a few stays.
  only <- dots$patient_ids
  dots$patient_ids <- NULL
  load <- ricu_loader(src, dots)
  hour <- ricu::hours(1L)
  minute <- ricu::mins(1L)

  # Onset and ICU length of stay.
  on <- sepsis_onsets(load, hour, src, only)
  onset <- on$onset
  ids <- on$ids
  stay.hours <- on$stay.hours

  # Blocks overlapping the ICU stay inside the window.
  grid <- sepsis_block_grid(ids, onset, stay.hours, window, block.hours, num.blocks, min.blocks,
                            src)
  ids <- unique(grid$icustayid)
  block_stat <- sepsis_block_stat(grid, window, block.hours)

  # Demographics and outcomes.
  grid <- sepsis_demographics(grid, load(c("age", "sex", "weight", "death"), hour, ids), src,
                              dots)

  # Block means of measurements (raw values: one-minute resolution).
  mc <- sepsis_mean_concepts()
  meas <- load(unname(mc), minute, ids)
  for (nm in names(mc)) {
    tab <- ricu_frame(meas[[mc[[nm]]]])
    grid[[nm]] <- block_stat(tab, mean)
  }
  grid$FiO2_1 <- grid$FiO2_1 / 100

  # Ventilation windows, vasopressors, urine.
  hr <- load(c("vent_ind", "norepi_equiv", "urine"), minute, ids)
  grid$mechvent <- sepsis_window_overlap(ricu_window_frame(hr$vent_ind), grid, block.hours)
  grid$Shock_Index <- grid$HR / grid$SysBP
  grid$PaO2_FiO2 <- grid$paO2 / grid$FiO2_1
  vaso <- ricu_frame(hr$norepi_equiv)
  grid$median_dose_vaso <- block_stat(vaso, stats::median, empty = 0)
  grid$max_dose_vaso <- block_stat(vaso, max, empty = 0)

  grid <- sepsis_fluid_columns(grid, src, ids, block.hours)
  urine <- ricu_frame(hr$urine)
  urine <- urine[!is.na(urine$value), , drop = FALSE]
  grid$output_4hourly <- block_stat(urine, sum, empty = 0)
  grid$output_total <- sepsis_cumulative(urine$id, urine$time, urine$value, grid, block.hours)
  grid$cumulated_balance <- grid$input_total - grid$output_total

  # Scores (hourly).
  sc <- load(c("sofa", "sirs"), hour)
  grid$SOFA <- block_stat(ricu_frame(sc$sofa), max)
  grid$SIRS <- block_stat(ricu_frame(sc$sirs), max)

  grid$bloc <- as.integer(grid$bloc)
  grid$icustayid <- as.integer(grid$icustayid)
  out <- grid[, sepsis_columns()]
  rownames(out) <- NULL
  attr(out, "src") <- src
  attr(out, "window") <- as.numeric(window)
  attr(out, "block.hours") <- block.hours
  out
}

# The block grid of sepsis_cohort(): one row per block of the window (stay
# `icustayid`, block `bloc`, `onset_hours`, `charttime`) that overlaps the
# ICU stay, for the stays with at least min.blocks such blocks.
sepsis_block_grid <- function(ids, onset, stay.hours, window, block.hours, num.blocks, min.blocks,
                              src) {
  b <- seq_len(num.blocks)
  grid <- data.frame(icustayid = rep(ids, each = num.blocks), bloc = rep(b, length(ids)))
  grid$onset_hours <- rep(as.numeric(onset), each = num.blocks)
  grid$charttime <- window[1] + (grid$bloc - 1) * block.hours
  start <- grid$onset_hours + grid$charttime
  end <- start + block.hours
  stay.end <- rep(stay.hours, each = num.blocks)
  grid <- grid[!is.na(stay.end) & start < stay.end & end > 0, , drop = FALSE]
  count <- table(grid$icustayid)
  grid <- grid[grid$icustayid %in% as.integer(names(count)[count >= min.blocks]), , drop = FALSE]
  grid <- grid[order(grid$icustayid, grid$bloc), , drop = FALSE]
  rownames(grid) <- NULL
  if (nrow(grid) == 0L) {
    stop_arg("No stay in `src` = \"", src, "\" has `min.blocks` = ", min.blocks,
             " blocks in the window.")
  }
  grid
}

# The IV fluid columns `input_total` and `input_4hourly` of the block grid
# (NA, with a warning, for a source whose fluids are not extracted).
sepsis_fluid_columns <- function(grid, src, ids, block.hours) {
  fl <- sepsis_fluids(src, ids)
  if (is.null(fl)) {
    warning("IV fluids are extracted for the sources mimic, mimic_demo and miiv only; ",
            "`input_4hourly`, `input_total` and `cumulated_balance` are NA for `src` = \"",
            src, "\".", call. = FALSE)
    grid$input_total <- NA_real_
    grid$input_4hourly <- NA_real_
  } else {
    vol <- sepsis_block_volumes(fl, grid, block.hours)
    grid$input_total <- vol$total
    grid$input_4hourly <- vol$block
  }
  grid
}

# A function that loads ricu concepts from `src` (with the arguments `dots`
# of ricu::load_concepts()) at an interval, optionally for some stays only,
# as a list of tables named by concept.
ricu_loader <- function(src, dots) {
  force(src)
  force(dots)
  function(concepts, interval, ids = NULL) {
    args <- c(list(concepts, src, interval = interval, merge = FALSE), dots)
    if (!is.null(ids)) args$patient_ids <- ids
    res <- do.call(ricu::load_concepts, args)
    if (is.data.frame(res)) res <- stats::setNames(list(res), concepts)
    res
  }
}

# The Sepsis-3 stays (restricted to `only` when given): their onset (hours
# since ICU admission), ids and ICU length of stay in hours. Returns
# list(onset, ids, stay.hours).
sepsis_onsets <- function(load, hour, src, only) {
  sep <- load("sep3", hour)[[1]]
  sep <- ricu_frame(sep)
  sep <- sep[!is.na(sep$value) & sep$value, , drop = FALSE]
  if (nrow(sep) == 0L) stop_arg("No stay in `src` = \"", src, "\" meets Sepsis-3.")
  if (!is.null(only)) sep <- sep[sep$id %in% only, , drop = FALSE]
  if (nrow(sep) == 0L) stop_arg("No stay in `patient_ids` meets Sepsis-3.")
  onset <- tapply(sep$time, sep$id, min)
  ids <- as.integer(names(onset))
  los <- ricu_frame(load("los_icu", hour, ids)[[1]])
  list(onset = onset, ids = ids, stay.hours = los$value[match(ids, los$id)] * 24)
}

# The demographic and outcome columns of the block grid from the loaded
# concepts `stat` (age, sex, weight, death).
sepsis_demographics <- function(grid, stat, src, dots) {
  stat <- lapply(stat, ricu_frame)
  pick <- function(tab) tab$value[match(grid$icustayid, tab$id)]
  grid$gender <- as.character(pick(stat$sex))
  grid$age <- as.numeric(pick(stat$age))
  grid$died_in_hosp <- sepsis_died_in_hosp(src, grid$icustayid, stat$death, dots)
  grid$mortality_90d <- sepsis_mortality_90d(src, grid$icustayid)
  weight <- stat$weight
  grid$Weight_kg <- as.numeric(pick(weight))
  grid
}

# The checked `window`, `block.hours` and `min.blocks` of sepsis_cohort(), and
# the number of blocks in the window. Returns list(block.hours, num.blocks,
# min.blocks).
sepsis_cohort_blocks <- function(window, block.hours, min.blocks) {
  if (!is.numeric(window) || length(window) != 2L || any(!is.finite(window)) ||
      window[1] >= window[2]) {
    stop_arg("`window` must be two finite numbers (hours since onset), the first smaller.")
  }
  block.hours <- check_count(block.hours, "block.hours", lower = 1L, upper = 24L * 365L)
  width <- window[2] - window[1]
  if (abs(width / block.hours - round(width / block.hours)) > 1e-8) {
    stop_arg("The width of `window` (", width, " hours) must be a multiple of `block.hours` (",
             block.hours, ").")
  }
  num.blocks <- as.integer(round(width / block.hours))
  min.blocks <- check_count(min.blocks, "min.blocks", lower = 1L, upper = num.blocks)
  list(block.hours = block.hours, num.blocks = num.blocks, min.blocks = min.blocks)
}

# ricu installed and the data source `src` available.
sepsis_check_ricu <- function(src) {
  if (!requireNamespace("ricu", quietly = TRUE)) {
    stop_arg("sepsis_cohort() needs the package 'ricu' (install.packages(\"ricu\"), which ",
             "needs data.table >= 1.15); for src = \"mimic_demo\" also the data package ",
             "'mimic.demo'. Without them, sepsis_demo() gives the demo cohort.")
  }
  if (!src %in% ricu::src_data_avail()$name[ricu::src_data_avail()$available]) {
    stop_arg("The ricu data source `src` = \"", src, "\" is not available",
             if (identical(src, "mimic_demo")) " (install the data package 'mimic.demo')" else
               " (see ricu's setup_src_data() and ricu's documentation)", ".")
  }
  invisible(src)
}

# The block statistic of sepsis_cohort() on the block grid: a function of a
# concept's table (id, time in hours since ICU admission, value) and a
# summary `fun`, giving one value per row of `grid` (`empty` for a block
# without a value; times outside the window count in no block).
sepsis_block_stat <- function(grid, window, block.hours) {
  key <- paste(grid$icustayid, grid$bloc)
  onset.of <- function(id) grid$onset_hours[match(id, grid$icustayid)]
  # Block of times (hours since ICU admission) of stays `id`; NA outside the window.
  block_of <- function(id, time) {
    rel <- time - onset.of(id)
    out <- floor((rel - window[1]) / block.hours) + 1
    out[is.na(rel) | rel < window[1] | rel >= window[2]] <- NA
    out
  }
  row_of <- function(id, time) match(paste(id, block_of(id, time)), key)
  function(tab, fun, empty = NA_real_) {
    r <- row_of(tab$id, tab$time)
    ok <- !is.na(r) & !is.na(tab$value)
    out <- rep(empty, nrow(grid))
    if (any(ok)) {
      s <- tapply(as.numeric(tab$value[ok]), r[ok], fun)
      out[as.integer(names(s))] <- as.numeric(s)
    }
    out
  }
}

# A ricu id_tbl/ts_tbl of one concept as a plain data frame with columns id,
# time (hours since ICU admission, numeric; absent for id_tbl) and value.
ricu_frame <- function(x) {
  df <- as.data.frame(x)
  idv <- ricu::id_vars(x)
  val <- setdiff(ricu::data_vars(x), character())[1]
  out <- data.frame(id = as.integer(df[[idv]]))
  if (ricu::is_ts_tbl(x)) {
    out$time <- as.numeric(df[[ricu::index_var(x)]], units = "hours")
  }
  out$value <- df[[val]]
  out
}

# A ricu win_tbl (start and duration) as id, start and end in hours.
ricu_window_frame <- function(x) {
  df <- as.data.frame(x)
  start <- as.numeric(df[[ricu::index_var(x)]], units = "hours")
  data.frame(id = as.integer(df[[ricu::id_vars(x)]]), start = start,
             end = start + as.numeric(df[[ricu::dur_var(x)]], units = "hours"))
}

# 1 if any window [start, end] of the stay overlaps the block, else 0.
sepsis_window_overlap <- function(win, grid, block.hours) {
  out <- integer(nrow(grid))
  if (nrow(win) == 0L) return(out)
  start <- grid$onset_hours + grid$charttime
  by.id <- split(win, win$id)
  for (i in which(grid$icustayid %in% win$id)) {
    w <- by.id[[as.character(grid$icustayid[i])]]
    out[i] <- as.integer(any(w$start < start[i] + block.hours & w$end >= start[i]))
  }
  out
}

# Sum of `value` charted for the stay up to the end of each block.
sepsis_cumulative <- function(id, time, value, grid, block.hours) {
  end <- grid$onset_hours + grid$charttime + block.hours
  t.of <- split(time, id)
  v.of <- split(value, id)
  vapply(seq_len(nrow(grid)), function(i) {
    k <- as.character(grid$icustayid[i])
    if (is.null(t.of[[k]])) return(0)
    sum(v.of[[k]][t.of[[k]] < end[i]])
  }, numeric(1))
}

# IV fluid events of the stays `ids` as a data frame (id, start, end in hours
# since ICU admission, amount in mL); NULL when the source has no extraction.
sepsis_fluids <- function(src, ids) {
  cfg <- ricu::load_src_cfg(src)[[1]]
  cls <- class(cfg)
  if (any(c("mimic_cfg", "mimic_demo_cfg") %in% cls) || src %in% c("mimic", "mimic_demo")) {
    icu <- as.data.frame(ricu::load_src("icustays", src))
    icu <- icu[icu$icustay_id %in% ids, c("icustay_id", "intime")]
    items <- as.data.frame(ricu::load_src("d_items", src))
    items <- items[items$linksto %in% "inputevents_cv", , drop = FALSE]
    lab <- tolower(items$label)
    fluid <- items$itemid[grepl(sepsis_cv_fluid_pattern(), lab) &
                            !grepl(sepsis_cv_fluid_exclude(), lab)]
    cv <- as.data.frame(ricu::load_src("inputevents_cv", src))
    cv <- cv[cv$icustay_id %in% ids & cv$itemid %in% fluid & tolower(cv$amountuom) %in% "ml" &
               !is.na(cv$amount) & cv$amount > 0, , drop = FALSE]
    a <- sepsis_metavision_fluids(src, "inputevents_mv", "icustay_id", icu, ids)
    intime <- icu$intime[match(cv$icustay_id, icu$icustay_id)]
    t <- as.numeric(difftime(cv$charttime, intime, units = "hours"))
    b <- data.frame(id = cv$icustay_id, start = t, end = t, amount = cv$amount)
    return(rbind(a, b))
  }
  if ("miiv_cfg" %in% cls || identical(src, "miiv")) {
    icu <- as.data.frame(ricu::load_src("icustays", src))
    icu <- icu[icu$stay_id %in% ids, c("stay_id", "intime")]
    return(sepsis_metavision_fluids(src, "inputevents", "stay_id", icu, ids))
  }
  NULL
}

# MetaVision-style input events (MIMIC-III inputevents_mv, MIMIC-IV
# inputevents): the IV fluid rows of the stays `ids` (order categories of
# sepsis_fluid_categories(), mL, positive, not "Rewritten"), with start and end
# in hours since ICU admission (`icu`: the stay id column `key` and intime).
sepsis_metavision_fluids <- function(src, table, key, icu, ids) {
  ev <- as.data.frame(ricu::load_src(table, src))
  ev <- ev[ev[[key]] %in% ids & ev$ordercategoryname %in% sepsis_fluid_categories() &
             tolower(ev$amountuom) == "ml" & !is.na(ev$amount) & ev$amount > 0 &
             !ev$statusdescription %in% "Rewritten", , drop = FALSE]
  intime <- icu$intime[match(ev[[key]], icu[[key]])]
  data.frame(id = ev[[key]],
             start = as.numeric(difftime(ev$starttime, intime, units = "hours")),
             end = as.numeric(difftime(ev$endtime, intime, units = "hours")),
             amount = ev$amount)
}

# Fluid volume per block and cumulated from ICU admission to each block's end:
# an infusion's amount spread evenly over [start, end] (all at start when
# end <= start).
sepsis_block_volumes <- function(fl, grid, block.hours) {
  start <- grid$onset_hours + grid$charttime
  end <- start + block.hours
  # Volume of the events of one stay given before time t.
  before <- function(f, t) {
    dur <- f$end - f$start
    frac <- ifelse(dur > 0, pmin(pmax((t - f$start) / pmax(dur, 1e-12), 0), 1),
                   as.numeric(f$start < t))
    sum(f$amount * frac)
  }
  tot <- blk <- numeric(nrow(grid))
  by.id <- split(fl, fl$id)
  for (i in seq_len(nrow(grid))) {
    f <- by.id[[as.character(grid$icustayid[i])]]
    if (is.null(f) || nrow(f) == 0L) next
    # Volume charted for the stay up to the block's end.
    tot[i] <- before(f, end[i])
    blk[i] <- before(f, end[i]) - before(f, start[i])
  }
  list(total = tot, block = blk)
}

# In-hospital death of the stays `ids`: ricu's `death` assigns a hospital
# death to one ICU stay of the admission only, so it is loaded per hospital
# admission and mapped to every stay of that admission where the source has
# admissions; `death` (per stay) is used otherwise.
sepsis_died_in_hosp <- function(src, ids, death.stay, dots) {
  cfg <- ricu::as_id_cfg(src)
  if (!"hadm" %in% names(cfg)) {
    died <- death.stay$id[!is.na(death.stay$value) & death.stay$value]
    return(as.integer(ids %in% died))
  }
  cols <- unclass(cfg)[["id"]]  # an id_cfg is a record with field `id` (column names)
  hadm.col <- cols[names(cfg) == "hadm"]
  stay.col <- cols[names(cfg) == "icustay"]
  map <- as.data.frame(ricu::id_map(src, hadm.col, stay.col))
  args <- c(list("death", src, id_type = "hadm"), dots)
  d <- ricu_frame(do.call(ricu::load_concepts, args))
  died <- d$id[!is.na(d$value) & d$value]
  as.integer(map[[hadm.col]][match(ids, map[[stay.col]])] %in% died)
}

# 90-day mortality (death within 90 days of ICU admission, from patients.dod)
# for MIMIC-III and MIMIC-IV sources; NA elsewhere.
sepsis_mortality_90d <- function(src, ids) {
  cls <- class(ricu::load_src_cfg(src)[[1]])
  idcol <- if (src %in% c("mimic", "mimic_demo") || any(c("mimic_cfg", "mimic_demo_cfg") %in% cls)) {
    "icustay_id"
  } else if (identical(src, "miiv") || "miiv_cfg" %in% cls) {
    "stay_id"
  } else {
    return(rep(NA_integer_, length(ids)))
  }
  icu <- as.data.frame(ricu::load_src("icustays", src))
  pat <- as.data.frame(ricu::load_src("patients", src))
  icu <- icu[match(ids, icu[[idcol]]), c(idcol, "subject_id", "intime")]
  dod <- pat$dod[match(icu$subject_id, pat$subject_id)]
  days <- as.numeric(difftime(as.POSIXct(dod), icu$intime, units = "days"))
  as.integer(!is.na(days) & days <= 90)
}

#' The sepsis cohort derived from the MIMIC-III demo
#'
#' The table [sepsis_cohort()] builds from the MIMIC-III Clinical Database Demo
#' (`sepsis_cohort("mimic_demo")` with its defaults: 4-hour blocks from 24
#' hours before to 48 hours after Sepsis-3 onset, stays with at least 3
#' blocks), shipped with the package as `inst/extdata/sepsis-demo.csv.gz` so
#' that it needs neither \pkg{ricu} nor the data. The script
#' `data-raw/sepsis-demo.R` in the package's source rebuilds it.
#'
#' The columns are those of [sepsis_cohort()] (see its sections Columns,
#' Missing values and Missing AI-Clinician columns): `bloc`, `icustayid`
#' (integer), `charttime`, `onset_hours`, `gender` (character), `age`,
#' `died_in_hosp`, `mortality_90d`, `mechvent` (integer 0/1), `Weight_kg`,
#' the block means `GCS` to `HCO3`, `Shock_Index`, `PaO2_FiO2`,
#' `median_dose_vaso`, `max_dose_vaso`, `input_total`, `input_4hourly`,
#' `output_total`, `output_4hourly`, `cumulated_balance`, `SOFA` and `SIRS`
#' (numeric). Missing block values are `NA`.
#'
#' @section License and attribution:
#' The cohort is a derived database of the MIMIC-III Clinical Database Demo
#' (Johnson A, Pollard T, Mark R, PhysioNet, \doi{10.13026/C2HM2Q}), made
#' available under the Open Database License v1.0
#' (<https://opendatacommons.org/licenses/odbl/1-0/>), as is the cohort
#' itself; the notice and attribution are in
#' `system.file("extdata", "sepsis-demo-LICENSE.md", package = "p4l")`. The
#' rest of the package is under the MIT license.
#'
#' @return A data frame, one row per ICU stay and block, ordered by stay and
#'   block.
#' @references Johnson AEW, Pollard TJ, Shen L, Lehman LH, Feng M, Ghassemi M,
#'   Moody B, Szolovits P, Celi LA, Mark RG (2016). MIMIC-III, a freely
#'   accessible critical care database. Scientific Data 3, 160035.
#'
#'   Goldberger AL, Amaral LAN, Glass L, et al. (2000). PhysioBank,
#'   PhysioToolkit, and PhysioNet. Circulation 101(23), e215-e220.
#' @seealso [sepsis_cohort()].
#' @examples
#' demo <- sepsis_demo()
#' length(unique(demo$icustayid))
#' summary(demo[, c("HR", "input_4hourly", "max_dose_vaso", "SOFA")])
#' @export
sepsis_demo <- function() {
  path <- system.file("extdata", "sepsis-demo.csv.gz", package = "p4l")
  if (!nzchar(path)) stop("The shipped file sepsis-demo.csv.gz is missing; reinstall p4l.")
  read_sepsis_csv(path)
}

# Reads a cohort CSV with the column types of sepsis_cohort().
read_sepsis_csv <- function(path) {
  cols <- sepsis_columns()
  int <- c("bloc", "icustayid", "died_in_hosp", "mortality_90d", "mechvent")
  classes <- stats::setNames(rep("numeric", length(cols)), cols)
  classes[int] <- "integer"
  classes["gender"] <- "character"
  df <- utils::read.csv(path, colClasses = classes, na.strings = "NA",
                        stringsAsFactors = FALSE)
  df[, cols]
}
