// Image decoding and the model's input pipeline (OpenCV): JPEG / PNG, 8-bit, and 16-bit depth
// PNG; single-channel depth / IR replicated to three channels; resized to the model's input size;
// normalized. Tensors are (3, S, S) float32 in RGB channel order.
#pragma once
#include <ATen/core/Tensor.h>

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

// (3, H, W) -> (3, S, S): bilinear when enlarging, area averaging when shrinking.
at::Tensor resize_image(const at::Tensor& image, std::int64_t size);

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
