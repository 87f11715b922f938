# The stress suite's generators with the second replication's seeds (rep.offset
# = 1: S1 1002/2002/3002, S2 102, S3 302, S5 1002; not the seeds of the reported
# stress table) and P4L with a changed control, for choosing settings.
# Usage: R_LIBS=<library> Rscript bench/stress-dev.R "<p4l_control() arguments>" <out.csv> [suites]
#   e.g. Rscript bench/stress-dev.R "init.policy = 'behaviour', ridge = 1e-3" dev.csv S1,S5
# Writes the suite's rows (bench/stress-data.R, stress_rows()) with a column `control`.
args <- commandArgs(TRUE)
ctl.text <- args[1]
out <- args[2]
suites <- if (length(args) > 2) strsplit(args[3], ",")[[1]] else c("S1", "S2", "S5", "S3")
suppressMessages(library(p4l))
source(file.path("bench", "stress-data.R"))
options(p4l.stress.rep.offset = 1L,
        p4l.stress.control = eval(parse(text = sprintf("p4l_control(%s)", ctl.text))))
res <- list()
for (s in suites) {
  t0 <- proc.time()[["elapsed"]]
  res[[s]] <- switch(s, S1 = stress_run_s1(1), S2 = stress_run_s2(1), S3 = stress_run_s3(1),
                     S5 = stress_run_s5(1))
  res[[s]]$control <- ctl.text
  message(s, " done in ", round(proc.time()[["elapsed"]] - t0), " s")
  utils::write.csv(do.call(rbind, res), out, row.names = FALSE)
}
