#include "mmdg/io/weights_file.h"

#include <ATen/ATen.h>

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

WeightsInfo weights_info(const std::string& path) {
  WeightsInfo info;
  info.format = detect_weights_format(path);
  const StateDict tensors = info.format == WeightsFormat::TorchZip
                                ? read_torch_checkpoint(path, &info.skipped)
                                : read_safetensors(path);
  for (const auto& item : tensors) {
    const at::Tensor& t = item.value();
    info.tensors.push_back({item.key(), dtype_name(t.scalar_type()), t.sizes().vec(),
                            t.to(at::kDouble).sum().item<double>()});
    info.total_elements += t.numel();
  }
  return info;
}

}  // namespace mmdg::io
