// Reliability maps drawn over the input image (the paper's Fig. 7), as PNG (OpenCV).
#pragma once
#include <ATen/core/Tensor.h>

#include <string>

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

}  // namespace mmdg::viz
