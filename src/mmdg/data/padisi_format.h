// The PADISI-Face sample format, read by the loaders and written by `mmdg synth`: one .npz per
// frame holding the array "data", float (1, 22, H, W) in [0, 1]; channels 0-2 are colour in BGR
// order, 3 near infrared, 4 depth; the other channels (SWIR, thermal, ...) are not used by MMDG.
// A list names such a file on a "name.npz<TAB>label" line (list_file.h, SampleFormat::PadisiNpz).
#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

namespace mmdg::data::padisi {

inline constexpr const char* kArrayName = "data";
inline constexpr std::int64_t kChannels = 22;
inline constexpr std::int64_t kBlue = 0, kGreen = 1, kRed = 2, kNir = 3, kDepth = 4;

}  // namespace mmdg::data::padisi

namespace mmdg::data {

// The model's three modalities of a PADISI "data" array: RGB, depth and IR, each (3, H, W) float
// in [0, 1] (depth and NIR repeated over the three channels). `path` names the file in errors.
std::array<at::Tensor, 3> padisi_modalities(const at::Tensor& data, const std::string& path);

// A PADISI "data" array (1, 22, H, W) float from rgb (3, H, W) in RGB order and depth, ir
// (H, W) or (1, H, W), all in [0, 1]; the unused channels are zero.
at::Tensor padisi_data(const at::Tensor& rgb, const at::Tensor& depth, const at::Tensor& ir);

// Reads a PADISI .npz: the padisi_modalities of its "data" array.
std::array<at::Tensor, 3> read_padisi_npz(const std::string& path);

// Writes a PADISI .npz holding padisi_data(rgb, depth, ir), deflate-compressed as the real files
// are, atomically.
void write_padisi_npz(const std::string& path, const at::Tensor& rgb, const at::Tensor& depth, const at::Tensor& ir);

}  // namespace mmdg::data
