#include "mmdg/viz/overlay.h"

#include <torch/torch.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mmdg/data/image_writer.h"
#include "mmdg/util/error.h"

namespace mmdg::viz {

void write_png(const std::string& path, const cv::Mat& image) {
  data::write_image(path, &image);
}

void write_map_overlay(const std::string& path, const at::Tensor& image, const at::Tensor& map, double alpha) {
  const auto S = image.size(1);
  const at::Tensor rgb = (image.detach().to(torch::kCPU).clamp(0, 1) * 255).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  cv::Mat picture(static_cast<int>(S), static_cast<int>(image.size(2)), CV_8UC3, rgb.data_ptr());
  cv::Mat bgr;
  cv::cvtColor(picture, bgr, cv::COLOR_RGB2BGR);
  const at::Tensor uncertainty = ((1 - map.detach().to(torch::kCPU).clamp(0, 1)) * 255).to(torch::kUInt8).contiguous();
  cv::Mat small(static_cast<int>(map.size(0)), static_cast<int>(map.size(1)), CV_8UC1, uncertainty.data_ptr());
  cv::Mat large, colour, blended;
  cv::resize(small, large, bgr.size(), 0, 0, cv::INTER_NEAREST);
  cv::applyColorMap(large, colour, cv::COLORMAP_JET);
  cv::addWeighted(bgr, 1 - alpha, colour, alpha, 0, blended);
  cv::Mat both;
  cv::hconcat(bgr, blended, both);
  write_png(path, both);
}

}  // namespace mmdg::viz
