// A whole torch.save file (zip archive, data.pkl, storages; or the legacy format's refusal) read as
// `mmdg weights import` / `train --pretrained` read it.
#include "fuzz/fuzz_input.h"
#include "mmdg/io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = mmdg::fuzz::write_input(data, size, ".pth");
  mmdg::fuzz::expect_clean(path, [&] {
    std::vector<std::string> skipped;
    mmdg::io::read_torch_checkpoint(path, &skipped);
  });
  return 0;
}
