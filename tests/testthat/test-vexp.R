# The array exp of the initial-state softmax (src/core/vexp.h): accurate
# against R's exp(), and bitwise the same in its scalar, SSE2 and AVX2 forms.

test_that("vexp agrees with exp() to 2 ulp and handles the ends of its range", {
  set.seed(1)
  x <- c(runif(20001, -708, 709), runif(5000, -40, 1), -708, 709, 0, -1e-300, 1e-300)
  kinds <- c("scalar", "sse2", "avx2")
  out <- lapply(kinds, function(k) p4l:::vexp_cpp(x, k))
  names(out) <- kinds
  expect_false(is.null(out$scalar))
  ref <- exp(x)
  ulp <- abs(out$scalar - ref) / (ref * .Machine$double.eps)
  expect_lt(max(ulp), 2.5)
  for (k in kinds[-1]) {
    if (is.null(out[[k]])) next  # not on this CPU or build
    expect_identical(out[[k]], out$scalar, label = k)
  }
  # below -708 exp() is under 3.3e-308 and the result is 0; above 709 Inf
  special <- c(-Inf, -1000, -708.5, 709.5, 1000, Inf, NaN, NA)
  for (k in kinds) {
    y <- p4l:::vexp_cpp(special, k)
    if (is.null(y)) next
    expect_identical(y[1:6], c(0, 0, 0, Inf, Inf, Inf), label = k)
    expect_true(all(is.na(y[7:8])), label = k)
  }
  expect_true(p4l:::vexp_kind_cpp() %in% kinds)
})

test_that("odd lengths use the scalar tail identically", {
  x <- seq(-30, 3, length.out = 7)
  for (k in c("sse2", "avx2")) {
    y <- p4l:::vexp_cpp(x, k)
    if (is.null(y)) next
    expect_identical(y, p4l:::vexp_cpp(x, "scalar"), label = k)
  }
})
