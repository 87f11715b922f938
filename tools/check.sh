#!/usr/bin/env bash
# R CMD build and R CMD check of p4l; fails on ERROR or WARNING and prints
# testthat's totals as the last line.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/totals.sh"
dir=${1:-check}
root=$(pwd)
# Compile with both cores (R CMD INSTALL runs make).
export MAKEFLAGS=-j2
rm -rf "$dir" && mkdir -p "$dir"
cd "$dir"
totals="$root/$dir/testthat-totals.txt"
R CMD build "$root" || { echo "R CMD build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
tarball=$(ls p4l_*.tar.gz | head -n 1)
P4L_TEST_TOTALS="$totals" _R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual "$tarball"
status=$?
log=p4l.Rcheck/00check.log
fail=0
if [ $status -ne 0 ]; then fail=1; fi
if grep -qE '(ERROR|WARNING)$|\.\.\. (ERROR|WARNING)' "$log" 2>/dev/null; then
  echo "R CMD check reported:"; grep -nE 'ERROR|WARNING' "$log"; fail=1
fi
if [ -f p4l.Rcheck/tests/testthat.Rout.fail ]; then tail -n 60 p4l.Rcheck/tests/testthat.Rout.fail; fi
grep -E 'NOTE$' "$log" 2>/dev/null && echo "(NOTEs are allowed)"
print_totals "$totals" || fail=1
exit $fail
