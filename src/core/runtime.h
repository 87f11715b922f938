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
}  // namespace p4l
