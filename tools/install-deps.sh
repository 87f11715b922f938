#!/usr/bin/env bash
# Installs what p4l needs to build, test and run its demo, when it is missing.
# Debian's prebuilt r-cran-* packages are used where we may (root + apt-get),
# because they install in seconds; anything still missing comes from CRAN.
set -euo pipefail
PKGS="Rcpp RcppEigen RcppParallel cli testthat knitr rmarkdown roxygen2 pkgbuild future future.apply progressr"

missing() {
  Rscript --vanilla -e "p <- strsplit('$PKGS', ' ')[[1]]; m <- p[!vapply(p, requireNamespace, logical(1), quietly = TRUE)]; cat(m)"
}

# The sepsis cohort extraction (sepsis_cohort(), tests/testthat/test-sepsis.R):
# ricu with a current data.table (>= 1.15; Debian's r-cran-data.table is too
# old for ricu), fst and prt from CRAN, and the MIMIC-III demo data package
# mimic.demo from ../shared/data/mimic.demo (relative to the repository root)
# when that folder exists. Optional: without them the extraction tests skip.
# A failure here is reported and does not stop the rest.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sepsis_deps() {
  local ok
  ok=$(Rscript --vanilla -e "ok <- requireNamespace('data.table', quietly = TRUE) && packageVersion('data.table') >= '1.15' && all(vapply(c('fst', 'prt', 'ricu'), requireNamespace, logical(1), quietly = TRUE)); cat(ok)" 2>/dev/null || echo FALSE)
  if [ "$ok" != "TRUE" ]; then
    # ricu's CRAN dependencies curl, openssl and readr need system libraries to
    # compile; Debian's prebuilt packages are used where we may.
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      local updated=0
      for p in curl openssl readr; do
        Rscript --vanilla -e "quit(status = !requireNamespace('$p', quietly = TRUE))" >/dev/null 2>&1 && continue
        if [ $updated -eq 0 ]; then
          apt-get update -qq >/dev/null 2>&1 || true
          updated=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "r-cran-$p" >/dev/null 2>&1 \
          && echo "install-deps: apt installed r-cran-$p" || echo "install-deps: apt could not install r-cran-$p"
      done
    fi
    echo "install-deps: installing ricu and a current data.table (>= 1.15), fst, prt from CRAN"
    Rscript -e "r <- getOption('repos'); r <- r[!is.na(r) & nzchar(r) & r != '@CRAN@']; if (!length(r)) quit(status = 1); dt <- requireNamespace('data.table', quietly = TRUE) && packageVersion('data.table') >= '1.15'; p <- c(if (!dt) 'data.table', c('fst', 'prt', 'ricu')[!vapply(c('fst', 'prt', 'ricu'), requireNamespace, logical(1), quietly = TRUE)]); install.packages(p, repos = r, Ncpus = 2); stopifnot(packageVersion('data.table') >= '1.15', requireNamespace('ricu', quietly = TRUE))" \
      || echo "install-deps: could not install ricu (sepsis_cohort() tests will skip)" >&2
  fi
  local demo="$root/../shared/data/mimic.demo"
  if [ -f "$demo/DESCRIPTION" ]; then
    local want have
    want=$(sed -n 's/^Version: //p' "$demo/DESCRIPTION")
    have=$(Rscript --vanilla -e "cat(if (requireNamespace('mimic.demo', quietly = TRUE)) format(packageVersion('mimic.demo')) else '')" 2>/dev/null || true)
    if [ "$have" != "$want" ]; then
      echo "install-deps: installing mimic.demo $want from $demo"
      R CMD INSTALL "$demo" >/dev/null 2>&1 \
        && echo "install-deps: installed mimic.demo" \
        || echo "install-deps: could not install mimic.demo (sepsis_cohort() tests will skip)" >&2
    fi
  fi
}

miss=$(missing)
need_pandoc=0
command -v pandoc >/dev/null 2>&1 || need_pandoc=1
# qpdf is optional: only R CMD check --as-cran uses it (PDF size checks).
need_qpdf=0
command -v qpdf >/dev/null 2>&1 || need_qpdf=1
if [ -z "$miss" ] && [ $need_pandoc -eq 0 ] && [ $need_qpdf -eq 0 ]; then
  sepsis_deps
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
sepsis_deps
echo "install-deps: done"
