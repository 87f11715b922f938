# Development (session 19): tune_p4l(K = 1:3, folds = 3, num.boot = 50) on a synthetic
# sepsis cohort (sim_sepsis_cohort(3000, seed = COHORT), 1,000 stays drawn with DRAW,
# the 16-centre basis of sepsis_study()). Cohorts 9001/9002 and 9003/9004.
#   R_LIBS=<library> Rscript bench/sepsis-tune-dev.R COHORT DRAW
suppressPackageStartupMessages(library(p4l))
cs <- as.integer(commandArgs(TRUE)[1]); ds <- as.integer(commandArgs(TRUE)[2])
sim <- sim_sepsis_cohort(3000, seed = cs)
D <- suppressMessages(sepsis_data(sim$data))
set.seed(ds); ids <- sort(D$ids[sample.int(length(D$ids), 1000)])
d <- subset(D, ids = ids)
basis <- rbf_basis(d, num.centers = 16, seed = 1)
t0 <- proc.time()[["elapsed"]]
tn <- suppressWarnings(tune_p4l(d, K = 1:3, gamma = 0.8, basis = basis, folds = 3, num.boot = 50, seed = 1))
cat("secs", proc.time()[["elapsed"]] - t0, "\n")
print(tn)
