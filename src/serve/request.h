// What `mmdg serve` reads from a client before anything is decoded: the request's fields and
// query parameters, the encoded images' headers (format and size, read without decoding them),
// the bearer token. Free of OpenCV and of the HTTP library, so that it is fuzzed on its own
// (fuzz/serve_request_fuzz.cpp): every input either parses or throws RequestError, whose HTTP
// status and message name the field at fault.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmdg/util/error.h"

namespace mmdg::serve {

// A request the server refuses: 400 (malformed), 401 (no or wrong token), 413 (too large),
// 415 (not an image format the server reads), 422 (well formed, but no face found).
class RequestError : public Error {
 public:
  RequestError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The format and size an encoded image declares in its header: PNG (IHDR), JPEG (the first
// start-of-frame marker) or BMP (the DIB header). Throws RequestError naming `what`: 415 for
// other bytes, 400 for a truncated or inconsistent header or a zero / negative size.
struct ImageHeader {
  std::string format;  // "png", "jpeg", "bmp"
  std::int64_t width = 0, height = 0;
};
ImageHeader read_image_header(std::string_view bytes, const std::string& what);

// One part of a multipart/form-data body (a file or a text field), as the HTTP library gives it.
struct Part {
  std::string name;
  std::string filename;  // empty for a text field
  std::string_view content;
};

struct RequestLimits {
  std::int64_t max_pixels = 16'000'000;  // per image, from its header: beyond it 413
};

// POST /v1/predict: the files rgb, depth, ir (PNG, JPEG or BMP); the options missing (e.g.
// "depth,ir": those modalities are absent and fed as zeros, and must not be sent), maps (0/1:
// also return the overlays) and detect_face (0/1: the images are camera frames, crop the face),
// each as a query parameter or a text field, once.
struct PredictRequest {
  std::array<std::string_view, 3> images;  // encoded bytes; empty for a missing modality
  std::array<ImageHeader, 3> headers;
  std::array<bool, 3> missing{false, false, false};
  bool maps = false;
  bool detect_face = false;
};
PredictRequest parse_predict_request(const std::vector<std::pair<std::string, std::string>>& query,
                                     const std::vector<Part>& parts, const RequestLimits& limits);

// Whether an Authorization header value is "Bearer <token>" (compared in constant time).
bool token_matches(std::string_view authorization, std::string_view token);

// Standard base64 (RFC 4648, padded), for the overlays' PNGs in the JSON answer.
std::string base64(const unsigned char* data, std::size_t size);

}  // namespace mmdg::serve
