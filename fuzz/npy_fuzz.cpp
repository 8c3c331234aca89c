// One .npy array (the header scanner, dtypes, shapes, data size).
#include "fuzz/fuzz_input.h"
#include "mmdg/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string context = "fuzz.npz/rgb.npy";
  mmdg::fuzz::expect_clean(context, [&] { mmdg::io::parse_npy(bytes, context); });
  return 0;
}
