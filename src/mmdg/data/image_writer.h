// Writing an image file (OpenCV): encoded by the path's extension (.png, .jpg / .jpeg), parent
// folders created, written atomically. Used by the synthetic benchmark, the WMCA converter and the
// reliability overlays.
#pragma once
#include <string>

namespace mmdg::data {

// `cv_mat`: a cv::Mat (an opaque pointer, so that this header needs no OpenCV), 8-bit grey / BGR
// or 16-bit grey (PNG). `jpeg_quality` (1-100) applies to JPEG only. Errors name the path.
void write_image(const std::string& path, const void* cv_mat, int jpeg_quality = 95);

}  // namespace mmdg::data
