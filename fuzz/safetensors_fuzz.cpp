// A .safetensors file: header JSON, dtypes, shapes, data offsets, metadata.
#include "fuzz/fuzz_input.h"
#include "mmdg/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = mmdg::fuzz::write_input(data, size, ".safetensors");
  mmdg::fuzz::expect_clean(path, [&] {
    mmdg::io::Metadata metadata;
    mmdg::io::read_safetensors(path, &metadata);
  });
  return 0;
}
