#!/usr/bin/env Rscript
# Stress suite (issue 12, item 7).
#
#   Rscript bench/stress.R [suites] [reps]        e.g.  Rscript bench/stress.R S1,S2,S5 1
#
# Run from the package root with p4l installed (R_LIBS pointing at the
# library, e.g. R_LIBS=/work/lib-stress). Suites: S1 (CartPole A/B/C at gamma
# 0.9/0.95/0.99), S2 (40 x 15 clinical toy, two latent response types), S3
# (sim_icu(), runs only when the package has it), S4 (ICU-like stays: 300 and
# 16,000 stays, 9 and 25 actions; fit time), S5 (sim_linear2d(), paper and
# reversed). Default: all, 1 replication. Generators, evaluators and the
# per-suite runners are in bench/stress-data.R (also stress_quick(), the
# subset for the tests).
#
# Every fit uses P4L's defaults, p4l(d, K = k, gamma = g, seed = r) (K = 3 in
# S1 and S5, 2 in S2, S3 and S4), beside pooled fqi(d, gamma = g, seed = r) on
# the same data. For each (suite, data set, gamma, true subgroup) the CSV
# records: converged, P4L's pessimistic and point values (normalised scale
# (1 - gamma) V) and whether both lie in the attainable range [min R, max R]
# (widened to 0 for episodic data with absorbing states), the Monte Carlo
# values of P4L's deployed policy, the behaviour policy, pooled FQI and the
# optimum (where known), fit times, and PASS/FAIL of each criterion:
#   conv   every P4L fit converged;
#   range  its value and point value are inside the attainable range;
#   >beh   P4L above the behaviour policy in the subgroup;
#   >=95%  (S1) P4L at least 95% of pooled FQI's steps;
#   opt    (S5) within 0.03 (paper) / 0.05 (reversed) of the subgroup optimum
#          (linear2d_optimum()).
# Evaluation: CartPole evaluate_policy(horizon = 300, gamma = 1), steps, 10
# episodes per trajectory in its own environment; linear2d evaluate_policy(200
# episodes of 50 steps, gamma = 0.8) per training individual in its own
# environment, as in bench/baselines-quality.R; S2 the R-level Monte Carlo
# evaluator s2_policy_value() (200 episodes of 15 visits per patient on the
# true dynamics, gamma = 0.9, each patient's own policy).
#
# Robustness: each job (S1, S2, S3, S5, and each S4 data set) runs in a child
# Rscript with a time limit (system2(timeout =)); an error inside a fit is
# recorded in the `error` column, a job that fails or runs over its limit is
# recorded as "not run (> N s)". Environment:
#   P4L_STRESS_TIMEOUT     limit per job in seconds (default 1200)
#   P4L_STRESS_S4_TIMEOUT  limit per S4 data set with 16,000 stays (default 300)
#   P4L_STRESS_OUT         CSV path (default bench/stress-results.csv)
#   P4L_STRESS_RUNS        a finished run's CSV: re-make the table only (no fits)
#   P4L_STRESS_VALUE_SCALE "discounted" if a future fit reports (1 - gamma)^-1
#                          times the normalised value (see stress_fit_info())
# Output: the CSV, bench/stress-results.md (the markdown table) and the table
# on stdout.

args <- commandArgs(trailingOnly = TRUE)
file.arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
script <- if (length(file.arg)) normalizePath(sub("^--file=", "", file.arg[1])) else
  normalizePath("bench/stress.R")
bench.dir <- dirname(script)
suppressPackageStartupMessages(library(p4l))
source(file.path(bench.dir, "stress-data.R"))

# ---- child mode: Rscript bench/stress.R --job <job> <reps> <out.rds> -------
if (length(args) >= 1 && args[1] == "--job") {
  options(p4l.stress.child = TRUE)
  job <- args[2]
  reps <- as.integer(args[3])
  out <- args[4]
  checkpoint <- function(rows) {
    attr(rows, "partial") <- TRUE
    saveRDS(rows, out)
  }
  t0 <- stress_elapsed()
  res <- stress_run_job(job, reps, checkpoint = checkpoint)
  attr(res, "job.secs") <- stress_elapsed() - t0
  attr(res, "partial") <- NULL
  saveRDS(res, out)
  quit(save = "no", status = 0)
}

# ---- driver ------------------------------------------------------------------
suites <- if (length(args) >= 1) toupper(trimws(strsplit(args[1], ",")[[1]])) else
  c("S1", "S2", "S3", "S4", "S5")
