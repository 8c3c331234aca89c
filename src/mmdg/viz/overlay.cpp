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

cv::Mat map_overlay(const at::Tensor& image, const at::Tensor& map, double alpha) {
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
  return both;
}

void write_map_overlay(const std::string& path, const at::Tensor& image, const at::Tensor& map, double alpha) {
  write_png(path, map_overlay(image, map, alpha));
}

std::vector<std::pair<std::string, cv::Mat>> prediction_overlays(const infer::Prediction& p, std::int64_t i,
                                                                 const std::array<at::Tensor, 3>& images) {
  std::vector<std::pair<std::string, cv::Mat>> overlays;
  for (int m = 0; m < 3; ++m)
    if (images[m].defined() && p.reliability_maps[m].defined())
      overlays.emplace_back(std::string(model::modality_name(m)) + "_reliability", map_overlay(images[m], p.reliability_maps[m][i]));
  for (const auto& [key, weights] : p.attention) {  // key "a_b" (1-based modalities), weights (B, h, L, L)
    const int own = key[0] - '1', other = key[2] - '1';
    if (other < 0 || other > 2 || own < 0 || own > 2 || !images[other].defined()) continue;
    // the overlay colours 1 - map (made for reliabilities): 1 - attention, so red = most attended
    overlays.emplace_back(std::string(model::modality_name(own)) + "_from_" + model::modality_name(other) + "_attention",
                          map_overlay(images[other], 1 - infer::received_attention(weights, i)));
  }
  return overlays;
}

std::vector<unsigned char> encode_png(const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", image, bytes)) throw Error("cannot encode a " + std::to_string(image.cols) + " x " +
                                                       std::to_string(image.rows) + " image as PNG");
  return bytes;
}

}  // namespace mmdg::viz
