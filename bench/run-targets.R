# Performance targets (issue 16, items 1 to 5; issue 12, item 5): runs every
# speed script, one at a time, each in its own Rscript process under
# `timeout`, and writes one table: each figure, its target and the ratio to it.
#
#   make bench                                   # make install, then this script
#   make bench BENCH_SCALE=quick                 # small sizes: tests this runner
#   R_LIBS=<library> Rscript bench/run-targets.R
#
# The package is not installed here: `make bench` runs `make install` first;
# otherwise give the library through R_LIBS (the scripts inherit it).
# Environment:
#   P4L_BENCH_SCALE  "full" (default: the targets' sizes) or "quick" (every
#                    target at a small size; the figures are not the targets').
#   P4L_BENCH_ONLY   comma-separated items or scripts to run, e.g.
#                    "item3,item5", "12.5", "p4l-speed,rbf" (default: all).
#   P4L_BENCH_OUT    directory for the scripts' CSVs and logs (default
#                    /tmp/p4l-bench-<scale>).
#   P4L_BENCH_TIMEOUT  one time limit in seconds for every script (default:
#                    each script's own, 300 to 1800 s).
# Only a complete full-size run writes bench/targets.csv and the block between
# `<!-- make bench: begin -->` and `<!-- make bench: end -->` at the top of
# bench/README.md; quick and partial runs write targets-<scale>.md/.csv in the
# output directory and leave bench/ alone. Each script's own printed output
# goes to the console and to <out>/<job>.log. The quality and study scripts
# are not run (several take hours); the list is printed at the end.

bench.dir <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else normalizePath("bench")
})
root <- dirname(bench.dir)
scale <- Sys.getenv("P4L_BENCH_SCALE", "full")
if (!nzchar(scale)) scale <- "full"
if (!scale %in% c("full", "quick")) stop("P4L_BENCH_SCALE must be \"full\" or \"quick\"")
only <- strsplit(Sys.getenv("P4L_BENCH_ONLY"), "[, ]+")[[1]]
only <- sub("^item", "16.", only[nzchar(only)])   # "item3" = issue 16, item 3
out.dir <- Sys.getenv("P4L_BENCH_OUT", file.path("/tmp", paste0("p4l-bench-", scale)))
dir.create(out.dir, recursive = TRUE, showWarnings = FALSE)
full <- scale == "full"

# Sizes: the targets' (full) and the runner's test sizes (quick).
sz <- if (full) {
  list(p4l.n = 1e6, rbf.n = 1e6, rbf.reps = 3, fqi.n = 1e6, episodes = 1000, acpi.N = 1000,
       s4.large = TRUE)
} else {
  list(p4l.n = 3e4, rbf.n = 1e5, rbf.reps = 1, fqi.n = 1e4, episodes = 100, acpi.N = 100,
       s4.large = FALSE)
}
sci <- function(x) sub("e\\+0?", "e", format(x, scientific = TRUE))
big <- function(x) formatC(x, format = "d", big.mark = ",")

# One job per script invocation: "{csv}" in args is the job's CSV path.
job <- function(name, script, args, timeout, items, run = TRUE) {
  list(name = name, script = script, args = args, timeout = timeout, items = items,
       run = run, csv = file.path(out.dir, paste0(name, ".csv")),
       log = file.path(out.dir, paste0(name, ".log")))
}
jobs <- list(
  job("p4l-speed", "p4l-speed.R", c(sci(sz$p4l.n), "NA", "1", "{csv}"),
      if (full) 1800 else 300, c("16.1", "16.2")),
  job("rbf", "rbf.R", c(sci(sz$rbf.n), sz$rbf.reps, "{csv}"), if (full) 900 else 300,
      c("16.2", "16.3")),
  job("baselines", "baselines.R", c("2", "{csv}", sci(sz$fqi.n)), if (full) 900 else 300,
      c("16.2", "16.5")),
  job("evaluate-speed", "evaluate-speed.R", c(sz$episodes, "{csv}"), if (full) 600 else 300,
      c("16.2", "16.5")),
  job("acpi-speed", "acpi-speed.R", c(sz$acpi.N, "14", "2", "{csv}"), if (full) 600 else 300,
      "16.4"),
  job("s4-speed-300", "s4-speed.R", c("300:5", "7001", "default", "{csv}"), 300, "12.5"),
  job("s4-speed-16000", "s4-speed.R", c("16000:3", "7001", "default", "{csv}"), 300, "12.5",
      run = sz$s4.large))
