#!/usr/bin/env bash
# Installs what p4l needs to build, test and run its demo, when it is missing.
# Debian's prebuilt r-cran-* packages are used where we may (root + apt-get),
# because they install in seconds; anything still missing comes from CRAN.
set -euo pipefail
PKGS="Rcpp RcppEigen RcppParallel cli testthat knitr rmarkdown roxygen2 pkgbuild future future.apply progressr"

missing() {
  Rscript --vanilla -e "p <- strsplit('$PKGS', ' ')[[1]]; m <- p[!vapply(p, requireNamespace, logical(1), quietly = TRUE)]; cat(m)"
}

miss=$(missing)
need_pandoc=0
command -v pandoc >/dev/null 2>&1 || need_pandoc=1
# qpdf is optional: only R CMD check --as-cran uses it (PDF size checks).
need_qpdf=0
command -v qpdf >/dev/null 2>&1 || need_qpdf=1
if [ -z "$miss" ] && [ $need_pandoc -eq 0 ] && [ $need_qpdf -eq 0 ]; then
  echo "install-deps: all dependencies present"
  exit 0
fi
echo "install-deps: missing R packages: ${miss:-none}; pandoc missing: $need_pandoc"

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  debs=""
  for p in $miss; do debs="$debs r-cran-$(echo "$p" | tr 'A-Z' 'a-z')"; done
  [ $need_pandoc -eq 1 ] && debs="$debs pandoc"
  [ $need_qpdf -eq 1 ] && debs="$debs qpdf"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  # Install one by one so that a package Debian lacks does not block the rest.
  for d in $debs; do
    apt-get install -y -qq --no-install-recommends "$d" >/dev/null 2>&1 \
      && echo "install-deps: apt installed $d" || echo "install-deps: apt could not install $d"
  done
fi

miss=$(missing)
if [ -n "$miss" ]; then
  echo "install-deps: installing from CRAN: $miss"
  # The repositories are the machine's own (getOption('repos') from its Rprofile.site,
  # so not --vanilla); none is written here.
  Rscript -e "r <- getOption('repos'); r <- r[!is.na(r) & nzchar(r) & r != '@CRAN@']; if (!length(r)) { message('install-deps: R has no package repository configured (getOption(\"repos\") is empty or @CRAN@); set one, e.g. options(repos = c(CRAN = \"<mirror URL>\")) in Rprofile.site or ~/.Rprofile, or install the packages above yourself.'); quit(status = 1) }; message('install-deps: using ', paste(r, collapse = ', ')); install.packages(strsplit('$miss', ' ')[[1]], repos = r, Ncpus = 2)" \
    || { echo "install-deps: installing from the configured repositories failed" >&2; exit 1; }
fi
miss=$(missing)
if [ -n "$miss" ]; then
  echo "install-deps: still missing: $miss" >&2
  exit 1
fi
echo "install-deps: done"
