# Fit time of acpi() at the size of issue 16, item 4 (1,000 individuals x 14
# transitions x 8 actions, target at most 60 s): sim_icu() stays (8 actions,
# seed 7001) cut at max.decisions decisions, so a stay has at most 14
# transitions (fewer when it ends in death or discharge); acpi(K = 2, gamma =
# 0.9, seed = 1) with the default basis built inside the call (timed), fusion
# path with acpi_control() defaults. Prints one row: patients, transitions,
# actions, basis (class and features per action), seconds, clusters.
#
#   R_LIBS=<library> Rscript bench/acpi-speed.R [patients] [max.decisions] [threads] [out.csv]
#
# Defaults: 1000 patients, 14 decisions, 2 threads; out.csv (optional) also
# writes the row to a CSV (bench/run-targets.R). Run it alone, and under a
# time limit (`timeout 600 Rscript ...`): the time grows fast with the number
# of stays with every pair (2 s at 50 stays, 13 s at 100 on the 2-core machine,
# 2026-12-06); above 300 stays acpi() uses its sparse graph (53 to 64 s at 1,000).
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
patients <- if (length(args) >= 1) as.integer(args[1]) else 1000L
max.decisions <- if (length(args) >= 2) as.integer(args[2]) else 14L
threads <- if (length(args) >= 3) as.integer(args[3]) else 2L
out.csv <- if (length(args) >= 4) args[4] else ""

sim <- sim_icu(patients, max.decisions = max.decisions, seed = 7001, num.threads = threads)
d <- p4l_data(sim$data, "id", "time", "action", "reward", env_icu()$state.names,
              terminal = "terminal")
cat(sprintf("acpi(K = 2, gamma = 0.9): %d stays, %d transitions, %d actions, %d threads\n",
            length(d$ids), length(d$R), length(d$action.levels), threads))
t.fit <- system.time(fit <- acpi(d, K = 2, gamma = 0.9, seed = 1,
                                 num.threads = threads))[["elapsed"]]
res <- data.frame(patients = length(d$ids), max.decisions = max.decisions,
                  transitions = length(d$R), actions = length(d$action.levels),
                  basis = class(fit$basis)[1], basis.dim = nrow(fit$q.coef[[1]]),
                  threads = threads, seconds = t.fit, clusters = fit$K)
print(res, row.names = FALSE)
if (nzchar(out.csv)) utils::write.csv(res, out.csv, row.names = FALSE)