names(jobs) <- vapply(jobs, `[[`, "", "name")
limit <- suppressWarnings(as.numeric(Sys.getenv("P4L_BENCH_TIMEOUT", "NA")))
if (is.finite(limit)) for (k in seq_along(jobs)) jobs[[k]]$timeout <- limit
selected <- function(j) {
  !length(only) || any(c(j$name, sub("\\.R$", "", j$script), j$items) %in% only)
}

# Figures: dir "max" (at most target), "min" (at least), "range" (within
# target[1]..target[2]) or "none" (reported only); get() reads the job's CSV
# and may attach a "note" attribute. bound = TRUE: the figure is the job's
# main time, so a timed-out job gives ratio >= timeout / target.
fig <- function(item, job, label, target, dir, get, fmt = fmt_num, bound = FALSE) {
  list(item = item, job = job, label = label, target = target, dir = dir, get = get,
       fmt = fmt, bound = bound)
}
fmt_num <- function(x) format(signif(x, 3), big.mark = ",", scientific = FALSE, trim = TRUE)
fmt_pct <- function(x) sprintf("%+.2f%%", x)
fmt_int <- function(x) big(round(x))
pick <- function(x, col, ...) {
  cond <- list(...)
  keep <- rep(TRUE, nrow(x))
  for (k in names(cond)) keep <- keep & x[[k]] == cond[[k]]
  v <- x[[col]][keep]
  if (length(v) == 1L) v else NA_real_
}
ladder_top <- function(x, col, th) {
  x <- x[x$part == "ladder", ]
  pick(x, col, n = max(x$n), threads = th)
}
speedup <- function(t1, t2) t1 / t2
loglog_slope <- function(x) {
  x <- x[x$part == "ladder" & x$threads == 2 & is.finite(x$elapsed), ]
  if (nrow(x) < 2L) return(NA_real_)
  unname(stats::coef(stats::lm(log(elapsed) ~ log(n), data = x))[2])
}
with_note <- function(v, note) structure(v, note = note)
s4_fig <- function(stays, acts, target) {
  fig("12.5", paste0("s4-speed-", stays),
      sprintf(paste("p4l() on S4 ICU-like stays, %s stays x %d actions (K = 2, defaults,",
                    "2 threads), wall s"), big(stays), acts),
      target, "max", bound = TRUE, get = function(x) {
        conv <- if (isTRUE(x$converged[1])) "" else ", not converged"
        with_note(x$wall[1], sprintf("%s transitions, %d iterations%s", big(x$transitions[1]),
                                     x$iterations[1], conv))
      })
}
n.p4l <- sci(sz$p4l.n)
figs <- list(
  fig("16.1", "p4l-speed", sprintf("P4L fit, n = %s transitions, 2 threads, s", n.p4l), 10, "max",
      get = function(x) with_note(ladder_top(x, "elapsed", 2),
                                  sprintf("%s iterations", ladder_top(x, "iterations", 2)))),
  fig("16.1", "p4l-speed", "peak memory of that fit (VmHWM, R included), MB", 1024,
      "max", get = function(x) ladder_top(x, "peak.mb", 2), fmt = fmt_int),
  fig("16.1", "p4l-speed",
      sprintf("log-log slope of P4L fit time vs n (2 threads, n = 1e4 to %s)", n.p4l),
      c(0.9, 1.1), "range", get = loglog_slope),
  fig("16.2", "p4l-speed", sprintf("P4L: 1-thread / 2-thread time, n = %s", n.p4l), 1.8, "min",
      get = function(x) speedup(ladder_top(x, "elapsed", 1), ladder_top(x, "elapsed", 2))),
  fig("16.2", "rbf",
      sprintf("rbf_basis(): 1-thread / 2-thread time, %s x 4 states", sci(sz$rbf.n)), 1.8, "min",
      get = function(x) speedup(pick(x, "fit.seconds", num.threads = 1),
                                pick(x, "fit.seconds", num.threads = 2))),
  fig("16.2", "rbf", "predict() of that basis: 1-thread / 2-thread time", 1.8, "min",
      get = function(x) speedup(pick(x, "predict.seconds", num.threads = 1),
                                pick(x, "predict.seconds", num.threads = 2))),
  fig("16.2", "baselines", sprintf("FQI (basis given): 1-thread / 2-thread time, n = %s",
                                   sci(sz$fqi.n)), 1.8, "min",
      get = function(x) with_note(speedup(pick(x, "seconds", part = "fqi.n", threads = 1),
                                          pick(x, "seconds", part = "fqi.n", threads = 2)),
                                  sprintf("n = %s", big(x$n[x$part == "fqi.n"][1])))),
  fig("16.2", "evaluate-speed", "evaluate_policy(), 2-D: 1-thread / 2-thread time", 1.8, "min",
      get = function(x) {
        x <- x[startsWith(x$case, "2-D"), ]
        speedup(pick(x, "seconds", num.threads = 1), pick(x, "seconds", num.threads = 2))
      }),
  fig("16.2", "evaluate-speed", "evaluate_policy(), CartPole C: 1-thread / 2-thread time", 1.8,
      "min", get = function(x) {
        x <- x[startsWith(x$case, "CartPole"), ]
        speedup(pick(x, "seconds", num.threads = 1), pick(x, "seconds", num.threads = 2))
      }),
  fig("16.3", "rbf", sprintf("rbf_basis() fit, %s x 4 states, 64 centres, 2 threads, s",
                             sci(sz$rbf.n)), 3, "max",
      get = function(x) pick(x, "fit.seconds", num.threads = 2)),
  fig("16.3", "rbf", "withinss of that basis above full Lloyd's, %", 1, "max", fmt = fmt_pct,
      get = function(x) pick(x, "vs.full.pct", num.threads = 2)),
  fig("16.4", "acpi-speed", sprintf(paste("acpi(K = 2, gamma = 0.9), sim_icu() %s stays,",
                                          "at most 14 decisions each, 8 actions, 2 threads, s"),
                                    big(sz$acpi.N)), 60, "max", bound = TRUE,
      get = function(x) with_note(x$seconds[1], sprintf("%s transitions",
                                                         big(x$transitions[1])))),
  fig("16.5", "baselines", "vlearning() fit, T = 200 (n = 12,000), 2 threads, s", 0.3, "max",
      get = function(x) pick(x, "seconds", part = "paper", T = 200, method = "vlearning")),
  fig("16.5", "evaluate-speed", "evaluate_policy() throughput, 2-D, 2 threads, steps/s", NA,
      "none", fmt = fmt_int, get = function(x) {
        x <- x[startsWith(x$case, "2-D"), ]
        pick(x, "steps.per.second", num.threads = 2)
      }),
  fig("16.5", "evaluate-speed", "evaluate_policy() throughput, CartPole C, 2 threads, steps/s",
      NA, "none", fmt = fmt_int, get = function(x) {
        x <- x[startsWith(x$case, "CartPole"), ]
        pick(x, "steps.per.second", num.threads = 2)
      }),
  s4_fig(300, 25, 20),
  s4_fig(16000, 9, 60))

