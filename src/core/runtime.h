// Runtime hooks that carry threads, interrupts and progress into the core.
// The core never includes R headers: the R bindings install these callbacks
// (src/runtime_bindings.cpp); the defaults are serial and silent, so the core
// is usable from any front end.
#pragma once
#include <cstddef>
#include <functional>
#include <stdexcept>
namespace p4l {
using RangeFn = std::function<void(std::size_t, std::size_t)>;
// parallel_for(n, fn) must call fn over disjoint ranges covering [0, n).
struct Runtime {
  std::function<void(std::size_t, const RangeFn&)> parallel_for = [](std::size_t n,
                                                                     const RangeFn& fn) {
    if (n > 0) fn(0, n);
  };
  // TRUE once the user asked to stop. May be called from any thread, often
  // (the R bindings check R only on the main thread and at most every few
  // milliseconds; other threads see the flag the main thread set).
  std::function<bool()> interrupted = [] { return false; };
  std::function<void(int, int)> progress = [](int, int) {};  // (iter, max_iter), main thread only
};
Runtime& runtime();  // defined in runtime.cpp

// Thrown by long loops when runtime().interrupted() returns true.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("p4l: computation interrupted") {}
};
inline void check_interrupt() {
  if (runtime().interrupted()) throw Interrupted();
}

// fn(r0, len) over the blocks of `block` rows that cover [0, n), in parallel.
// The blocks depend on n and block only, never on the thread count.
template <class Fn>
inline void for_row_blocks(long n, long block, const Fn& fn) {
  const long num_blocks = (n + block - 1) / block;
  runtime().parallel_for(static_cast<std::size_t>(num_blocks), [&](std::size_t lo, std::size_t hi) {
    for (std::size_t b = lo; b < hi; ++b) {
      const long r0 = static_cast<long>(b) * block;
      fn(r0, n - r0 < block ? n - r0 : block);
    }
  });
}
}  // namespace p4l
