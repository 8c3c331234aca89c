#include "mmdg/data/padisi_format.h"

#include <torch/torch.h>

#include "mmdg/io/npy.h"
#include "mmdg/util/error.h"

namespace mmdg::data {

std::array<at::Tensor, 3> padisi_modalities(const at::Tensor& data, const std::string& path) {
  const bool channels_last = data.dim() == 4 && data.size(3) == padisi::kChannels && data.size(1) != padisi::kChannels;
  if (data.dim() != 4 || data.size(0) != 1 || data.size(1) <= padisi::kDepth || data.size(1) > padisi::kChannels || channels_last)
    throw Error(path + ": PADISI 'data' must have shape (1, 22, H, W) (5 to 22 channels), got " + c10::str(data.sizes()) +
                (channels_last ? " (channels last? HINT: np.moveaxis(data, -1, 1))" : ""));
  if (data.size(2) == 0 || data.size(3) == 0)  // (LibTorch's min() would fail without the file's name)
    throw Error(path + ": PADISI 'data' has an empty image, shape " + c10::str(data.sizes()));
  if (!data.is_floating_point()) throw Error(path + ": PADISI 'data' must hold floats in [0, 1]");
  const at::Tensor x = data[0].to(torch::kFloat);  // (C, H, W)
  const at::Tensor used = x.slice(0, 0, padisi::kDepth + 1);  // colour, NIR, depth
  if (!torch::isfinite(used).all().item<bool>()) throw Error(path + ": PADISI 'data' holds NaN or infinite values");
  const double lo = used.min().item<double>(), hi = used.max().item<double>();
  if (lo < -1e-3 || hi > 1 + 1e-3)
    throw Error(path + ": PADISI 'data' values lie in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "], expected [0, 1]" + (hi > 2 ? " (0-255 data? HINT: divide by 255)" : ""));
  const auto plane = [&](std::int64_t c) { return x.slice(0, c, c + 1).expand({3, -1, -1}).contiguous(); };
  return {x.index_select(0, torch::tensor({padisi::kRed, padisi::kGreen, padisi::kBlue})), plane(padisi::kDepth),
          plane(padisi::kNir)};
}

at::Tensor padisi_data(const at::Tensor& rgb, const at::Tensor& depth, const at::Tensor& ir) {
  if (rgb.dim() != 3 || rgb.size(0) != 3) throw Error("PADISI sample: rgb must be (3, H, W), got " + c10::str(rgb.sizes()));
  const auto single = [&](const at::Tensor& t, const char* name) {
    const at::Tensor p = t.dim() == 3 && t.size(0) == 1 ? t[0] : t;
    if (p.dim() != 2 || p.size(0) != rgb.size(1) || p.size(1) != rgb.size(2))
      throw Error(std::string("PADISI sample: ") + name + " must be (H, W) or (1, H, W) with the rgb image's size " +
                  c10::str(rgb.sizes().slice(1)) + ", got " + c10::str(t.sizes()));
    return p;
  };
  at::Tensor data = torch::zeros({1, padisi::kChannels, rgb.size(1), rgb.size(2)});
  data[0][padisi::kRed] = rgb[0];
  data[0][padisi::kGreen] = rgb[1];
  data[0][padisi::kBlue] = rgb[2];
  data[0][padisi::kNir] = single(ir, "ir");
  data[0][padisi::kDepth] = single(depth, "depth");
  return data;
}

std::array<at::Tensor, 3> read_padisi_npz(const std::string& path) {
  const auto arrays = io::read_npz(path);
  if (!arrays.contains(padisi::kArrayName)) throw Error(path + ": PADISI sample without a 'data' array");
  return padisi_modalities(arrays[padisi::kArrayName], path);
}

void write_padisi_npz(const std::string& path, const at::Tensor& rgb, const at::Tensor& depth, const at::Tensor& ir) {
  io::StateDict arrays;
  arrays.insert(padisi::kArrayName, padisi_data(rgb, depth, ir));
  io::write_npz(path, arrays, /*compress=*/true);
}

}  // namespace mmdg::data
