# Which states an individual's value is taken over (p4l_control(initial = )):
# "shared" (the paper's initial states of all individuals) against "visited"
# (the individual's own states), on the stress suite's generators with the
# second replication's seeds (rep.offset = 1), not the seeds of the reported
# stress table.
# Usage: Rscript bench/initial-states.R <shared|visited> <out.csv> [suites]
args <- commandArgs(TRUE)
initial <- args[1]
out <- args[2]
suites <- if (length(args) > 2) strsplit(args[3], ",")[[1]] else c("S1", "S2", "S5", "S3")
suppressMessages(library(p4l))
source(file.path("bench", "stress-data.R"))
options(p4l.stress.rep.offset = 1L,
        p4l.stress.control = p4l_control(initial = initial))
res <- list()
for (s in suites) {
  t0 <- proc.time()[["elapsed"]]
  res[[s]] <- switch(s, S1 = stress_run_s1(1), S2 = stress_run_s2(1), S3 = stress_run_s3(1),
                     S5 = stress_run_s5(1))
  res[[s]]$initial <- initial
  message(s, " done in ", round(proc.time()[["elapsed"]] - t0), " s")
  utils::write.csv(do.call(rbind, res), out, row.names = FALSE)
}
