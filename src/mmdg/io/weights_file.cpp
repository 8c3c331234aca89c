#include "mmdg/io/weights_file.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "mmdg/io/file_util.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/util/error.h"

namespace mmdg::io {

WeightsFormat detect_weights_format(const std::string& path) {
  const std::string head = read_prefix(path, 16);
  if (head.size() >= 4 && head.compare(0, 4, "PK\x03\x04") == 0) return WeightsFormat::TorchZip;
  if (head.size() >= 9 && head[8] == '{') return WeightsFormat::Safetensors;
  if (head.size() >= 3 && static_cast<unsigned char>(head[0]) == 0x80 && static_cast<unsigned char>(head[2]) == 0x8a)
    throw Error(path + ": this is the legacy (pre-1.6, non-zip) torch.save format, which is not "
                "supported. HINT: re-save it with a current torch: "
                "torch.save(torch.load(path), new_path)");
  if (head.size() < 9)
    throw Error(path + ": " + std::to_string(head.size()) + " bytes is too short to be a weights file (truncated?)");
  throw Error(path + ": not a weights file: neither a torch.save zip checkpoint (.pth) nor safetensors");
}

StateDict read_weights(const std::string& path) {
  return detect_weights_format(path) == WeightsFormat::TorchZip ? read_torch_checkpoint(path)
                                                                 : read_safetensors(path);
}

double element_sum(at::Tensor t) {
  // a broadcast dimension (stride 0) repeats the same values: summed once, times its size
  double repeats = 1;
  for (std::int64_t d = 0; d < t.dim(); ++d)
    if (t.stride(d) == 0 && t.size(d) > 1) {
      repeats *= static_cast<double>(t.size(d));
      t = t.narrow(d, 0, 1);
    }
  if (t.dim() == 0 || t.numel() <= kSumChunk) return t.to(at::kDouble).sum().item<double>() * repeats;
  // overlapping strides can still make a large view of a small storage: convert a slab at a time
  std::int64_t d = 0;
  for (std::int64_t k = 1; k < t.dim(); ++k)
    if (t.size(k) > t.size(d)) d = k;
  const std::int64_t slab = std::max<std::int64_t>(1, kSumChunk / std::max<std::int64_t>(1, t.numel() / t.size(d)));
  double sum = 0;
  for (std::int64_t i = 0; i < t.size(d); i += slab)
    sum += t.narrow(d, i, std::min(slab, t.size(d) - i)).to(at::kDouble).sum().item<double>();
  return sum * repeats;
}

WeightsInfo weights_info(const std::string& path) {
  WeightsInfo info;
  info.format = detect_weights_format(path);
  const StateDict tensors = info.format == WeightsFormat::TorchZip
                                ? read_torch_checkpoint(path, &info.skipped)
                                : read_safetensors(path);
  for (const auto& item : tensors) {
    const at::Tensor& t = item.value();
    info.tensors.push_back({item.key(), dtype_name(t.scalar_type()), t.sizes().vec(),
                            element_sum(t)});
    info.total_elements += t.numel();
  }
  return info;
}

}  // namespace mmdg::io
