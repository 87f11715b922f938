# Development experiment (issue 12): P4L with alpha = its default + the
# approximation part of the over-identification residual of
# bench/misspecification.R ("add"), or the larger of the two ("max"), on the
# stress suite's generators with the second replication's seeds (S1
# 1002/2002/3002, S5 1002, S3 302, S2 102; S4 "S4:<stays>:<levels>" with
# generator seed 7001). Writes the suite's rows (bench/stress-data.R).
#
#   R_LIBS=<library> Rscript bench/misspecification-alpha.R S5,S1 <out.csv> [add|max]
suppressMessages(library(p4l))
source(file.path("bench", "misspecification.R"))
args <- commandArgs(TRUE)
suites <- strsplit(args[1], ",")[[1]]
out <- args[2]
mode <- if (length(args) > 2) args[3] else "add"
options(p4l.stress.rep.offset = 1L, p4l.stress.alpha = function(d, gamma, K) {
  r <- misspecification_residual(d, gamma, "x", rank = K)
  a <- if (mode == "add") r$alpha.default + r$e.approx else max(r$alpha.default, r$e.approx)
  message(sprintf("alpha: default %.4f + approx %.4f -> %.4f", r$alpha.default, r$e.approx, a))
  a
})
shown <- c("suite", "dataset", "gamma", "subgroup", "converged", "p4l.value", "p4l.eval",
           "behaviour.eval", "fqi.eval", "optimum", "p4l.secs", "pass.behaviour", "pass.fqi",
           "pass.optimum")
res <- list()
for (s in suites) {
  p <- strsplit(s, ":")[[1]]
  res[[s]] <- switch(p[1], S1 = stress_run_s1(1), S2 = stress_run_s2(1), S3 = stress_run_s3(1),
                     S5 = stress_run_s5(1),
                     S4 = stress_run_s4(as.integer(p[2]), as.integer(p[3]), rep = 7001 - 500))
  utils::write.csv(do.call(rbind, res), out, row.names = FALSE)
  print(res[[s]][, intersect(shown, names(res[[s]]))], digits = 4)
}
