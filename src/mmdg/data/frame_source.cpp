#include "mmdg/data/frame_source.h"

#include <opencv2/imgcodecs.hpp>
#ifdef MMDG_HAVE_VIDEOIO
#include <opencv2/videoio.hpp>
#endif

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "mmdg/util/error.h"

namespace mmdg::data {
namespace fs = std::filesystem;

namespace {
std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}
bool is_image_path(const std::string& path) {
  const auto ext = lower_extension(path);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" || ext == ".tiff";
}
}  // namespace

bool is_video_path(const std::string& path) {
  const auto ext = lower_extension(path);
  for (const char* v : {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
    if (ext == v) return true;
  return false;
}

struct FrameSource::Video {
#ifdef MMDG_HAVE_VIDEOIO
  cv::VideoCapture capture;
#endif
};

FrameSource::FrameSource(const std::string& path) : path_(path) {
  if (!fs::exists(path)) throw Error(path + ": file not found");
  if (fs::is_directory(path)) {
    kind_ = Kind::Folder;
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.is_regular_file() && is_image_path(entry.path().string())) files_.push_back(entry.path().string());
    std::sort(files_.begin(), files_.end());
    if (files_.empty()) throw Error(path + ": the folder holds no image frames (.png, .jpg, .bmp, .tif)");
    count_ = static_cast<std::int64_t>(files_.size());
  } else if (is_video_path(path)) {
    kind_ = Kind::Video;
#ifndef MMDG_HAVE_VIDEOIO
    throw Error(path + ": this build reads no video (built without OpenCV's videoio). HINT: install libopencv-videoio-dev and rebuild");
#else
    video_ = std::make_unique<Video>();
    if (!video_->capture.open(path)) throw Error(path + ": cannot open the video (corrupt, or a codec OpenCV lacks)");
    const double frames = video_->capture.get(cv::CAP_PROP_FRAME_COUNT);
    count_ = frames > 0 ? static_cast<std::int64_t>(frames) : -1;
#endif
  } else {
    files_ = {path};
    count_ = 1;
  }
}

FrameSource::~FrameSource() = default;
FrameSource::FrameSource(FrameSource&&) noexcept = default;

std::optional<cv::Mat> FrameSource::next() {
  if (kind_ == Kind::Video) {
#ifdef MMDG_HAVE_VIDEOIO
    cv::Mat frame;
    if (!video_->capture.read(frame) || frame.empty()) return std::nullopt;
    ++position_;
    return frame;
#endif
  }
  if (next_file_ >= files_.size()) return std::nullopt;
  const std::string& file = files_[next_file_++];
  ++position_;
  cv::Mat frame = cv::imread(file, cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
  if (frame.empty()) throw Error(file + ": cannot decode the image (corrupt or not an image file)");
  return frame;
}

bool FrameSource::skip(std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    if (kind_ == Kind::Video) {
#ifdef MMDG_HAVE_VIDEOIO
      if (!video_->capture.grab()) return false;
      ++position_;
      continue;
#endif
    }
    if (next_file_ >= files_.size()) return false;
    ++next_file_;
    ++position_;
  }
  return true;
}

}  // namespace mmdg::data