target_text <- function(f) switch(f$dir,
  max = paste("<=", f$fmt(f$target)), min = paste(">=", f$fmt(f$target)),
  range = sprintf("%s to %s", f$target[1], f$target[2]), none = "none (reported)")
ratio_of <- function(f, m) switch(f$dir,
  max = m / f$target, min = f$target / m, range = max(m / f$target[2], f$target[1] / m),
  none = NA_real_)

read_text <- function(path) if (file.exists(path)) readLines(path, warn = FALSE) else character(0)
loadavg <- function() paste(strsplit(read_text("/proc/loadavg"), " ")[[1]][1:3], collapse = " ")
run_cmd <- function(cmd, args) {
  out <- tryCatch(suppressWarnings(system2(cmd, args, stdout = TRUE, stderr = FALSE)),
                  error = function(e) character(0))
  if (length(out)) out[1] else NA_character_
}

# Runs one job under `timeout` (its process group, so the scripts' own child
# processes too), output to the console and the log; returns the exit status
# (124: timed out). An interrupt of the runner stops the job's process group.
wrapper <- paste(
  'log=$1; secs=$2; shift 2',
  'timeout --kill-after=30 "$secs" "$@" > >(tee "$log") 2>&1 &',
  'pid=$!',
  paste('trap \'touch "$log.interrupted"; kill -TERM -- -$pid 2>/dev/null; wait $pid;',
        'exit 130\' INT TERM HUP'),
  'wait $pid', sep = "\n")
has.timeout <- nzchar(Sys.which("timeout"))
if (!has.timeout) message("`timeout` (coreutils) not found: the jobs run without a time limit")
rscript <- file.path(R.home("bin"), "Rscript")
run_job <- function(j) {
  args <- c("--vanilla", file.path(bench.dir, j$script),
            sub("{csv}", j$csv, j$args, fixed = TRUE))
  unlink(c(j$csv, j$log, paste0(j$log, ".interrupted")))
  if (has.timeout) {
    system2("bash", c("-c", shQuote(wrapper), "run-job", shQuote(j$log), j$timeout,
                      shQuote(rscript), vapply(args, shQuote, "")))
  } else {
    system2(rscript, vapply(args, shQuote, ""), stdout = j$log, stderr = j$log)
  }
}
shown_command <- function(j) {
  sprintf("`Rscript bench/%s %s`", j$script,
          paste(sub("{csv}", "out.csv", j$args, fixed = TRUE), collapse = " "))
}

