# Table 3 on the shipped MIMIC-III demo cohort (sepsis_demo(): 76 stays), the
# protocol of vignette("sepsis") section 4 with more replications: persim()
# on all stays, sepsis_study() (all 76 stays each time; P4L with K chosen by
# select_groups(), ACPI, VL, FQI, the clinicians), 50 episodes per stay,
# replications differing in the basis' K-means start and the fits' seeds.
# Prints the mean value per method with its standard error over the
# replications, P4L's clusters, and the wall time.
#   R_LIBS=<library> Rscript bench/sepsis-demo-table3.R [replications] [out.csv]
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
reps <- if (length(args) >= 1) as.integer(args[1]) else 10L
out <- if (length(args) >= 2) args[2] else ""
t0 <- proc.time()[["elapsed"]]
d <- suppressMessages(sepsis_data(sepsis_demo()))
print(d)
sim <- persim(d, seed = 1)
st <- sepsis_study(d, simulator = sim, num.episodes = 50, seed = 1)
res <- run_study(st$design, st$methods, st$simulate, st$evaluate, replications = reps, seed = 1)
tab <- as.data.frame(res)
if (nzchar(out)) utils::write.csv(tab, out, row.names = FALSE)
v <- tab[tab$subgroup == "all" | is.na(tab$subgroup), ]
if (!nrow(v)) v <- tab
agg <- do.call(rbind, lapply(split(v, factor(v$method, unique(v$method))), function(x)
  data.frame(method = x$method[1], value = mean(x$value), se = stats::sd(x$value) / sqrt(nrow(x)),
             replications = nrow(x))))
print(agg, row.names = FALSE)
print(summary(res))
message(sprintf("wall time %.0f s", proc.time()[["elapsed"]] - t0))
