# Test levels: 1 (default) runs the quick set in CI; P4L_TEST_LEVEL=2 adds the
# long statistical checks.
test_level <- function() {
  lvl <- suppressWarnings(as.integer(Sys.getenv("P4L_TEST_LEVEL", "1")))
  if (is.na(lvl)) 1L else lvl
}
skip_if_quick <- function() {
  if (test_level() < 2L) skip("long statistical check: set P4L_TEST_LEVEL=2")
}

toy_long <- function() {
  # Two individuals, unbalanced, rows deliberately out of order.
  data.frame(
    pid = c("b", "a", "a", "b", "a", "b", "b"),
    t = c(2, 1, 0, 0, 2, 1, 3),
    trt = c("y", "x", "y", "x", NA, "x", NA),
    rew = c(0.5, 1, 2, 3, NA, -1, NA),
    x1 = c(3, 1.5, 1, 0, 2, 1, 4),
    x2 = c(-3, -1.5, -1, 0, -2, -1, -4),
    stringsAsFactors = FALSE
  )
}

# Absolute-tolerance comparison (testthat 3e's expect_equal is relative).
expect_near <- function(object, expected, tol) {
  act <- list(val = object, lab = deparse(substitute(object)))
  diff <- max(abs(as.numeric(act$val) - as.numeric(expected)))
  expect(is.finite(diff) && diff <= tol,
         sprintf("%s differs from %s by %.4g > %.4g", act$lab,
                 paste(format(expected, digits = 4), collapse = ", "), diff, tol))
  invisible(act$val)
}
