# Shared by bench/figure1.R and bench/cartpole-study.R: run a study from its
# run_study() parts on local workers, resumably, and save its rows as a
# compressed CSV (the file shipped in inst/extdata).
#
#   study: a list with design, methods, simulate, evaluate (linear2d_study(),
#          cartpole_study()); R replications; seed; workers; dir (cell files);
#          csv: the output file.
# Returns the run_study() result with attribute "wall" (seconds).
# P4L_BENCH_READ=1 only reads the finished cells (read_study()): the table of a
# stopped or still running study.
bench_run_study <- function(study, R, seed, workers, dir, csv) {
  if (workers > 1) future::plan(future::multisession, workers = workers)
  t0 <- proc.time()[["elapsed"]]
  st <- if (identical(Sys.getenv("P4L_BENCH_READ"), "1")) read_study(dir) else
    progressr::with_progress(
      run_study(study$design, study$methods, study$simulate, study$evaluate,
                replications = R, seed = seed, dir = dir))
  wall <- proc.time()[["elapsed"]] - t0
  cat(sprintf("wall time %.0f s for %d cells\n", wall, nrow(study$design) * R))
  x <- as.data.frame(unclass(st))
  attr(x, "design") <- attr(x, "study") <- NULL
  x$value <- signif(x$value, 6)
  x$se <- signif(x$se, 4)
  x$seconds <- round(x$seconds, 3)
  con <- gzfile(csv, "w")
  utils::write.csv(x, con, row.names = FALSE)
  close(con)
  attr(st, "wall") <- wall
  st
}

# Markdown lines of a data frame.
bench_markdown <- function(tab) {
  c(paste0("| ", paste(names(tab), collapse = " | "), " |"),
    paste0("|", paste(rep("---", ncol(tab)), collapse = "|"), "|"),
    apply(tab, 1, function(r) paste0("| ", paste(trimws(r), collapse = " | "), " |")))
}

# Command line: [replications] [workers] [cell dir].
bench_study_args <- function(R, dir) {
  args <- commandArgs(TRUE)
  list(R = if (length(args) >= 1) as.integer(args[1]) else R,
       workers = if (length(args) >= 2) as.integer(args[2]) else 2L,
       dir = if (length(args) >= 3) args[3] else dir)
}

# The whole run of a bench study script: arguments, run, summary and the
# first line of its summary file.
bench_study_main <- function(study, R, dir, seed, csv) {
  a <- bench_study_args(R, dir)
  st <- bench_run_study(study, a$R, seed, a$workers, a$dir, csv)
  list(study = st, summary = summary(st),
       header = sprintf("%d replications, seeds %d to %d, wall %.0f s with %d workers.", a$R,
                        seed, seed + a$R - 1, attr(st, "wall"), a$workers))
}
