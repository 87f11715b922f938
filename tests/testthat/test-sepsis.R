# sepsis_cohort() on the MIMIC-III demo (needs ricu and mimic.demo) checked
# against values computed straight from the raw demo tables, and the shipped
# cohort sepsis_demo() (needs neither).

skip_if_no_demo <- function() {
  skip_if_not_installed("ricu")
  skip_if_not_installed("mimic.demo")
}

# The cohort is extracted once per file (about 20 s).
demo_cohort <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) cache <<- sepsis_cohort("mimic_demo")
    cache
  }
})

# Raw demo tables as plain data frames, read once.
raw_table <- local({
  cache <- list()
  function(name) {
    if (is.null(cache[[name]])) {
      cache[[name]] <<- as.data.frame(ricu::load_src(name, "mimic_demo"))
    }
    cache[[name]]
  }
})

# Hours since ICU admission of times `t` of stays `id`.
icu_hours <- function(t, id) {
  icu <- raw_table("icustays")
  as.numeric(difftime(t, icu$intime[match(id, icu$icustay_id)], units = "hours"))
}

# Start and end (hours since ICU admission) of the cohort's rows `i`.
block_span <- function(co, i) {
  start <- co$onset_hours[i] + co$charttime[i]
  cbind(start = start, end = start + 4)
}

test_that("sepsis_demo() reads the shipped cohort with its documented columns and types", {
  demo <- sepsis_demo()
  expect_s3_class(demo, "data.frame")
  expect_identical(names(demo), p4l:::sepsis_columns())
  # The size data-raw/sepsis-demo.R reported for the demo.
  expect_identical(length(unique(demo$icustayid)), 76L)
  expect_identical(nrow(demo), 832L)
  for (nm in c("bloc", "icustayid", "died_in_hosp", "mortality_90d", "mechvent")) {
    expect_type(demo[[nm]], "integer")
  }
  expect_type(demo$gender, "character")
  expect_setequal(unique(demo$gender), c("Female", "Male"))
  num <- setdiff(names(demo), c("bloc", "icustayid", "died_in_hosp", "mortality_90d",
                                "mechvent", "gender"))
  for (nm in num) expect_type(demo[[nm]], "double")
  # One row per stay and block, ordered, consecutive blocks in the window.
  expect_false(anyDuplicated(demo[, c("icustayid", "bloc")]) > 0)
  expect_identical(order(demo$icustayid, demo$bloc), seq_len(nrow(demo)))
  expect_true(all(demo$bloc >= 1L & demo$bloc <= 18L))
  expect_equal(demo$charttime, -24 + 4 * (demo$bloc - 1))
  runs <- tapply(demo$bloc, demo$icustayid, function(b) all(diff(b) == 1L) && length(b) >= 3L)
  expect_true(all(runs))
  # Per-stay constants and derived columns.
  const <- c("onset_hours", "gender", "age", "died_in_hosp", "mortality_90d", "Weight_kg")
  for (nm in const) {
    expect_true(all(tapply(demo[[nm]], demo$icustayid, function(x) length(unique(x)) == 1L)))
  }
  expect_equal(demo$Shock_Index, demo$HR / demo$SysBP)
  expect_equal(demo$PaO2_FiO2, demo$paO2 / demo$FiO2_1)
  expect_equal(demo$cumulated_balance, demo$input_total - demo$output_total)
  expect_true(all(demo$max_dose_vaso >= demo$median_dose_vaso))
  expect_true(all(demo$input_4hourly >= 0 & demo$input_total >= demo$input_4hourly - 1e-9))
  expect_true(all(demo$FiO2_1 > 0 & demo$FiO2_1 <= 1, na.rm = TRUE))
  # Within a stay, the running totals grow by at least the block's volume.
  for (id in unique(demo$icustayid)[1:10]) {
    s <- demo[demo$icustayid == id, ]
    expect_true(all(diff(s$input_total) >= s$input_4hourly[-1] - 1e-6))
    expect_equal(diff(s$output_total), s$output_4hourly[-1])
  }
})

