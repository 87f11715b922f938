# Fit times of P4L on the stress suite's S4 ICU-like data (issue 12, item 5):
# 300 stays x 25 actions and 16,000 stays x 9 actions (at most 20 decisions per
# stay), defaults, K = 2, gamma = 0.9, 2 threads.
#
#   R_LIBS=<library> Rscript bench/s4-speed.R [sets] [seed] [max.iter] [out.csv]
#
# sets: comma-separated "stays:levels" (levels^2 actions; default
# "300:5,16000:3"); seed: the generator's seed (default 7001, a development
# seed of the stress suite, not a reported one); max.iter: the fit's limit
# (default: p4l_control()'s). One row per data set: wall time of p4l() and its
# parts (fit$timings: basis, start, ADMM iterations, the rest = value table
# and fitted object), iterations, evaluations, seconds per evaluation,
# converged, the pessimistic value. Times are wall-clock seconds on this
# machine; run it alone (a second job on the other core halves the speed).
args <- commandArgs(trailingOnly = TRUE)
sets <- if (length(args) >= 1) strsplit(args[1], ",")[[1]] else c("300:5", "16000:3")
seed <- if (length(args) >= 2) as.integer(args[2]) else 7001L
max.iter <- if (length(args) >= 3 && args[3] != "default") as.integer(args[3]) else NA
out.csv <- if (length(args) >= 4) args[4] else ""

suppressMessages(library(p4l))
bench.dir <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
})
source(file.path(bench.dir, "stress-data.R"))

ctl <- if (is.na(max.iter)) p4l_control() else p4l_control(max.iter = max.iter)
rows <- lapply(sets, function(s) {
  p <- as.integer(strsplit(s, ":", fixed = TRUE)[[1]])
  d <- stress_s4_data(p[1], p[2], seed = seed)
  t0 <- proc.time()[["elapsed"]]
  fit <- suppressWarnings(p4l(d, K = 2, gamma = 0.9, seed = 1, control = ctl, num.threads = 2))
  wall <- proc.time()[["elapsed"]] - t0
  tm <- fit$timings
  row <- data.frame(stays = p[1], actions = p[2]^2, transitions = nrow(d$S),
                    centres = nrow(fit$basis$centers), seed = seed, wall = wall,
                    basis = tm[["basis"]], start = tm[["init"]], iterations.s = tm[["fit"]],
                    rest = wall - tm[["basis"]] - tm[["init"]] - tm[["fit"]],
                    iterations = fit$iterations, evaluations = fit$evaluations,
                    s.per.evaluation = tm[["fit"]] / fit$evaluations,
                    converged = fit$converged, value = fit$value,
                    p4l = as.character(utils::packageVersion("p4l")))
  print(row, row.names = FALSE)
  row
})
res <- do.call(rbind, rows)
if (nzchar(out.csv)) utils::write.csv(res, out.csv, row.names = FALSE)
