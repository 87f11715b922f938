#' Compose bases: products and sums
#'
#' `basis_product(a, b)` has every product of a feature of `a` with a feature
#' of `b`, in the order `a_1 b_1, a_1 b_2, ..., a_2 b_1, ...`: since both
#' start with the intercept, the first feature is the intercept (intercept x
#' intercept), followed by `b`'s own features (intercept of `a` x `b`), then
#' each feature of `a` alone and times each feature of `b`. Its dimension is
#' `basis_dim(a) * basis_dim(b)`. Use it to let one part's features differ by
#' the levels of another: RBF on continuous columns times the indicators of a
#' treatment flag gives one RBF surface per flag value.
#'
#' `basis_sum(...)` has one intercept, then each part's features without its
#' intercept (dimension `1 + sum(basis_dim(part) - 1)`): an additive model.
#'
#' Every part must have been built on the same state columns (`state.names`);
#' each part uses its own `columns`, so a typical composition uses disjoint
#' columns. Products of more than two bases nest (`basis_product(a, b, c)` is
#' `basis_product(basis_product(a, b), c)`). Feature names of a product are
#' `"a:b"` (the intercept factors dropped); names of a sum that would repeat
#' are prefixed by the part number (`"p2.rbf1"`).
#'
#' @param a,b,... Bases (class `p4l_basis`).
#' @return An object of class `c("product_basis", "p4l_basis")` or
#'   `c("sum_basis", "p4l_basis")` with `parts` (the list of bases),
#'   `columns` (the union of the parts' columns), `state.names`,
#'   `state.range`.
#' @seealso [basis_names()], [default_basis()]
#' @examples
#' set.seed(1)
#' x <- data.frame(bp = rnorm(50), flag = rbinom(50, 1, 0.5))
#' b <- basis_product(rbf_basis(x, num.centers = 3, columns = "bp", seed = 1),
#'                    indicator_basis(x, columns = "flag"))
#' basis_names(b)
#' s <- basis_sum(linear_basis(x, columns = "bp"), indicator_basis(x, columns = "flag"))
#' predict(s, x[1:3, ])
#' @export
basis_product <- function(a, b, ...) {
  parts <- list(a, b, ...)
  check_parts(parts)
  out <- new_composed("product", parts[1:2])
  for (p in parts[-(1:2)]) out <- new_composed("product", list(out, p))
  out
}

#' @rdname basis_product
#' @export
basis_sum <- function(...) {
  parts <- list(...)
  if (length(parts) < 2L) stop_arg("`basis_sum()` needs at least two bases.")
  check_parts(parts)
  new_composed("sum", parts)
}

check_parts <- function(parts) {
  ok <- vapply(parts, is_basis, logical(1))
  if (!all(ok)) stop_arg("Every part must be a basis (class p4l_basis); part ", which(!ok)[1],
                         " is of class '", class(parts[[which(!ok)[1]]])[1], "'.")
  sn <- parts[[1]]$state.names
  for (i in seq_along(parts)[-1L]) {
    if (!identical(as.character(parts[[i]]$state.names), as.character(sn))) {
      stop_arg("All parts must be built on the same state columns: part 1 has (",
               paste(sn, collapse = ", "), "), part ", i, " has (",
               paste(parts[[i]]$state.names, collapse = ", "), ").")
    }
  }
  invisible(parts)
}

new_composed <- function(kind, parts) {
  cols <- unique(unlist(lapply(parts, basis_columns)))
  sn <- parts[[1]]$state.names
  rng <- parts[[1]]$state.range
  for (p in parts[-1L]) {
    if (is.null(rng)) rng <- p$state.range
    else if (!is.null(p$state.range)) {
      rng[1, ] <- pmin(rng[1, ], p$state.range[1, ])
      rng[2, ] <- pmax(rng[2, ], p$state.range[2, ])
    }
  }
  structure(list(parts = parts, columns = sn[sn %in% cols], state.names = sn,
                 state.range = rng),
            class = c(paste0(kind, "_basis"), "p4l_basis"))
}

#' @export
basis_names.product_basis <- function(basis) {
  na <- basis_names(basis$parts[[1]])
  nb <- basis_names(basis$parts[[2]])
  out <- as.vector(t(outer(na, nb, paste, sep = ":")))
  ia <- rep(na == "(Intercept)", each = length(nb))
  ib <- rep(nb == "(Intercept)", times = length(na))
  out[ia] <- rep(nb, times = length(na))[ia]
  out[ib & !ia] <- rep(na, each = length(nb))[ib & !ia]
  out
}

#' @export
basis_dim.product_basis <- function(basis) {
  basis_dim(basis$parts[[1]]) * basis_dim(basis$parts[[2]])
}

#' @export
basis_names.sum_basis <- function(basis) {
  nm <- lapply(basis$parts, function(p) basis_names(p)[-1L])
  all <- unlist(nm)
  if (anyDuplicated(all)) {
    nm <- lapply(seq_along(nm), function(i) if (length(nm[[i]])) paste0("p", i, ".", nm[[i]]) else nm[[i]])
  }
  c("(Intercept)", unlist(nm))
}

#' @export
basis_dim.sum_basis <- function(basis) {
  as.integer(1L + sum(vapply(basis$parts, function(p) basis_dim(p) - 1L, integer(1))))
}

#' @exportS3Method
basis_spec.product_basis <- function(basis) {
  list(kind = "product", parts = lapply(basis$parts, function(p) basis_spec(p)))
}

#' @exportS3Method
basis_spec.sum_basis <- function(basis) {
  list(kind = "sum", parts = lapply(basis$parts, function(p) basis_spec(p)))
}

#' @export
format.product_basis <- function(x, ...) format_composed(x, "product")

#' @export
format.sum_basis <- function(x, ...) format_composed(x, "sum")

format_composed <- function(x, kind) {
  parts <- lapply(x$parts, format)
  c(paste0("<", kind, "_basis> ", basis_dim(x), " features: the ", kind, " of ",
           length(parts), " bases on the columns ", paste(basis_columns(x), collapse = ", ")),
    unlist(lapply(seq_along(parts), function(i)
      paste0("  ", c(paste0("[", i, "] ", parts[[i]][1]), paste0("    ", parts[[i]][-1]))[
        seq_along(parts[[i]])]))))
}
