// A PADISI-Face sample file: the .npz archive (zip of .npy) and the layout and value checks of
// the PADISI reader on what it holds.
#include "fuzz/fuzz_input.h"
#include "mmdg/data/padisi_format.h"
#include "mmdg/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = mmdg::fuzz::write_input(data, size, ".npz");
  mmdg::fuzz::expect_clean(path, [&] { mmdg::io::read_npz(path); });
  mmdg::fuzz::expect_clean(path, [&] { mmdg::data::read_padisi_npz(path); });
  return 0;
}
