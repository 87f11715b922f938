#!/usr/bin/env bash
# make sanitize: builds p4l with -fsanitize=address,undefined into a private
# library and runs every test file (tests/testthat.R) against it. R itself is
# not instrumented, so the compiler's libasan is preloaded (as in "Writing R
# Extensions" sec. 4.3.3 and the R-hub/rocker sanitizer images) and leak
# detection is off (R's own allocations are never freed at exit). Fails on a
# failed test, a crash, or any AddressSanitizer/UBSan report; prints testthat's
# totals as the last line. The vignettes are not built here (make test does).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/totals.sh"
dir=${1:-sanitize}
root=$(pwd)
export MAKEFLAGS=-j2
fail_totals() { echo "$1"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

cxx=$(R CMD config CXX17 | awk '{print $1}')
asan=$("$cxx" -print-file-name=libasan.so)
case "$asan" in
  /*) [ -e "$asan" ] || fail_totals "sanitize: $cxx has no libasan ($asan)";;
  *) fail_totals "sanitize: $cxx has no libasan (a GCC with AddressSanitizer is needed)";;
esac

# P4L_SANITIZE_REUSE=1 reruns the tests against the build already in $dir/lib.
if [ "${P4L_SANITIZE_REUSE:-0}" = 1 ] && [ -d "$dir/lib/p4l" ]; then
  echo "sanitize: reusing the build in $dir/lib"
  cd "$dir"
else
  rm -rf "$dir" && mkdir -p "$dir/lib"
  cd "$dir"
  R CMD build --no-build-vignettes --no-manual "$root" >build.log 2>&1 \
    || { cat build.log; fail_totals "sanitize: R CMD build failed"; }
  tarball=$(ls p4l_*.tar.gz | head -n 1)
  echo "sanitize: installing $tarball with $(sed -n 's/^SAN_FLAGS = //p' "$root/tools/sanitize.mk")"
  # --no-test-load: loading needs the preloaded runtime, which the installer lacks.
  R_MAKEVARS_USER="$root/tools/sanitize.mk" R CMD INSTALL --no-test-load -l lib "$tarball" >install.log 2>&1 \
    || { tail -n 40 install.log; fail_totals "sanitize: R CMD INSTALL failed"; }
  grep -q -- '-fsanitize=address,undefined' install.log \
    || fail_totals "sanitize: the sanitizer flags did not reach the compiler"
fi
# A fresh copy of the tests (as R CMD check does).
rm -rf tests && cp -R "$root/tests" tests

log="$root/$dir/tests.log"
totals="$root/$dir/testthat-totals.txt"
rm -f "$totals"
echo "sanitize: running tests/testthat.R under ASan/UBSan (log: $dir/tests.log)"
( cd tests &&
  LD_PRELOAD="$asan" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:allocator_may_return_null=1:detect_odr_violation=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  R_LIBS="$root/$dir/lib${R_LIBS:+:$R_LIBS}" P4L_TEST_TOTALS="$totals" \
  Rscript --no-init-file testthat.R ) >"$log" 2>&1
status=$?
fail=0
[ $status -ne 0 ] && { echo "sanitize: the test run exited with status $status"; fail=1; }
if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$log"; then
  echo "sanitize: sanitizer report:"
  grep -nE -A30 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$log" | head -n 80
  fail=1
fi
[ $fail -ne 0 ] && tail -n 40 "$log"
print_totals "$totals" || fail=1
exit $fail
