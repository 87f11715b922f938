#include "runtime_bindings.h"

// RcppParallel.h also pulls in RMatrix.h, whose iterator derives from
// std::iterator (deprecated in C++17). We need only parallelFor, so we include
// the headers it is built from (threads, TBB, backend choice) and dispatch as
// RcppParallel::parallelFor does; no RVector/RMatrix, no deprecated base.
#include <RcppParallel/TinyThread.h>
#ifndef RCPP_PARALLEL_USE_TBB
#if defined(__APPLE__) || defined(__gnu_linux__) || \
    (defined(__sun) && defined(__SVR4) && !defined(__sparc))
#define RCPP_PARALLEL_USE_TBB 1
#else
#define RCPP_PARALLEL_USE_TBB 0
#endif
#endif
#if RCPP_PARALLEL_USE_TBB
#include <RcppParallel/TBB.h>
#endif
#include <RcppParallel/Backend.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace p4l {
namespace {

struct RangeWorker : public RcppParallel::Worker {
  const RangeFn& fn;
  std::exception_ptr error;
  std::mutex mtx;
  explicit RangeWorker(const RangeFn& f) : fn(f) {}
  void operator()(std::size_t begin, std::size_t end) override {
    try {
      fn(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mtx);
      if (!error) error = std::current_exception();
    }
  }
};

// Same as RcppParallel::parallelFor(0, n, worker, 1, nt) (RcppParallel 5.1).
void parallel_for_range(std::size_t n, RcppParallel::Worker& worker, int nt) {
  const std::size_t grain =
      RcppParallel::resolveValue("RCPP_PARALLEL_GRAIN_SIZE", std::size_t{1}, std::size_t{1});
  nt = RcppParallel::resolveValue("RCPP_PARALLEL_NUM_THREADS", nt, -1);
#if RCPP_PARALLEL_USE_TBB
  if (RcppParallel::internal::backend() == RcppParallel::internal::BACKEND_TBB) {
    RcppParallel::tbbParallelFor(0, n, worker, grain, nt);
    return;
  }
#endif
  RcppParallel::ttParallelFor(0, n, worker, grain);
}

void check_interrupt_fn(void*) { R_CheckUserInterrupt(); }

// TRUE when the user pressed Ctrl-C; never longjmps out of C++ frames.
bool r_interrupted() { return R_ToplevelExec(check_interrupt_fn, nullptr) == FALSE; }

// Interrupt state of one ThreadScope: R is asked on the calling (main) thread
// only, at most every 20 ms; a Ctrl-C sets the flag that every thread sees.
struct InterruptState {
  std::thread::id main = std::this_thread::get_id();
  std::atomic<bool> flag{false};
  std::chrono::steady_clock::time_point last{};
  bool checked = false;
  bool poll() {
    if (flag.load(std::memory_order_relaxed)) return true;
    if (std::this_thread::get_id() != main) return false;
    const auto now = std::chrono::steady_clock::now();
    if (checked && now - last < std::chrono::milliseconds(20)) return false;
    checked = true;
    last = now;
    if (r_interrupted()) flag.store(true, std::memory_order_relaxed);
    return flag.load(std::memory_order_relaxed);
  }
};

}  // namespace

ThreadScope::ThreadScope(int num_threads) : saved_(runtime()) {
  const int nt = num_threads < 1 ? 1 : num_threads;
  runtime().parallel_for = [nt](std::size_t n, const RangeFn& fn) {
    if (n == 0) return;
    if (nt == 1 || n == 1) {
      fn(0, n);
      return;
    }
    RangeWorker worker(fn);
    parallel_for_range(n, worker, nt);
    if (worker.error) std::rethrow_exception(worker.error);
  };
  auto state = std::make_shared<InterruptState>();
  runtime().interrupted = [state] { return state->poll(); };
}

ThreadScope::~ThreadScope() { runtime() = saved_; }

std::uint64_t seed_from_double(double seed) {
  if (!(seed >= 0) || seed > 9007199254740992.0) throw std::invalid_argument("invalid seed");
  return static_cast<std::uint64_t>(seed);
}

}  // namespace p4l
