# The sepsis-report RMarkdown template (inst/rmarkdown/templates/sepsis-report,
# ?sepsis_report) drafts and knits on the shipped demo cohort.
test_that("the sepsis-report template drafts and knits on the demo cohort", {
  skip_if_not_installed("rmarkdown")
  skip_if_not(rmarkdown::pandoc_available())
  dir <- tempfile("sepsis-report-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  rmd <- file.path(dir, "report.Rmd")
  rmarkdown::draft(rmd, template = "sepsis-report", package = "p4l", edit = FALSE)
  expect_true(file.exists(rmd))
  out <- rmarkdown::render(rmd, output_dir = dir, quiet = TRUE, envir = new.env(),
                           params = list(num.boot = 20))
  expect_true(file.exists(out))
  # One line, single spaces (pandoc wraps lines), so that phrases match.
  read_html <- function(path) gsub("\\s+", " ", paste(readLines(path, warn = FALSE), collapse = " "))
  html <- read_html(out)
  has <- function(text, fixed = TRUE) grepl(text, html, fixed = fixed)
  for (h in c("Cohort", "Action distribution", "The fitted clusters",
              "Recommendations per stay", "Values with intervals", "Convergence")) {
    expect_true(has(paste0(">", h, "</h1>")), info = h)
  }
  # Numbers recomputed independently of the report.
  cohort <- sepsis_demo()
  num.stays <- length(unique(cohort$icustayid))
  expect_true(has(paste0("<strong>", num.stays, " ICU stays</strong>")))
  expect_true(has(paste0("<strong>", nrow(cohort), " 4-hour blocks</strong>")))
  # The clinicians' count of "fluid low / vaso low" among the transitions (a
  # stay's last block has no next SOFA and is not a transition).
  d <- suppressMessages(sepsis_data(cohort))
  n.low <- sum(as.character(as.data.frame(d)$action) == "fluid low / vaso low")
  expect_true(has(paste0("<td[^>]*>fluid low / vaso low</td> ?<td[^>]*>", n.low, "</td>"),
                  fixed = FALSE))
  # The values section says the estimates are on the training stays.
  expect_true(has("off-policy estimates on the same stays"))
  expect_true(has("Clinicians (behaviour)"))
  # The report's clusters and convergence verdict are the fit's (same data,
  # K and seed).
  fit <- suppressWarnings(p4l(d, K = "auto", seed = 1))
  expect_true(has(paste0(" ", fit$K, " cluster(s) of sizes ",
                         paste(tabulate(fit$cluster, fit$K), collapse = ", "))))
  expect_identical(has("WARNING: the P4L fit did NOT converge"), !isTRUE(fit$converged))
  # How K was chosen: the criterion of the fit's select_groups() result.
  expect_identical(fit$groups$method, "mixture")
  expect_true(has("with its mixture model of how the doses shift"))
  crit <- fit$groups$criterion
  three <- function(v) format(signif(v, 3), big.mark = ",", scientific = FALSE)
  expect_true(has(paste0("K = 2: ", three(crit$cv.gain[2]), " (", three(crit$se[2]), ")")))

  # A fit stopped early is flagged prominently, with its warning.
  out2 <- rmarkdown::render(rmd, output_dir = dir, output_file = "stopped.html", quiet = TRUE,
                            envir = new.env(), params = list(K = 2, max.iter = 2, num.boot = 5))
  html <- read_html(out2)
  expect_true(has("WARNING: the P4L fit did NOT converge"))
  expect_true(has("did not converge in 2 iterations"))
})
