# Rebuilds inst/extdata/sepsis-demo.csv.gz, the sepsis cohort derived from the
# MIMIC-III Clinical Database Demo (Open Database License v1.0; the notice is in
# inst/extdata/sepsis-demo-LICENSE.md), with sepsis_cohort()'s defaults.
#
# Needs ricu (CRAN; data.table >= 1.15), the data package mimic.demo
# (R CMD INSTALL ../shared/data/mimic.demo, or its drat repository) and p4l
# installed from this source tree. Run from the package root:
#   Rscript data-raw/sepsis-demo.R
library(p4l)
stopifnot(requireNamespace("ricu", quietly = TRUE),
          requireNamespace("mimic.demo", quietly = TRUE))
elapsed <- system.time(cohort <- sepsis_cohort("mimic_demo"))[["elapsed"]]
out <- file.path("inst", "extdata", "sepsis-demo.csv.gz")
con <- gzfile(out, "w")
utils::write.csv(cohort, con, row.names = FALSE, na = "NA")
close(con)
# The shipped file must read back as the cohort it was written from.
back <- p4l:::read_sepsis_csv(out)
attributes(cohort)[c("src", "window", "block.hours")] <- NULL
stopifnot(isTRUE(all.equal(back, cohort, tolerance = 1e-12)))
cat(sprintf("%s: %d stays, %d rows (stay x block), %d columns; extracted in %.1f s with ricu %s\n",
            out, length(unique(cohort$icustayid)), nrow(cohort), ncol(cohort), elapsed,
            format(utils::packageVersion("ricu"))))
