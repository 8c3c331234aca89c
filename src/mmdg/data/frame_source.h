// Frames of one modality for `mmdg predict`: a single image, a folder of frames (image files in
// name order), or a video file (OpenCV's videoio, when built with it). Three sources, one per
// modality, are read in step; a frame stride keeps every n-th frame.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mmdg::data {

class FrameSource {
 public:
  enum class Kind { Image, Folder, Video };

  // Errors name the path: missing, an empty folder, an unreadable video.
  explicit FrameSource(const std::string& path);
  ~FrameSource();
  FrameSource(FrameSource&&) noexcept;

  // The next frame as cv::imread gives it (8- or 16-bit; grey, BGR or BGRA), or nullopt at the end.
  // Errors name the file (folder) or the frame (video).
  std::optional<cv::Mat> next();
  // Skips `n` frames; false when the source ends first.
  bool skip(std::int64_t n);

  Kind kind() const { return kind_; }
  std::int64_t frame_count() const { return count_; }  // -1 when a video does not say
  const std::string& path() const { return path_; }

 private:
  struct Video;
  std::string path_;
  Kind kind_ = Kind::Image;
  std::vector<std::string> files_;  // Image: one, Folder: the frames
  std::size_t next_file_ = 0;
  std::unique_ptr<Video> video_;
  std::int64_t count_ = 0, position_ = 0;
};

// True when `path` names a video file by its extension (.mp4 .avi .mkv .mov .webm .m4v .mpg .mpeg .wmv).
bool is_video_path(const std::string& path);

}  // namespace mmdg::data
