#!/usr/bin/env Rscript
# The paper's Table 2 (Sec 6.2) with run_study() and cartpole_study():
# settings A, B, C of cartpole_settings(), 100 trajectories per environment,
# gamma = 0.9, 32 shared RBF centres, P4L with K = 2, 3, 4, 5 and "auto"
# (p4l_control(max.iter = 1000, init.policy = "fqi"), the choices of
# bench/cartpole-table2.R, whose header gives the reasons), ACPI, FQI,
# V-learning and the behaviour policy; every trajectory's policy evaluated in
# its own environment (10 episodes of at most 300 steps); score = mean steps.
#
#   Rscript bench/cartpole-study.R [replications] [workers] [cell dir]
#
# Defaults: 20 replications, 2 local workers, cells in
# bench/cartpole-study-cells/ (committed, so that a run stopped at the end of
# a session resumes in the next: re-run the same command). Seeds 20261206 +
# r - 1; no package setting was chosen on them. Writes
# inst/extdata/cartpole-study.csv.gz and bench/cartpole-study-summary.md
# from the finished cells (P4L_BENCH_READ=1 summarises a stopped run as it
# stands, see bench/study-common.R).
suppressPackageStartupMessages(library(p4l))
source("bench/study-common.R")
cp <- cartpole_study()
run <- bench_study_main(cp, 20L, "bench/cartpole-study-cells", 20261206, "inst/extdata/cartpole-study.csv.gz")
s <- run$summary
s$cell <- sprintf("%.1f (%.1f)", s$mean, s$se)
md <- unlist(lapply(split(s, s$cartpole), function(t) {
  w <- reshape(data.frame(t[c("cartpole", "subgroup", "method", "cell")]),
               idvar = c("cartpole", "method"), timevar = "subgroup", direction = "wide")
  names(w) <- sub("^cell\\.", "", names(w))
  c(bench_markdown(w), "")
}))
writeLines(c(run$header, "", md),
           "bench/cartpole-study-summary.md")
cat(md, sep = "\n")