test_that("the demo cohort goes into p4l_data() with na.action = \"locf\"", {
  demo <- sepsis_demo()
  demo$action <- ifelse(demo$input_4hourly > 0, "fluids", "none")
  demo$reward <- -demo$SOFA
  # GCS is missing in some blocks, but every stay has a value in its first block.
  expect_true(anyNA(demo$GCS))
  first <- !duplicated(demo$icustayid)
  keep <- demo$icustayid %in% demo$icustayid[first & !is.na(demo$GCS)]
  d <- suppressMessages(p4l_data(demo[keep, ], "icustayid", "bloc", "action", "reward",
                                 c("GCS", "max_dose_vaso", "SOFA"), na.action = "locf",
                                 last = "drop"))
  expect_s3_class(d, "p4l_data")
  expect_identical(length(d$ids), length(unique(demo$icustayid[keep])))
})

test_that("sepsis_cohort() on mimic_demo is the shipped cohort", {
  skip_if_no_demo()
  co <- demo_cohort()
  expect_identical(attr(co, "src"), "mimic_demo")
  expect_identical(attr(co, "window"), c(-24, 48))
  attributes(co)[c("src", "window", "block.hours")] <- NULL
  expect_equal(co, sepsis_demo(), tolerance = 1e-12)
})

test_that("sepsis_cohort() has one row per stay and block inside the window and the ICU stay", {
  skip_if_no_demo()
  co <- demo_cohort()
  # Every stay meets Sepsis-3 (76 in the demo) and has at least 3 blocks.
  sep <- ricu::load_concepts("sep3", "mimic_demo", verbose = FALSE)
  onset <- tapply(as.numeric(sep$charttime, units = "hours"), sep$icustay_id, min)
  expect_true(all(co$icustayid %in% as.integer(names(onset))))
  expect_equal(co$onset_hours, as.numeric(onset[as.character(co$icustayid)]))
  expect_true(all(table(co$icustayid) >= 3L))
  expect_false(anyDuplicated(co[, c("icustayid", "bloc")]) > 0)
  expect_true(all(co$charttime >= -24 & co$charttime + 4 <= 48))
  # Blocks overlap the ICU stay (icustays intime to outtime), and every block
  # of the window that does is there.
  icu <- raw_table("icustays")
  los <- icu_hours(icu$outtime, icu$icustay_id)
  for (id in unique(co$icustayid)) {
    s <- co[co$icustayid == id, ]
    start <- s$onset_hours[1] + (-24 + 4 * (0:17))
    keep <- which(start < los[icu$icustay_id == id] + 1e-6 & start + 4 > 0)
    # ricu's los_icu is rounded to the minute; allow one block of slack at the end.
    expect_true(all(s$bloc %in% keep) && length(setdiff(keep, s$bloc)) <= 1L,
                label = paste("blocks of stay", id))
  }
  # Stays of the demo that meet Sepsis-3 but are left out have fewer than 3 blocks.
  out <- setdiff(as.integer(names(onset)), co$icustayid)
  for (id in out) {
    start <- onset[[as.character(id)]] + (-24 + 4 * (0:17))
    n <- sum(start < los[icu$icustay_id == id] & start + 4 > 0)
    expect_lt(n, 3L)
  }
  # min.blocks and block.hours change the cohort as they should.
  ids <- unique(co$icustayid)[1:8]
  co6 <- sepsis_cohort("mimic_demo", window = c(-12, 36), block.hours = 6, min.blocks = 5,
                       patient_ids = ids)
  expect_true(all(co6$icustayid %in% ids))
  expect_true(all(table(co6$icustayid) >= 5L))
  expect_true(all(co6$charttime %in% seq(-12, 30, by = 6)))
  # Its 6-hour blocks hold the 4-hour cohort's urine: hours -12 to 36 in both.
  for (id in unique(co6$icustayid)) {
    a <- co6[co6$icustayid == id, ]
    b <- co[co$icustayid == id & co$charttime >= -12 & co$charttime < 36, ]
    if (nrow(a) == 6L * 8L / 6L && nrow(b) == 12L) {
      expect_equal(sum(a$output_4hourly), sum(b$output_4hourly))
    }
  }
})

