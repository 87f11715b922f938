library(testthat)
library(p4l)

# Long statistical checks run only when P4L_TEST_LEVEL >= 2 (see tests/testthat/helper-p4l.R).
res <- test_check("p4l", stop_on_failure = FALSE)
df <- as.data.frame(res)
passed <- sum(df$passed)
failed <- sum(df$failed) + sum(df$error)
skipped <- sum(df$skipped)
line <- sprintf("%d passed, %d failed, %d skipped", passed, failed, skipped)
out <- Sys.getenv("P4L_TEST_TOTALS", "")
if (nzchar(out)) writeLines(line, out)
cat(line, "\n")
if (failed > 0) stop(failed, " test(s) failed")
