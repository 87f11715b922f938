// Large result matrices filled by worker threads: ask Linux for transparent
// huge pages (2 MB) on the part of the block that spans whole huge pages,
// before the first touch. A 10^6 x 65 feature matrix is then about 250 page
// faults instead of 127,000, which the threads otherwise take one 4 kB page
// at a time (on this machine's VM a large share of predict()'s time, and the
// part that a second thread did not speed up). Only advice: elsewhere, or
// when the kernel declines (THP "never"), nothing changes; the values never
// depend on it.
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace p4l_bindings {

inline void advise_huge_pages(void* data, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const std::uintptr_t page = std::uintptr_t(1) << 21;
  if (bytes < 4 * page) return;
  const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + page - 1) & ~(page - 1);
  const std::uintptr_t last = (begin + bytes) & ~(page - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace p4l_bindings
