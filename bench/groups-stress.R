# select_groups() on the stress suite's data sets with planted structure, at
# the reported seeds (nothing here chose a setting): S2 (the dose study, 40
# patients x 15 visits, two response types; seed 101), S3 (sim_icu(), 1,000
# episodic courses, typical / atypical; seed 301), S4 (ICU-like stays, 300
# stays, 9 actions; continuous latent severity, no subgroups; seed 501) and
# the sepsis demo cohort (76 real stays, truth unknown). Both methods and
# "auto"; ARI against the planted subgroups.
#   R_LIBS=<library> Rscript bench/groups-stress.R [out.csv]
suppressPackageStartupMessages(library(p4l))
here <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
})
source(file.path(here, "adjusted-rand.R"))
source(file.path(here, "stress-data.R"))
out <- commandArgs(TRUE)[1]
sets <- list()
s2 <- sim_s2(40, 15, seed = 101)
sets$S2 <- list(d = p4l_data(s2$data, "id", "visit", "dose", "reward", "crp"),
                truth = s2$type)
s3 <- sim_icu(1000, seed = 301)
sets$S3 <- list(d = p4l_data(s3$data, "id", "time", "action", "reward", env_icu()$state.names,
                             terminal = "terminal"),
                truth = s3$group)
s4 <- sim_s4(300, 3, seed = 501)
sets$S4 <- list(d = stress_s4_data(300, 3, sim = s4), truth = NULL)
sets$demo <- list(d = suppressMessages(sepsis_data(sepsis_demo())), truth = NULL)
rows <- NULL
for (nm in names(sets)) {
  d <- sets[[nm]]$d
  truth <- sets[[nm]]$truth
  for (method in c("auto", "kde", "mixture")) {
    t0 <- proc.time()[["elapsed"]]
    g <- tryCatch(suppressMessages(select_groups(d, method = method)), error = function(e) e)
    secs <- proc.time()[["elapsed"]] - t0
    if (inherits(g, "error")) {
      cat(sprintf("%-4s %-7s error: %s\n", nm, method, conditionMessage(g)))
      next
    }
    ari <- if (is.null(truth)) NA_real_ else adjusted_rand(g$cluster, truth[names(g$cluster)])
    cat(sprintf("%-4s %-7s -> %-7s K = %d  ARI %s  %.1f s\n", nm, method, g$method, g$K,
                format(round(ari, 3)), secs))
    rows <- rbind(rows, data.frame(data = nm, method = method, used = g$method, K = g$K,
                                   ari = ari, seconds = secs))
  }
}
if (!is.na(out)) utils::write.csv(rows, out, row.names = FALSE)
