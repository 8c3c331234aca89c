#include "mmdg/data/face_crop.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "mmdg/util/error.h"

namespace mmdg::data {

std::string default_face_cascade() {
  if (const char* env = std::getenv("MMDG_FACE_CASCADE"); env && *env) return env;
  for (const char* path : {"/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
                           "/usr/local/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
                           "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml",
                           "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml"})
    if (std::filesystem::exists(path)) return path;
  return "";
}

struct FaceCropper::Impl {
  cv::CascadeClassifier cascade;
};

FaceCropper::FaceCropper(const FaceCropOptions& options) : impl_(std::make_unique<Impl>()), options_(options) {
  std::string path = options.cascade.empty() ? default_face_cascade() : options.cascade;
  if (path.empty())
    throw Error("face detection: no cascade file found. HINT: install Debian's opencv-data, or give --face-cascade FILE.xml");
  if (!std::filesystem::exists(path)) throw Error(path + ": file not found (face cascade)");
  bool loaded = false;
  try {
    loaded = impl_->cascade.load(path);
  } catch (const cv::Exception& e) {
    throw Error(path + ": not an OpenCV cascade classifier (" + e.msg + ")");
  }
  if (!loaded) throw Error(path + ": not an OpenCV cascade classifier");
  if (!(options.margin >= 0 && options.margin <= 2)) throw UsageError("option face margin: must be in [0, 2]");
}

FaceCropper::~FaceCropper() = default;
FaceCropper::FaceCropper(FaceCropper&&) noexcept = default;

namespace {
// An 8-bit grey version of a frame.
cv::Mat grey8(const cv::Mat& frame) {
  cv::Mat grey;
  if (frame.channels() == 3) cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
  else if (frame.channels() == 4) cv::cvtColor(frame, grey, cv::COLOR_BGRA2GRAY);
  else grey = frame;
  if (grey.depth() == CV_16U) grey.convertTo(grey, CV_8U, 1.0 / 257);
  else if (grey.depth() != CV_8U) throw Error("face detection: unsupported pixel depth (expected 8 or 16 bits)");
  return grey;
}
}  // namespace

std::optional<cv::Rect> FaceCropper::detect(const cv::Mat& frame) const {
  if (frame.empty()) return std::nullopt;
  cv::Mat grey = grey8(frame);
  cv::equalizeHist(grey, grey);
  std::vector<cv::Rect> faces;
  impl_->cascade.detectMultiScale(grey, faces, 1.1, 5, 0, cv::Size(options_.min_face, options_.min_face));
  if (faces.empty()) return std::nullopt;
  return *std::max_element(faces.begin(), faces.end(), [](const cv::Rect& a, const cv::Rect& b) { return a.area() < b.area(); });
}

cv::Rect face_crop_box(const cv::Rect& face, double margin, const cv::Size& from, const cv::Size& to) {
  const double side = std::max(face.width, face.height) * (1 + 2 * margin);
  const double cx = face.x + face.width / 2.0, cy = face.y + face.height / 2.0;
  const double sx = static_cast<double>(to.width) / from.width, sy = static_cast<double>(to.height) / from.height;
  const int x0 = static_cast<int>(std::lround((cx - side / 2) * sx)), y0 = static_cast<int>(std::lround((cy - side / 2) * sy));
  const int x1 = static_cast<int>(std::lround((cx + side / 2) * sx)), y1 = static_cast<int>(std::lround((cy + side / 2) * sy));
  return cv::Rect(cv::Point(x0, y0), cv::Point(x1, y1)) & cv::Rect(0, 0, to.width, to.height);
}

FaceCrop FaceCropper::crop(const std::array<cv::Mat, 3>& frames, const std::string& what) const {
  if (auto found = try_crop(frames, what)) return std::move(*found);
  throw Error(what + ": no face found (searched the RGB frame" + std::string(frames[2].empty() ? "" : " and the IR frame") +
              "). HINT: give face crops without --detect-face, or a frame where the face is at least " +
              std::to_string(options_.min_face) + " pixels wide");
}

std::optional<FaceCrop> FaceCropper::try_crop(const std::array<cv::Mat, 3>& frames, const std::string& what) const {
  FaceCrop out;
  std::optional<cv::Rect> face;
  const cv::Mat& rgb = frames[0];
  if (!rgb.empty()) {
    const double scale = rgb.depth() == CV_16U ? 65535.0 : 255.0;
    const double brightness = cv::mean(grey8(rgb))[0] * (rgb.depth() == CV_16U ? 257.0 : 1.0) / scale;
    if (brightness >= options_.dark_rgb_mean) face = detect(rgb);
  }
  if (face) out.found_in = 0;
  else if (!frames[2].empty() && (face = detect(frames[2]))) out.found_in = 2;
  if (!face) return std::nullopt;
  out.box = *face;
  const cv::Size found_size = frames[out.found_in].size();
  for (int m = 0; m < 3; ++m) {
    if (frames[m].empty()) continue;
    const cv::Rect box = face_crop_box(*face, options_.margin, found_size, frames[m].size());
    if (box.area() == 0) throw Error(what + ": the face box falls outside the " + std::to_string(m) + " frame");
    out.crops[m] = frames[m](box).clone();
  }
  return out;
}

nlohmann::ordered_json face_json(const FaceCrop& face) {
  return {{"x", face.box.x}, {"y", face.box.y}, {"w", face.box.width}, {"h", face.box.height},
          {"in", face.found_in == 0 ? "rgb" : "ir"}};
}

}  // namespace mmdg::data