# --------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------
p4l.lib <- tryCatch(dirname(find.package("p4l")), error = function(e) NA_character_)
p4l.version <- tryCatch(as.character(utils::packageVersion("p4l")), error = function(e) NA)
if (is.na(p4l.lib)) stop("p4l is not installed in the library path: run `make bench` or set R_LIBS")
commit <- run_cmd("git", c("-C", shQuote(root), "rev-parse", "--short", "HEAD"))
dirty <- length(suppressWarnings(system2("git", c("-C", shQuote(root), "status", "--porcelain"),
                                         stdout = TRUE, stderr = FALSE))) > 0L
started <- Sys.time()
load.before <- loadavg()
cat(sprintf("p4l targets, %s sizes: p4l %s from %s; output in %s\n", scale, p4l.version,
            p4l.lib, out.dir))
if (length(only)) cat("P4L_BENCH_ONLY:", paste(only, collapse = ", "), "\n")
runs <- list()
todo <- Filter(function(j) j$run && selected(j), jobs)
for (k in seq_along(todo)) {
  j <- todo[[k]]
  cat(sprintf("\n== [%d/%d] %s (timeout %d s; load %s) ==\n", k, length(todo),
              shown_command(j), j$timeout, loadavg()))
  load1 <- strsplit(loadavg(), " ")[[1]][1]
  t0 <- proc.time()[["elapsed"]]
  status <- run_job(j)
  wall <- proc.time()[["elapsed"]] - t0
  if (file.exists(paste0(j$log, ".interrupted"))) stop("interrupted: ", j$name, " stopped")
  state <- if (status == 0) "ok" else if (status %in% c(124, 137)) "timed out" else
    sprintf("failed (exit %d)", status)
  cat(sprintf("== %s: %s, %.1f s ==\n", j$name, state, wall))
  runs[[j$name]] <- list(status = status, state = state, wall = wall, load1 = load1,
                         data = if (file.exists(j$csv)) utils::read.csv(j$csv) else NULL)
}
finished <- Sys.time()
load.after <- loadavg()
total <- as.numeric(difftime(finished, started, units = "secs"))

# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------
rows <- do.call(rbind, lapply(figs, function(f) {
  j <- jobs[[f$job]]
  r <- runs[[f$job]]
  value <- NA_real_
  ratio <- NA_real_
  ratio.text <- "-"
  met <- "-"
  if (is.null(r)) {
    measured <- if (!j$run) "not run (quick mode)" else "not run (P4L_BENCH_ONLY)"
  } else {
    v <- if (is.null(r$data)) NA_real_ else
      tryCatch(f$get(r$data), error = function(e) NA_real_)
    note <- attr(v, "note")
    value <- as.numeric(v)
    if (is.finite(value)) {
      measured <- f$fmt(value)
      extra <- c(note, if (r$status != 0) paste("script", r$state))
      if (length(extra)) measured <- sprintf("%s (%s)", measured, paste(extra, collapse = "; "))
      if (f$dir != "none") {
        ratio <- ratio_of(f, value)
        ratio.text <- sprintf(if (abs(ratio - 1) < 0.005) "%.3f" else "%.2f", ratio)
        met <- if (ratio <= 1) "yes" else "no"
      }
    } else if (r$state == "timed out") {
      measured <- sprintf("timed out (> %d s)", j$timeout)
      if (f$bound && f$dir == "max") {
        ratio.text <- sprintf(">= %.2f", j$timeout / f$target)
        if (j$timeout >= f$target) met <- "no"
      }
    } else {
      measured <- if (r$state == "ok") "not available (see log)" else r$state
    }
  }
  data.frame(item = f$item, figure = f$label, measured = measured, target = target_text(f),
             ratio = ratio.text, met = met, command = shown_command(j), value = value,
             target.value = if (f$dir == "none") NA else paste(f$target, collapse = ".."),
             direction = f$dir, job = f$job, stringsAsFactors = FALSE)
}))
rows.csv <- cbind(date = format(started, "%Y-%m-%d %H:%M UTC", tz = "UTC"),
                  commit = paste0(commit, if (dirty) "+dirty" else ""), scale = scale, rows)
run.rows <- do.call(rbind, lapply(names(runs), function(nm) {
  r <- runs[[nm]]
  data.frame(command = shown_command(jobs[[nm]]), result = r$state,
             wall = sprintf("%.1f", r$wall), timeout = jobs[[nm]]$timeout, load = r$load1)
}))

