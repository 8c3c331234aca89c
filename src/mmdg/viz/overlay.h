// Reliability maps drawn over the input image (the paper's Fig. 7), as PNG (OpenCV).
#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mmdg/infer/predictor.h"

namespace cv {
class Mat;
}

namespace mmdg::viz {

// Encodes an 8-bit BGR / gray image as PNG and writes it atomically (parent folders created).
void write_png(const std::string& path, const cv::Mat& image);

// image (3, S, S) in [0, 1] (RGB), map (g, g) in [0, 1] -> an (S, 2S) PNG: the image on the
// left, the map upsampled, colour-mapped (JET: blue = reliable ... red = uncertain, i.e. 1 - map)
// and blended over it on the right. Written atomically.
void write_map_overlay(const std::string& path, const at::Tensor& image, const at::Tensor& map, double alpha = 0.5);
// The same picture, 8-bit BGR.
cv::Mat map_overlay(const at::Tensor& image, const at::Tensor& map, double alpha = 0.5);

// The overlays of sample i of a prediction, as `mmdg predict --maps` writes them and `mmdg serve`
// returns them, by name: "<m>_reliability" for each modality given (networks with uncertainty),
// then "<a>_from_<b>_attention" for each adapter a <- b whose attention was asked for (Fig. 7: the
// attention each of b's patches receives, red = most attended, over b's image). images: the
// inputs (3, S, S) in [0, 1], undefined for a missing modality.
std::vector<std::pair<std::string, cv::Mat>> prediction_overlays(const infer::Prediction& p, std::int64_t i,
                                                                 const std::array<at::Tensor, 3>& images);

// PNG bytes of an 8-bit image.
std::vector<unsigned char> encode_png(const cv::Mat& image);

}  // namespace mmdg::viz
