# Adjusted Rand index of two labelings (Hubert and Arabie 1985), by hand;
# source()d by the bench scripts that compare fitted clusters with planted
# subgroups. Two single-cluster labelings agree perfectly (1), where the
# formula itself is 0 / 0.
adjusted_rand <- function(x, y) {
  tab <- table(x, y)
  pairs <- function(n) sum(n * (n - 1) / 2)
  idx <- pairs(tab)
  a <- pairs(rowSums(tab))
  b <- pairs(colSums(tab))
  expected <- a * b / pairs(sum(tab))
  if (a + b == 2 * expected) return(1)
  (idx - expected) / ((a + b) / 2 - expected)
}
