// Image decoding and the model's input pipeline (OpenCV): JPEG / PNG, 8-bit, and 16-bit depth
// PNG; single-channel depth / IR replicated to three channels; resized to the model's input size;
// normalized. Tensors are (3, S, S) float32 in RGB channel order.
#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <string>
#include <utility>

#include "mmdg/util/enum_names.h"

namespace mmdg::data {

enum class Normalization {
  ImageNet,  // (x - mean) / std with ImageNet's mean/std, x in [0, 1] (the backbone's weights expect it)
  Half,      // (x * 255 - 127.5) / 128
};

// Decodes an image file to a float tensor (3, H, W) in [0, 1], RGB order; 8-bit values are /255,
// 16-bit ones /65535. Errors name the file.
at::Tensor read_image(const std::string& path);

// The same conversion for an image already in memory: a cv::Mat (an opaque pointer here, so that
// this header needs no OpenCV) as cv::imread gives it: 1 channel (grey, depth, IR), 3 (BGR) or
// 4 (BGRA), 8- or 16-bit. Errors name `what`. Throws without OpenCV.
at::Tensor image_from_mat(const void* cv_mat, const std::string& what);

// (3, H, W) -> (3, S, S): bilinear when enlarging, area averaging when shrinking.
at::Tensor resize_image(const at::Tensor& image, std::int64_t size);

// The per-channel mean and standard deviation (of [0, 1] values) a normalization subtracts and
// divides by: ImageNet's, or 127.5/255 and 128/255 for `half`.
struct NormalizationStats {
  std::array<double, 3> mean, std;
};
NormalizationStats normalization_stats(Normalization normalization);

// (3, S, S) in [0, 1] -> normalized.
at::Tensor normalize(const at::Tensor& image, Normalization normalization);

// resize_image + normalize.
at::Tensor prepare(const at::Tensor& image, std::int64_t size, Normalization normalization);

// The inverse of the normalization, for display: (3, S, S) -> [0, 1].
at::Tensor denormalize(const at::Tensor& input, Normalization normalization);

}  // namespace mmdg::data

namespace mmdg {
template <>
struct EnumNames<data::Normalization> {
  static constexpr std::pair<data::Normalization, const char*> values[] = {{data::Normalization::ImageNet, "imagenet"},
                                                                          {data::Normalization::Half, "half"}};
};
}  // namespace mmdg
