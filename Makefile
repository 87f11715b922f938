# Two commands for a new user: `make demo` and `make test`.
PKG     := p4l
VERSION := $(shell sed -n 's/^Version: //p' DESCRIPTION)
TARBALL := $(PKG)_$(VERSION).tar.gz
CHECKDIR := check

.PHONY: deps document build install demo test sanitize check bench clean

deps:
	@bash tools/install-deps.sh

# Regenerates RcppExports, NAMESPACE and man/ (committed; run after editing docs).
document: deps
	Rscript --vanilla -e 'Rcpp::compileAttributes(); roxygen2::roxygenise()'
	@# pkgload compiles src/ in place with -O0; never let those objects reach an install
	rm -f src/*.o src/*.so src/core/*.o

# The tarball carries the built vignettes (R CMD build installs the package in a
# temporary library to run them), so `make install` installs them too.
# The tarball goes to dist/ (not build/: R CMD build keeps the vignette index in
# the package's own build/ directory, which .Rbuildignore must not exclude).
build: deps
	@mkdir -p dist
	cd dist && MAKEFLAGS=-j2 R CMD build ..

install: build
	MAKEFLAGS=-j2 R CMD INSTALL dist/$(TARBALL)

# Fits the main job on built-in simulated data; figures go to demo-output/.
demo: install
	Rscript --vanilla tools/demo.R demo-output

# R CMD build + R CMD check (tests included); fails on any ERROR or WARNING.
# Ends with testthat's totals on one line: "N passed, N failed, N skipped".
test: deps
	@bash tools/check.sh $(CHECKDIR)

# The test suite against a build with -fsanitize=address,undefined (GCC), in a
# private library (sanitize/lib); fails on any sanitizer report. Ends with
# testthat's totals like `make test`. Vignettes are not built here.
sanitize: deps
	@bash tools/sanitize.sh sanitize

# Benchmarks are scripts (bench/README.md has each one's command and its latest
# figures on this machine). `make bench` installs the package and runs the
# performance targets (bench/run-targets.R: every speed script, one at a time,
# each under a time limit; about half an hour, longer when a limit is reached);
# it rewrites the targets block at the top of bench/README.md and
# bench/targets.csv. `make bench BENCH_SCALE=quick` runs them at small sizes to
# test the runner (table in /tmp/p4l-bench-quick; bench/ untouched); a subset:
# `make bench P4L_BENCH_ONLY=item3,item5`. The quality and study scripts are
# not run (their commands are in bench/README.md). `make bench
# BENCH=bench/rbf.R ARGS="..."` installs the package and runs one script.
bench: install
ifeq ($(BENCH),)
	P4L_BENCH_SCALE=$(or $(BENCH_SCALE),$(P4L_BENCH_SCALE),full) Rscript --vanilla bench/run-targets.R
else
	Rscript --vanilla $(BENCH) $(ARGS)
endif

clean:
	rm -rf dist build $(CHECKDIR) sanitize demo-output src/*.o src/*.so src/core/*.o
