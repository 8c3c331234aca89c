// An HDF5 file as WMCA's preprocessed faces hold it (io/hdf5_file through libhdf5's in-memory
// driver): the root's members, then each member's "array" read as unsigned 8-bit values.
#include "fuzz/fuzz_input.h"
#include "mmdg/io/hdf5_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string name = "fuzz.hdf5";
  mmdg::fuzz::expect_clean(name, [&] {
    const auto file = mmdg::io::Hdf5File::from_bytes(bytes, name);
    int read = 0;
    for (const auto& member : file.members())
      if (file.has_dataset(member + "/array") && ++read <= 4) file.read_uint8(member + "/array", std::int64_t{1} << 20);
  });
  return 0;
}
