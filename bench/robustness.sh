#!/usr/bin/env bash
# Robustness figures of issue 14 (bench/README.md, "Robustness: memory and
# interrupts"): peak memory of evaluate_policy() against num.episodes, and
# the time from Ctrl-C (SIGINT, sent once the C++ loop runs) to the end of long evaluate_policy(),
# select_groups() and rbf_basis() calls. Usage (from the package root, with
# p4l installed in the library R_LIBS points to):
#   R_LIBS=/tmp/lib-robust nice bash bench/robustness.sh > bench/robustness.csv
set -u
echo "measure,call,setting,value,unit"
# 1. Peak resident memory (GNU time, kB) of one evaluate_policy() call.
for E in 100000 1000000 4000000; do
  kb=$( { /usr/bin/time -f "%M" Rscript -e "suppressMessages(library(p4l)); pol <- uniform_policy(c(0, 1), c('s1', 's2')); invisible(evaluate_policy(pol, env_linear2d(1, -1), ids = 'a', num.episodes = $E, horizon = 1, seed = 1, num.threads = 1))" > /dev/null; } 2>&1 | tail -1)
  echo "peak_rss,evaluate_policy,num.episodes=$E horizon=1,$kb,kB"
done
# 2. Seconds from SIGINT (sent 3 s after the start) to the end of the process.
interrupt() {  # $1 label, $2 seconds before SIGINT, $3 R code (the long call)
  Rscript -e "suppressMessages(library(p4l)); $3" > /dev/null 2>&1 &
  local pid=$!
  sleep "$2"
  local t0=$(date +%s.%N)
  kill -INT "$pid"
  local start=$SECONDS killed=""
  while kill -0 "$pid" 2> /dev/null; do
    sleep 0.05
    if [ $((SECONDS - start)) -ge 60 ]; then kill -KILL "$pid"; killed=" (still running: killed)"; break; fi
  done
  local t1=$(date +%s.%N)
  echo "interrupt,$1,SIGINT after $2 s (cap 60 s)$killed,$(echo "$t1 - $t0" | bc),s"
}
interrupt evaluate_policy 3 "pol <- uniform_policy(c(0, 1), c('s1', 's2')); evaluate_policy(pol, env_linear2d(1, -1), ids = 'a', num.episodes = 2e7, horizon = 50, seed = 1, num.threads = 2)"
interrupt select_groups 8 "sim <- sim_linear2d(num.per.group = 100, T = 300, seed = 1); d <- p4l_data(sim\$data, 'id', 'time', 'action', 'reward', c('s1', 's2'), last = 'drop'); select_groups(d, max.points = 300, num.threads = 2)"
interrupt rbf_basis 5 "set.seed(1); x <- matrix(rnorm(2e6), ncol = 2); rbf_basis(x, num.centers = 200, sample.size = 1e6, num.starts = 20, seed = 1, num.threads = 2)"