test_that("a block's mean heart rate matches the raw chartevents", {
  skip_if_no_demo()
  co <- demo_cohort()
  ce <- raw_table("chartevents")
  ce <- ce[ce$itemid %in% c(211, 220045) & ce$icustay_id %in% co$icustayid &
             !is.na(ce$valuenum), ]
  ce <- ce[ce$valuenum >= 0 & ce$valuenum <= 300, ]  # ricu's hr range
  ce$h <- icu_hours(ce$charttime, ce$icustay_id)
  rows <- which(co$icustayid %in% unique(co$icustayid)[c(1, 20, 40, 60)])
  span <- block_span(co, rows)
  ref <- vapply(seq_along(rows), function(k) {
    sel <- ce$icustay_id == co$icustayid[rows[k]] & ce$h >= span[k, "start"] &
      ce$h < span[k, "end"]
    if (any(sel)) mean(ce$valuenum[sel]) else NA_real_
  }, numeric(1))
  expect_gt(sum(!is.na(ref)), 30L)
  expect_equal(co$HR[rows], ref, tolerance = 1e-10)
})

test_that("a block's IV fluid volume matches the raw inputevents (MetaVision and CareVue)", {
  skip_if_no_demo()
  co <- demo_cohort()
  icu <- raw_table("icustays")
  # MetaVision: crystalloid, bolus and colloid orders, spread over start to end.
  mv <- raw_table("inputevents_mv")
  mv <- mv[mv$ordercategoryname %in% c("02-Fluids (Crystalloids)", "03-IV Fluid Bolus",
                                       "04-Fluids (Colloids)") &
             mv$amountuom == "ml" & mv$amount > 0 & mv$statusdescription != "Rewritten", ]
  mv.stays <- intersect(co$icustayid, icu$icustay_id[icu$dbsource == "metavision"])
  rows <- which(co$icustayid %in% mv.stays[1:6])
  span <- block_span(co, rows)
  ref <- vapply(seq_along(rows), function(k) {
    f <- mv[mv$icustay_id == co$icustayid[rows[k]], ]
    if (nrow(f) == 0L) return(0)
    s <- icu_hours(f$starttime, f$icustay_id)
    e <- icu_hours(f$endtime, f$icustay_id)
    overlap <- pmax(0, pmin(e, span[k, "end"]) - pmax(s, span[k, "start"]))
    point <- e <= s & s >= span[k, "start"] & s < span[k, "end"]
    sum(ifelse(e > s, f$amount * overlap / (e - s), f$amount * point))
  }, numeric(1))
  expect_gt(sum(ref > 0), 10L)
  expect_equal(co$input_4hourly[rows], ref, tolerance = 1e-8)
  # CareVue: the crystalloid and colloid items charted in the demo, at chart time.
  cv.items <- c(30018, 30020, 30015, 30021, 30061, 30060, 30013, 30016, 30008, 30009,
                30012, 30101, 30102)
  cv <- raw_table("inputevents_cv")
  cv <- cv[cv$itemid %in% cv.items & cv$amountuom %in% "ml" & !is.na(cv$amount) &
             cv$amount > 0, ]
  cv.stays <- intersect(co$icustayid, icu$icustay_id[icu$dbsource == "carevue"])
  rows <- which(co$icustayid %in% cv.stays[1:6])
  span <- block_span(co, rows)
  ref <- vapply(seq_along(rows), function(k) {
    f <- cv[cv$icustay_id == co$icustayid[rows[k]], ]
    h <- icu_hours(f$charttime, f$icustay_id)
    sum(f$amount[h >= span[k, "start"] & h < span[k, "end"]])
  }, numeric(1))
  expect_gt(sum(ref > 0), 10L)
  expect_equal(co$input_4hourly[rows], ref, tolerance = 1e-8)
})

