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
args <- commandArgs(TRUE)
R <- if (length(args) >= 1) as.integer(args[1]) else 50L
workers <- if (length(args) >= 2) as.integer(args[2]) else 2L
dir <- if (length(args) >= 3) args[3] else "bench/figure1-cells"
seed <- 20261205
fig <- linear2d_study()
if (workers > 1) future::plan(future::multisession, workers = workers)
t0 <- proc.time()[["elapsed"]]
st <- progressr::with_progress(
  run_study(fig$design, fig$methods, fig$simulate, fig$evaluate, replications = R,
            seed = seed, dir = dir))
wall <- proc.time()[["elapsed"]] - t0
cat(sprintf("wall time %.0f s for %d cells\n", wall, nrow(fig$design) * R))
x <- as.data.frame(unclass(st))
attr(x, "design") <- attr(x, "study") <- NULL
x$value <- signif(x$value, 6)
x$se <- signif(x$se, 4)
x$seconds <- round(x$seconds, 3)
con <- gzfile("inst/extdata/figure1.csv.gz", "w")
utils::write.csv(x, con, row.names = FALSE)
close(con)
s <- summary(st)
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
md <- c(paste0("| ", paste(names(tab), collapse = " | "), " |"),
        paste0("|", paste(rep("---", ncol(tab)), collapse = "|"), "|"),
        apply(tab, 1, function(r) paste0("| ", paste(trimws(r), collapse = " | "), " |")))
fails <- aggregate(cbind(errors, not.converged) ~ method, data = s[s$subgroup == "a", ], FUN = sum)
writeLines(c(sprintf("%d replications, seeds %d to %d, wall %.0f s with %d workers.", R, seed,
                     seed + R - 1, wall, workers), "", md, "",
             "Errors and non-converged fits per method (all settings):", "",
             utils::capture.output(print(fails, row.names = FALSE))),
           "bench/figure1-summary.md")
cat(md, sep = "\n")
