#include "mmdg/util/error.h"

namespace mmdg {

void check(bool ok, const std::string& context, const std::string& message) {
  if (!ok) throw Error(context + ": " + message);
}

}  // namespace mmdg
