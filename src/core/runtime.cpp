#include "runtime.h"
namespace p4l {
Runtime& runtime() {
  static Runtime rt;
  return rt;
}
}  // namespace p4l
