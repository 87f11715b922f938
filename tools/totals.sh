# Shared by check.sh and sanitize.sh: prints testthat's totals line (the last
# line of `make test` / `make sanitize`), or a failing one when the tests
# wrote none. Usage: print_totals <totals file>; returns 1 when missing.
print_totals() {
  if [ -f "$1" ]; then
    cat "$1"
  else
    echo "0 passed, 1 failed, 0 skipped"
    return 1
  fi
}
