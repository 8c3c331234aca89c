// The restricted unpickler (io/pickle) on arbitrary bytes, as the data.pkl of a torch.save file:
// storages are served as zero tensors of the requested dtype and count, bounded like the real
// loader bounds them by the archive entry's size (here: 1 MiB of elements at most).
#include <ATen/ATen.h>

#include "fuzz/fuzz_input.h"
#include "mmdg/io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string context = "fuzz.pth/data.pkl";
  mmdg::fuzz::expect_clean(context, [&] {
    auto loader = [&](const std::string& key, c10::ScalarType dtype, std::int64_t numel) {
      if (numel < 0 || numel > (1 << 20))
        throw mmdg::Error(context + ": storage " + key + " of " + std::to_string(numel) + " elements is out of range");
      return at::zeros({numel}, at::TensorOptions().dtype(dtype));
    };
    mmdg::io::pickle::unpickle(bytes, loader, context);
  });
  return 0;
}
