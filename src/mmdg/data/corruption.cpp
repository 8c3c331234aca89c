#include "mmdg/data/corruption.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#ifdef MMDG_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

#include "mmdg/util/error.h"

namespace mmdg::data {
namespace {

constexpr int kRGB = 0, kDepth = 1, kIR = 2;  // CorruptionInfo::modality


// Pixels with a depth reading (no reading is 0; 8-bit exports write 1/255 for the farthest).
at::Tensor valid_depth(const at::Tensor& depth) { return depth > 0.5 / 255; }

at::Tensor gaussian_blur(const at::Tensor& image, double sigma) {
  const auto radius = static_cast<std::int64_t>(std::ceil(3 * sigma));
  auto x = torch::arange(-radius, radius + 1, torch::kFloat);
  auto k = torch::exp(-(x * x) / (2 * sigma * sigma));
  k = k / k.sum();
  auto img = image.unsqueeze(0);  // (1, 3, S, S)
  namespace F = torch::nn::functional;
  img = F::pad(img, F::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReflect));
  const auto kx = k.view({1, 1, 1, -1}).expand({3, 1, 1, k.size(0)}).contiguous();
  const auto ky = k.view({1, 1, -1, 1}).expand({3, 1, k.size(0), 1}).contiguous();
  img = F::conv2d(img, kx, F::Conv2dFuncOptions().groups(3));
  img = F::conv2d(img, ky, F::Conv2dFuncOptions().groups(3));
  return img.squeeze(0);
}

at::Tensor shifted(const at::Tensor& image, std::int64_t dx) {
  if (dx == 0) return image.clone();
  auto out = torch::zeros_like(image);
  const auto S = image.size(2);
  if (dx >= S) return out;
  out.narrow(2, dx, S - dx).copy_(image.narrow(2, 0, S - dx));
  return out;
}

at::Tensor jpeg(const at::Tensor& image, int quality) {
#ifdef MMDG_HAVE_OPENCV
  const auto S = image.size(1);
  const auto hwc = (image.permute({1, 2, 0}).flip(2) * 255).round().clamp(0, 255).to(torch::kUInt8).contiguous();  // BGR
  const cv::Mat mat(static_cast<int>(S), static_cast<int>(image.size(2)), CV_8UC3, hwc.data_ptr());
  std::vector<unsigned char> bytes;
  cv::imencode(".jpg", mat, bytes, {cv::IMWRITE_JPEG_QUALITY, quality});
  const cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
  const auto back = torch::from_blob(decoded.data, {decoded.rows, decoded.cols, 3}, torch::kUInt8).clone();
  return back.flip(2).permute({2, 0, 1}).to(torch::kFloat) / 255;
#else
  (void)image;
  (void)quality;
  throw Error("corruption rgb_jpeg: this build has no OpenCV (JPEG encoding)");
#endif
}

// Blobs of missing depth on the face until a fraction s of its readings is gone.
Corrupted depth_dropout(const at::Tensor& image, double s, at::Generator gen) {
  auto depth = image[0].clone();  // (S, S), one channel of the three
  const auto valid = valid_depth(depth);
  const auto S = depth.size(0);
  const auto total = valid.sum().item<std::int64_t>();
  auto removed = torch::zeros({S, S}, torch::kBool);
  const auto target = static_cast<std::int64_t>(std::ceil(s * static_cast<double>(total)));
  if (target > 0) {
    const auto where = valid.nonzero();  // (n, 2)
    const auto yy = torch::arange(S).view({S, 1}).expand({S, S}), xx = torch::arange(S).view({1, S}).expand({S, S});
    for (int k = 0; k < 100000 && (removed & valid).sum().item<std::int64_t>() < target; ++k) {
      const auto u = torch::rand({2}, gen, torch::kDouble);
      const auto pick = where[std::min<std::int64_t>(where.size(0) - 1, static_cast<std::int64_t>(u[0].item<double>() * where.size(0)))];
      const double radius = static_cast<double>(S) / 16 * (1 + u[1].item<double>());
      const auto cy = pick[0].item<std::int64_t>(), cx = pick[1].item<std::int64_t>();
      removed |= ((yy - cy) * (yy - cy) + (xx - cx) * (xx - cx)).to(torch::kDouble) <= radius * radius;
    }
  }
  const auto mask = removed & valid;
  Corrupted c;
  c.image = image.clone();
  c.image.index_put_({torch::indexing::Slice(), mask}, 0.0);
  c.mask = mask;
  return c;
}

}  // namespace

