// Face detection and cropping for raw camera frames (mmdg predict --detect-face): OpenCV's
// Viola-Jones cascade (Debian's opencv-data), run on the RGB frame, or on the IR frame when the
// RGB frame is dark or shows no face; the box, enlarged by a margin and squared, is applied to
// the registered depth and IR frames (scaled when their resolution differs).
#pragma once
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>

namespace mmdg::data {

// The first of OpenCV's frontal-face cascades found in the usual install locations
// ($MMDG_FACE_CASCADE first), or "" when none is installed.
std::string default_face_cascade();

struct FaceCropOptions {
  std::string cascade;          // "" = default_face_cascade()
  double margin = 0.2;          // added on each side, as a fraction of the detected box's size
  double dark_rgb_mean = 0.15;  // an RGB frame darker than this (mean in [0, 1]) is skipped for IR
  int min_face = 24;            // smallest face searched, in pixels
};

struct FaceCrop {
  std::array<cv::Mat, 3> crops;  // rgb, depth, ir (an empty input gives an empty crop)
  cv::Rect box;                  // in the frame the face was found in
  int found_in = 0;              // 0 = rgb, 2 = ir
};

class FaceCropper {
 public:
  explicit FaceCropper(const FaceCropOptions& options = {});
  ~FaceCropper();
  FaceCropper(FaceCropper&&) noexcept;

  // The largest face of an 8-bit (or 16-bit) frame, grey, BGR or BGRA; nullopt when none.
  std::optional<cv::Rect> detect(const cv::Mat& frame) const;

  // Finds the face (RGB, else IR) and crops the three registered frames; nullopt when no face is
  // found (a video's frame without one is reported and skipped). Errors name `what`.
  std::optional<FaceCrop> try_crop(const std::array<cv::Mat, 3>& frames, const std::string& what) const;
  // The same, throwing Error naming `what` when no face is found.
  FaceCrop crop(const std::array<cv::Mat, 3>& frames, const std::string& what) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  FaceCropOptions options_;
};

// The face's box as predict and serve report it: {"x", "y", "w", "h", "in": "rgb" | "ir"} (in
// the frame it was found in).
nlohmann::ordered_json face_json(const FaceCrop& face);

// The crop box of a detected face: enlarged by `margin` per side, squared around its centre,
// scaled from `from` to `to` (a registered frame of another resolution) and clipped to it.
cv::Rect face_crop_box(const cv::Rect& face, double margin, const cv::Size& from, const cv::Size& to);

}  // namespace mmdg::data