reps <- if (length(args) >= 2) as.integer(args[2]) else 1L
bad <- setdiff(suites, c("S1", "S2", "S3", "S4", "S5"))
if (length(bad)) stop("unknown suite(s): ", paste(bad, collapse = ", "))
timeout <- as.numeric(Sys.getenv("P4L_STRESS_TIMEOUT", "1200"))
timeout.s4 <- as.numeric(Sys.getenv("P4L_STRESS_S4_TIMEOUT", "300"))
out.csv <- Sys.getenv("P4L_STRESS_OUT", file.path(bench.dir, "stress-results.csv"))
out.md <- sub("\\.csv$", ".md", out.csv)
rscript <- file.path(R.home("bin"), "Rscript")

job_info <- function(job) {
  p <- strsplit(job, ":", fixed = TRUE)[[1]]
  if (p[1] == "S4") {
    stays <- as.integer(p[2])
    lev <- as.integer(p[3])
    list(suite = "S4", dataset = sprintf("ICU-like, %d stays, %d actions", stays, lev^2),
         gamma = 0.9, K = 2, timeout = if (stays > 1000) timeout.s4 else timeout)
  } else {
    list(suite = p[1], dataset = switch(p[1], S1 = "cartpole A, B, C", S2 = "clinical toy",
                                        S3 = "sim_icu()", S5 = "linear2d"),
         gamma = switch(p[1], S1 = NA_real_, S2 = 0.9, S3 = 0.99, S5 = 0.8),
         K = switch(p[1], S1 = 3, S2 = 2, S3 = 2, S5 = 3), timeout = timeout)
  }
}

run_child <- function(job) {
  info <- job_info(job)
  tmp <- tempfile(fileext = ".rds")
  log <- tempfile(fileext = ".log")
  t0 <- stress_elapsed()
  status <- suppressWarnings(system2(rscript, c(shQuote(script), "--job", shQuote(job), reps,
                                                shQuote(tmp)),
                                     stdout = log, stderr = log, timeout = info$timeout))
  secs <- stress_elapsed() - t0
  res <- if (file.exists(tmp)) readRDS(tmp) else NULL
  partial <- !is.null(res) && isTRUE(attr(res, "partial"))
  if (is.null(res) || partial) {
    msg <- if (identical(as.integer(status), 124L)) {
      sprintf("not run (> %.0f s)", info$timeout)
    } else {
      tail.log <- tryCatch(utils::tail(readLines(log, warn = FALSE), 3), error = function(e) "")
      sprintf("not run (child failed, status %s: %s)", status, paste(tail.log, collapse = " / "))
    }
    if (partial) {
      pending <- res$error == "p4l pending"
      if (any(pending)) {
        # S4: the FQI fit finished, the P4L fit did not
        res$error[pending] <- msg
        res$converged[pending] <- NA
        res$value.in.range[pending] <- NA
        res <- stress_criteria(res)
      } else {
        # the finished fits are kept; the rest of the job did not run
        res <- rbind(res, stress_not_run(info$suite, paste(info$dataset, "(rest of the job)"),
                                         info$gamma, info$K, msg))
      }
    } else {
      res <- stress_not_run(info$suite, info$dataset, info$gamma, info$K, msg)
    }
  }
  res$job <- job
  res$job.secs <- secs
  message(sprintf("%-12s %6.0f s  (%d rows%s)", job, secs, nrow(res),
                  if (any(grepl("^not run", res$error))) ", not run" else ""))
  res
}

t.start <- stress_elapsed()
jobs <- stress_jobs(suites)
message("stress suite: ", paste(jobs, collapse = " "), "; reps = ", reps, "; p4l ",
        utils::packageVersion("p4l"), " from ", dirname(find.package("p4l")))
runs.file <- Sys.getenv("P4L_STRESS_RUNS")
if (nzchar(runs.file)) {
  # re-make the table from a finished run's CSV (no fits)
  res <- utils::read.csv(runs.file, stringsAsFactors = FALSE)
  for (cn in c("error", grep("^pass\\.", names(res), value = TRUE))) {
    res[[cn]] <- ifelse(is.na(res[[cn]]), "", as.character(res[[cn]]))
  }
  res <- res[res$suite %in% suites, ]
  t.start <- t.start - sum(res$job.secs[!duplicated(res$job)])
} else {
  res <- do.call(rbind, lapply(jobs, run_child))
}
rownames(res) <- NULL
if (!nzchar(runs.file) || normalizePath(runs.file) != normalizePath(out.csv, mustWork = FALSE)) {
  utils::write.csv(res, out.csv, row.names = FALSE)
}

