test_that("the sepsis-report template drafts and knits on the demo cohort", {
  skip_on_cran()
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
  html <- paste(readLines(out, warn = FALSE), collapse = "\n")
  for (h in c("Cohort", "Action distribution", "The fitted clusters",
              "Recommendations per stay", "Values with intervals", "Convergence")) {
    expect_match(html, paste0(">", h, "</h1>"), fixed = TRUE)
  }
  # Numbers recomputed independently of the report.
  cohort <- sepsis_demo()
  num.stays <- length(unique(cohort$icustayid))
  expect_match(html, paste0("<strong>", num.stays, " ICU stays</strong>"), fixed = TRUE)
  expect_match(html, paste0("<strong>", nrow(cohort), " 4-hour blocks</strong>"), fixed = TRUE)
  # Clinicians' count of "fluid low / vaso low" among the transitions (every
  # stay's last block has no next SOFA and is not a transition).
  d <- suppressMessages(sepsis_data(cohort))
  n.low <- sum(as.character(as.data.frame(d)$action) == "fluid low / vaso low")
  expect_match(html, paste0("<td[^>]*>fluid low / vaso low</td>\\s*<td[^>]*>", n.low, "</td>"))
  # The values section warns that the estimates are on the training stays.
  expect_match(html, "off-policy estimates on the same stays", fixed = TRUE)
  expect_match(html, "Clinicians (behaviour)", fixed = TRUE)
})
