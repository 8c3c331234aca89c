// The zip reader on its own: entry table, sizes against what the archive can hold, CRC-32 of every
// entry read, both read paths (whole entry, into a caller's buffer).
#include <vector>

#include "fuzz/fuzz_input.h"
#include "mmdg/io/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = mmdg::fuzz::write_input(data, size, ".zip");
  mmdg::fuzz::expect_clean(path, [&] {
    mmdg::io::ZipArchive archive(path);
    for (const auto& name : archive.entry_names()) {
      mmdg::fuzz::expect_clean(path, [&] { archive.read(name); });
      mmdg::fuzz::expect_clean(path, [&] {
        const auto n = archive.entry_size(name);
        if (n > (std::uint64_t{1} << 24)) return;  // read() above has checked what it can hold
        std::vector<char> buffer(n);
        archive.read_into(name, buffer.data(), n);
      });
    }
  });
  return 0;
}