# ---- markdown table -----------------------------------------------------------
fnum <- function(x, digits = 4) {
  ifelse(is.na(x), "", ifelse(abs(x) >= 1e4 | (abs(x) < 1e-3 & x != 0),
                              formatC(x, digits = 2, format = "e"),
                              trimws(formatC(x, digits = digits, format = "fg"))))
}
fsec <- function(x) ifelse(is.na(x), "", sprintf("%.1f", x))
fconv <- function(x) ifelse(is.na(x), "", ifelse(x, "yes", "no"))
val <- ifelse(is.na(res$p4l.value), "",
              paste0(fnum(res$p4l.value), " (", fnum(res$p4l.point.value), ")"))
rng <- ifelse(is.na(res$range.lo), "", sprintf("[%s, %s]", trimws(fnum(res$range.lo, 3)),
                                                trimws(fnum(res$range.hi, 3))))
# one fit per (suite, dataset, gamma, rep): show the fit columns on its first row only
key <- paste(res$suite, res$dataset, res$gamma, res$rep)
first <- !duplicated(key)
blank <- function(x) ifelse(first, x, "\u2033")
tab <- data.frame(
  suite = res$suite, `data set` = res$dataset,
  gamma = ifelse(is.na(res$gamma), "", as.character(res$gamma)),
  rep = ifelse(is.na(res$rep), "", res$rep), subgroup = res$subgroup,
  conv = blank(fconv(res$converged)), `P4L value (point)` = blank(val),
  `range` = blank(rng), P4L = fnum(res$p4l.eval), behaviour = fnum(res$behaviour.eval),
  FQI = fnum(res$fqi.eval), optimum = fnum(res$optimum),
  `P4L s` = blank(fsec(res$p4l.secs)), `FQI s` = blank(fsec(res$fqi.secs)),
  C = res$pass.converged, R = res$pass.range, `>beh` = res$pass.behaviour,
  `>=95% FQI` = res$pass.fqi, opt = res$pass.optimum,
  note = ifelse(is.na(res$error), "", substr(gsub("\\|", "/", res$error), 1, 60)),
  check.names = FALSE, stringsAsFactors = FALSE)
md <- c(paste0("| ", paste(names(tab), collapse = " | "), " |"),
        paste0("|", paste(rep("---", ncol(tab)), collapse = "|"), "|"),
        apply(tab, 1, function(r) paste0("| ", paste(r, collapse = " | "), " |")))
crit <- c(C = "pass.converged", R = "pass.range", `>beh` = "pass.behaviour",
          `>=95% FQI` = "pass.fqi", opt = "pass.optimum")
# conv and range are counted per fit, the others per (fit, subgroup)
per.fit <- c("pass.converged", "pass.range")
summ <- do.call(rbind, lapply(split(res, factor(res$suite, unique(res$suite))), function(s) {
  fit.first <- !duplicated(paste(s$dataset, s$gamma, s$rep))
  cnt <- vapply(crit, function(cn) {
    v <- if (cn %in% per.fit) s[[cn]][fit.first] else s[[cn]]
    v <- v[nzchar(v)]
    if (length(v) == 0L) "" else sprintf("%d/%d", sum(v == "PASS"), length(v))
  }, character(1))
  data.frame(suite = s$suite[1], fits = sum(fit.first), rows = nrow(s),
             `wall s` = sprintf("%.0f", sum(s$job.secs[!duplicated(s$job)])),
             t(cnt), check.names = FALSE)
}))
md.summ <- c(paste0("| ", paste(names(summ), collapse = " | "), " |"),
             paste0("|", paste(rep("---", ncol(summ)), collapse = "|"), "|"),
             apply(summ, 1, function(r) paste0("| ", paste(r, collapse = " | "), " |")))
header <- sprintf("p4l %s (%s), R %s, %s; `Rscript bench/stress.R %s %d`; wall time %.0f s",
                  utils::packageVersion("p4l"), dirname(find.package("p4l")), getRversion(),
                  format(Sys.time(), "%Y-%m-%d %H:%M"), paste(suites, collapse = ","), reps,
                  stress_elapsed() - t.start)
note.summ <- "PASS counts per suite (criteria that apply; C and R per fit, the others per fit and subgroup):"
writeLines(c(header, "", md, "", note.summ, "", md.summ),
           out.md)
cat(header, "\n\n", sep = "")
cat(md, sep = "\n")
cat("\n", note.summ, "\n\n", sep = "")
cat(md.summ, sep = "\n")
cat("\nWrote ", out.csv, " and ", out.md, "\n", sep = "")