others <- setdiff(basename(Sys.glob(file.path(bench.dir, c("*.R", "*.sh")))),
                  c(vapply(jobs, `[[`, "", "script"), "run-targets.R",
                    "stress-data.R", "study-common.R"))   # the last two are sourced helpers

md_table <- function(df, header) {
  esc <- function(x) gsub("|", "\\|", x, fixed = TRUE)
  c(paste0("| ", paste(header, collapse = " | "), " |"),
    paste0("|", paste(rep("---", length(header)), collapse = "|"), "|"),
    apply(df, 1, function(r) paste0("| ", paste(esc(r), collapse = " | "), " |")))
}
wrap <- function(...) c(strwrap(paste0(...), width = 78), "")
cpu <- sub("^[^:]*:\\s*", "", grep("^model name", read_text("/proc/cpuinfo"), value = TRUE)[1])
complete <- full && !length(only) && all(vapply(jobs, function(j) j$name %in% names(runs), NA))
block <- c(
  "# Performance targets: `make bench`",
  "",
  if (!full) wrap("**Quick mode: every target at a small size, to test the runner. These ",
                  "are not the targets' sizes; the ratios mean nothing.**"),
  if (length(only)) wrap("**Partial run (P4L_BENCH_ONLY = ", paste(only, collapse = ", "), ").**"),
  wrap(sprintf(paste("Written by `bench/run-targets.R` (`make bench`; do not edit between the",
                "markers). Run %s, commit %s%s, p4l %s; %s CPUs (nproc), %s; load average",
                "(/proc/loadavg 1, 5, 15 min) %s before, %s after; total wall time %.0f s."),
          format(started, "%Y-%m-%d %H:%M UTC", tz = "UTC"), commit,
          if (dirty) " + uncommitted changes" else "", p4l.version,
          run_cmd("nproc", character(0)), cpu, load.before, load.after, total)),
  wrap(paste("Ratio to target: measured / target for an upper limit (<=), target / measured",
        "for a lower limit (>=), for a range the larger of measured / upper and lower /",
        "measured; so in every row **a ratio <= 1 means met, and lower is better**. A",
        "timed-out script gives ratio >= time limit / target (its time limit includes R's",
        "start and the data simulation). Item 16.n = issue 16, item n; 12.5 = issue 12, item",
        "5. Each script runs alone in its own process (`timeout`); \"out.csv\" is where it",
        "writes its figures. The P4L fit at the largest size, rbf_basis() and FQI at 10^6",
        "are the best of three interleaved runs per thread count (1, 2, 1, 2, 1, 2): the",
        "speed of this VM drifts by up to 40% between minutes (section \"Measuring the",
        "thread ratio\" below).")),
  md_table(rows[c("item", "figure", "measured", "target", "ratio", "met", "command")],
           c("item", "figure", "measured", "target", "ratio to target", "met?", "script command")),
  "",
  md_table(run.rows, c("script command", "result", "wall s", "time limit s",
                       "load (1 min) at start")),
  "",
  strwrap(paste0("Not run by `make bench`: the quality and study scripts (",
                 paste0("`", others, "`", collapse = ", "),
                 "); each has its own command and results in the sections below; several ",
                 "take hours."), width = 78))

if (complete) {
  readme <- file.path(bench.dir, "README.md")
  lines <- read_text(readme)
  b <- which(lines == "<!-- make bench: begin -->")
  e <- which(lines == "<!-- make bench: end -->")
  new <- c("<!-- make bench: begin -->", block, "<!-- make bench: end -->")
  lines <- if (length(b) == 1L && length(e) == 1L && e > b) {
    c(lines[seq_len(b - 1L)], new, lines[-seq_len(e)])
  } else {
    c(new, "", lines)
  }
  writeLines(lines, readme)
  utils::write.csv(rows.csv, file.path(bench.dir, "targets.csv"), row.names = FALSE)
  md.out <- readme
  csv.out <- file.path(bench.dir, "targets.csv")
} else {
  md.out <- file.path(out.dir, sprintf("targets-%s.md", scale))
  csv.out <- file.path(out.dir, sprintf("targets-%s.csv", scale))
  writeLines(block, md.out)
  utils::write.csv(rows.csv, csv.out, row.names = FALSE)
}
cat("\n", paste(block, collapse = "\n"), "\n", sep = "")
cat(sprintf("\nWritten: %s, %s%s\n", md.out, csv.out,
            if (complete) "" else " (not a complete full-size run: bench/README.md unchanged)"))
cat("\nOther bench scripts (studies, not run here; commands in bench/README.md):\n",
    paste0("  bench/", others, "\n"), sep = "")
