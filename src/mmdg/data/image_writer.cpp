#include "mmdg/data/image_writer.h"

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"

namespace mmdg::data {

void write_image(const std::string& path, const void* cv_mat, int jpeg_quality) {
  const cv::Mat& image = *static_cast<const cv::Mat*>(cv_mat);
  const std::string extension = std::filesystem::path(path).extension().string();
  std::vector<int> params;
  if (extension == ".jpg" || extension == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, jpeg_quality};
  std::vector<uchar> bytes;
  if (!cv::imencode(extension, image, bytes, params)) throw Error(path + ": " + extension + " encoding failed");
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  io::write_file_atomically(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
}

}  // namespace mmdg::data