test_that("a block's maximum vasopressor dose matches the raw norepinephrine rates", {
  skip_if_no_demo()
  co <- demo_cohort()
  mv <- raw_table("inputevents_mv")
  vaso <- c(221906, 221289, 221662, 222315, 221749)  # norepi, epi, dopa, vasopressin, phenyl.
  v <- mv[mv$itemid %in% vaso & mv$icustay_id %in% co$icustayid, ]
  only.norepi <- setdiff(unique(v$icustay_id[v$itemid == 221906]),
                         unique(v$icustay_id[v$itemid != 221906]))
  expect_gt(length(only.norepi), 2L)
  ne <- v[v$itemid == 221906 & v$icustay_id %in% only.norepi & v$rate > 0, ]
  # ricu's convention: minutes since ICU admission (floored), each row running
  # from its start minute to its end minute, concurrent rows averaged per
  # minute (MetaVision rows marked "Rewritten" included). Rates are in
  # mcg/kg/min already.
  ne$s <- floor(icu_hours(ne$starttime, ne$icustay_id) * 60)
  ne$e <- floor(icu_hours(ne$endtime, ne$icustay_id) * 60)
  rows <- which(co$icustayid %in% only.norepi)
  span <- block_span(co, rows)
  ref <- vapply(seq_along(rows), function(k) {
    f <- ne[ne$icustay_id == co$icustayid[rows[k]], ]
    minutes <- seq(ceiling(span[k, "start"] * 60), ceiling(span[k, "end"] * 60) - 1)
    rate <- vapply(minutes, function(m) {
      on <- f$s <= m & f$e >= m
      if (any(on)) mean(f$rate[on]) else 0
    }, numeric(1))
    max(rate)
  }, numeric(1))
  expect_gt(sum(ref > 0), 5L)
  expect_equal(co$max_dose_vaso[rows], ref, tolerance = 1e-6)
})

test_that("outcomes and demographics match the raw tables", {
  skip_if_no_demo()
  co <- demo_cohort()
  first <- co[!duplicated(co$icustayid), ]
  icu <- raw_table("icustays")
  pat <- raw_table("patients")
  adm <- raw_table("admissions")
  k <- match(first$icustayid, icu$icustay_id)
  expect_identical(first$gender, ifelse(pat$gender[match(icu$subject_id[k], pat$subject_id)] == "F",
                                        "Female", "Male"))
  dod <- as.POSIXct(pat$dod[match(icu$subject_id[k], pat$subject_id)])
  expect_identical(first$mortality_90d,
                   as.integer(!is.na(dod) & difftime(dod, icu$intime[k], units = "days") <= 90))
  expect_identical(first$died_in_hosp,
                   as.integer(adm$hospital_expire_flag[match(icu$hadm_id[k], adm$hadm_id)] == 1))
})

test_that("sepsis_cohort() names the argument at fault", {
  expect_error(sepsis_cohort(src = 1), "`src`")
  expect_error(sepsis_cohort(src = c("a", "b")), "`src`")
  expect_error(sepsis_cohort(window = 5), "`window`")
  expect_error(sepsis_cohort(window = c(48, -24)), "`window`")
  expect_error(sepsis_cohort(window = c(-24, NA)), "`window`")
  expect_error(sepsis_cohort(block.hours = 0), "`block.hours`")
  expect_error(sepsis_cohort(block.hours = 2.5), "`block.hours`")
  expect_error(sepsis_cohort(window = c(-24, 50)), "multiple of `block.hours`")
  expect_error(sepsis_cohort(min.blocks = 0), "`min.blocks`")
  expect_error(sepsis_cohort(min.blocks = 19), "`min.blocks`")
  skip_if_not_installed("ricu")
  expect_error(sepsis_cohort("no_such_source"), "`src` = \"no_such_source\" is not available")
})
