#include "mmdg/data/image.h"

#include <torch/torch.h>

#ifdef MMDG_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"

namespace mmdg::data {
namespace {
const double kMean[3] = {0.485, 0.456, 0.406};
const double kStd[3] = {0.229, 0.224, 0.225};
// (3, 1, 1) float32 tensors of three values
at::Tensor channel_values(const double (&v)[3]) {
  return torch::tensor({static_cast<float>(v[0]), static_cast<float>(v[1]), static_cast<float>(v[2])}).view({3, 1, 1});
}
}  // namespace

at::Tensor read_image(const std::string& path) {
  io::file_size(path);  // clear "file not found"
#ifndef MMDG_HAVE_OPENCV
  throw Error(path + ": this build has no image decoding (built without OpenCV; only .npz samples load). "
                     "HINT: install libopencv-imgcodecs-dev and rebuild");
#else
  const cv::Mat mat = cv::imread(path, cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
  if (mat.empty())
    throw Error(path + ": cannot decode the image (corrupt, not a JPEG/PNG file, or more pixels than OpenCV's limit, "
                       "OPENCV_IO_MAX_IMAGE_PIXELS, 2^30 by default)");
  return image_from_mat(&mat, path);
#endif
}

at::Tensor image_from_mat(const void* cv_mat, const std::string& what) {
#ifndef MMDG_HAVE_OPENCV
  (void)cv_mat;
  throw Error(what + ": this build has no OpenCV");
#else
  const cv::Mat& mat = *static_cast<const cv::Mat*>(cv_mat);
  if (mat.empty()) throw Error(what + ": empty image");
  double scale = 1.0;
  if (mat.depth() == CV_8U) scale = 1.0 / 255.0;
  else if (mat.depth() == CV_16U) scale = 1.0 / 65535.0;
  else throw Error(what + ": unsupported pixel depth (expected 8 or 16 bits)");
  cv::Mat rgb;  // a new buffer: the caller's image is left as it is
  if (mat.channels() == 1) cv::cvtColor(mat, rgb, cv::COLOR_GRAY2RGB);
  else if (mat.channels() == 3) cv::cvtColor(mat, rgb, cv::COLOR_BGR2RGB);
  else if (mat.channels() == 4) cv::cvtColor(mat, rgb, cv::COLOR_BGRA2RGB);
  else throw Error(what + ": unsupported channel count " + std::to_string(mat.channels()));
  cv::Mat f;
  rgb.convertTo(f, CV_32FC3, scale);
  return torch::from_blob(f.data, {f.rows, f.cols, 3}, torch::kFloat).permute({2, 0, 1}).clone();
#endif
}

at::Tensor resize_image(const at::Tensor& image, std::int64_t size) {
  namespace F = torch::nn::functional;
  if (image.size(1) == size && image.size(2) == size) return image;
  const at::Tensor x = image.unsqueeze(0);
  const bool shrink = image.size(1) > size || image.size(2) > size;
  const at::Tensor y = shrink ? F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({size, size}))
                              : F::interpolate(x, F::InterpolateFuncOptions()
                                                      .size(std::vector<std::int64_t>{size, size})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(false));
  return y.squeeze(0);
}

NormalizationStats normalization_stats(Normalization normalization) {
  if (normalization == Normalization::Half) return {{127.5 / 255, 127.5 / 255, 127.5 / 255}, {128.0 / 255, 128.0 / 255, 128.0 / 255}};
  return {{kMean[0], kMean[1], kMean[2]}, {kStd[0], kStd[1], kStd[2]}};
}

at::Tensor normalize(const at::Tensor& x, Normalization normalization) {
  if (normalization == Normalization::Half) return (x * 255.0 - 127.5) / 128.0;
  const auto mean = channel_values(kMean);
  const auto std = channel_values(kStd);
  return (x - mean) / std;
}

at::Tensor prepare(const at::Tensor& image, std::int64_t size, Normalization normalization) {
  return normalize(resize_image(image, size), normalization);
}

at::Tensor denormalize(const at::Tensor& input, Normalization normalization) {
  if (normalization == Normalization::Half) return ((input * 128.0 + 127.5) / 255.0).clamp(0, 1);
  const auto mean = channel_values(kMean);
  const auto std = channel_values(kStd);
  return (input * std + mean).clamp(0, 1);
}

}  // namespace mmdg::data
