#!/usr/bin/env Rscript
# The paper's Figure 1 (Sec 6.1.1) with run_study(): the 2-D environment,
# |G_k| in {10, 20} per subgroup x T in {50, 100, 200}, the paper's rewards
# and the reversed-reward variant, P4L with K = 2, 3, 4, 5 and K = "auto",
# ACPI, FQI and V-learning on one shared 16-centre RBF basis, each policy
# evaluated with 1,000 Monte Carlo episodes per subgroup (linear2d_study()).
#
#   Rscript bench/figure1.R [replications] [workers] [cell dir]
#
# Defaults: 50 replications (as in the paper), 2 local workers
# (future::plan(multisession)), cells in bench/figure1-cells/ (one file per
# setting and replication; re-running the same command resumes a stopped
# run). Seeds 20261205 + r - 1; no package setting was chosen on them.
# Writes inst/extdata/figure1.csv.gz (shipped, read by the figure1 vignette)
# and bench/figure1-summary.md (mean and standard error per cell).
suppressPackageStartupMessages(library(p4l))
source("bench/study-common.R")
fig <- linear2d_study()
run <- bench_study_main(fig, 50L, "bench/figure1-cells", 20261205, "inst/extdata/figure1.csv.gz")
s <- run$summary
opt <- rbind(data.frame(variant = "paper", subgroup = names(fig$optimum("paper")),
                        optimum = fig$optimum("paper")),
             data.frame(variant = "reversed", subgroup = names(fig$optimum("reversed")),
                        optimum = fig$optimum("reversed")))
s$cell <- sprintf("%.3f (%.3f)", s$mean, s$se)
tab <- reshape(data.frame(s[c("variant", "per.group", "T", "subgroup", "method", "cell")]),
               idvar = c("variant", "per.group", "T", "subgroup"), timevar = "method",
               direction = "wide")
names(tab) <- sub("^cell\\.", "", names(tab))
tab$optimum <- sprintf("%.3f", opt$optimum[match(paste(tab$variant, tab$subgroup),
                                                  paste(opt$variant, opt$subgroup))])
tab <- tab[order(tab$variant, tab$per.group, tab$T, tab$subgroup), ]
md <- bench_markdown(tab)
fails <- aggregate(cbind(errors, not.converged) ~ method, data = s[s$subgroup == "a", ], FUN = sum)
writeLines(c(run$header, "", md, "",
             "Errors and non-converged fits per method (all settings):", "",
             utils::capture.output(print(fails, row.names = FALSE))),
           "bench/figure1-summary.md")
cat(md, sep = "\n")