const std::vector<CorruptionInfo>& corruptions() {
  static const std::vector<CorruptionInfo> table = {
      {"depth_dropout", kDepth, "fraction of the face's depth readings removed, in blobs of S/16 to S/8 radius", true, false},
      {"depth_noise", kDepth, "standard deviation 0.15 s of Gaussian noise on the face's readings", true, false},
      {"depth_range", kDepth, "range compression: readings pulled to their mean by a factor 1 - 0.9 s", false, false},
      {"ir_saturation", kIR, "gain 1 + 3 s, then clipped at 1 (the changed pixels: those clipped)", true, false},
      {"ir_gain", kIR, "global gain 1 - 0.8 s", false, false},
      {"rgb_lowlight", kRGB, "brightness 1 - 0.85 s with Gaussian noise of standard deviation 0.05 s", false, false},
      {"rgb_blur", kRGB, "Gaussian blur of standard deviation s S / 16 pixels", false, false},
      {"rgb_jpeg", kRGB, "JPEG at quality 95 - 85 s (s = 0: untouched)", false, false},
      {"depth_shift", kDepth, "misregistration: depth shifted right by s S / 8 pixels (zeros enter)", false, false},
      {"ir_shift", kIR, "misregistration: NIR shifted right by s S / 8 pixels (zeros enter)", false, false},
      {"rgb_zero", kRGB, "normalized input scaled by 1 - s: s = 1 is Protocol 2's missing modality", false, true},
      {"depth_zero", kDepth, "normalized input scaled by 1 - s: s = 1 is Protocol 2's missing modality", false, true},
      {"ir_zero", kIR, "normalized input scaled by 1 - s: s = 1 is Protocol 2's missing modality", false, true},
  };
  return table;
}

const CorruptionInfo& corruption(const std::string& name) {
  for (const auto& c : corruptions())
    if (c.name == name) return c;
  std::string known;
  for (const auto& c : corruptions()) known += (known.empty() ? "" : ", ") + c.name;
  throw UsageError("option --corruption: unknown corruption '" + name + "' (known: " + known + ")");
}

Corrupted corrupt(const std::string& name, const at::Tensor& input, double s, std::uint64_t seed) {
  corruption(name);  // known, or a UsageError naming it
  if (!(s >= 0 && s <= 1)) throw UsageError("corruption " + name + ": severity " + std::to_string(s) + " is not in [0, 1]");
  if (input.dim() != 3 || input.size(0) != 3)
    throw Error("corruption " + name + ": expected a (3, S, S) image, got " + std::to_string(input.dim()) + " dimensions");
  torch::NoGradGuard no_grad;
  const auto image = input.to(torch::kCPU, torch::kFloat);
  auto gen = at::detail::createCPUGenerator(seed);
  Corrupted c;
  const auto channel = image[0];  // (S, S): depth and NIR images hold one channel three times
  at::Tensor out;                 // a one-channel result
  if (name == "depth_dropout") {
    c = depth_dropout(image, s, gen);
  } else if (name == "depth_noise") {
    const auto valid = valid_depth(channel);
    const auto noise = torch::randn(channel.sizes(), gen, torch::kFloat) * (0.15 * s);
    out = torch::where(valid, (channel + noise).clamp(1.0 / 255, 1), channel);
    if (s > 0) c.mask = valid;
  } else if (name == "depth_range") {
    const auto valid = valid_depth(channel);
    const auto mean = valid.any().item<bool>() ? channel.masked_select(valid).mean() : torch::zeros({});
    out = torch::where(valid, mean + (channel - mean) * (1 - 0.9 * s), channel);
  } else if (name == "ir_saturation") {
    const auto gained = channel * (1 + 3 * s);
    out = gained.clamp_max(1);
    if (s > 0) c.mask = gained > 1;
  } else if (name == "ir_gain") {
    out = channel * (1 - 0.8 * s);
  } else if (name == "rgb_lowlight") {
    c.image = (image * (1 - 0.85 * s) + torch::randn(image.sizes(), gen, torch::kFloat) * (0.05 * s)).clamp(0, 1);
  } else if (name == "rgb_blur") {
    c.image = s > 0 ? gaussian_blur(image, s * static_cast<double>(image.size(2)) / 16) : image.clone();
  } else if (name == "rgb_jpeg") {
    c.image = s > 0 ? jpeg(image, static_cast<int>(std::lround(95 - 85 * s))) : image.clone();
  } else if (name == "depth_shift" || name == "ir_shift") {
    out = shifted(channel.unsqueeze(0), static_cast<std::int64_t>(std::lround(s * static_cast<double>(image.size(2)) / 8)))[0];
  } else {  // *_zero
    c.image = image * (1 - s);
  }
  if (out.defined()) c.image = out.unsqueeze(0).expand_as(image).clone();  // into the three channels
  c.image = c.image.to(input.device(), input.scalar_type());
  return c;
}

}  // namespace mmdg::data
