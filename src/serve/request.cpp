#include "serve/request.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace mmdg::serve {
namespace {

constexpr std::array<const char*, 3> kModalities{"rgb", "depth", "ir"};
constexpr std::size_t kMaxTextField = 256;  // the longest option value read (e.g. "depth,ir")
// Beyond any sensor, and small enough that width * height stays far from overflow.
constexpr std::int64_t kMaxSide = 1 << 20;

std::uint32_t big_endian(std::string_view b, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int k = 0; k < bytes; ++k) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(k)]);
  return v;
}

std::uint32_t little_endian(std::string_view b, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(k)]);
  return v;
}

// printable, for a message: a value as the client sent it, cut and with odd bytes escaped
std::string shown(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\'') {
      out += c;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  if (text.size() > 40) out += "...";
  return out;
}

ImageHeader checked(ImageHeader h, const std::string& what) {
  if (h.width <= 0 || h.height <= 0 || h.width > kMaxSide || h.height > kMaxSide)
    throw RequestError(400, what + ": the " + h.format + " header declares a " + std::to_string(h.width) + " x " +
                                std::to_string(h.height) + " image (each side must be in [1, " +
                                std::to_string(kMaxSide) + "])");
  return h;
}

ImageHeader png_header(std::string_view b, const std::string& what) {
  // signature (8), IHDR chunk: length (4) "IHDR" (4) width (4) height (4) bit depth, colour type ...
  if (b.size() < 29 || b.substr(12, 4) != "IHDR")
    throw RequestError(400, what + ": a truncated PNG (no IHDR chunk at its start)");
  return checked({"png", big_endian(b, 16, 4), big_endian(b, 20, 4)}, what);
}

ImageHeader jpeg_header(std::string_view b, const std::string& what) {
  std::size_t at = 2;  // after SOI
  while (true) {
    while (at < b.size() && static_cast<unsigned char>(b[at]) == 0xff && at + 1 < b.size() &&
           static_cast<unsigned char>(b[at + 1]) == 0xff)
      ++at;  // fill bytes
    if (at + 4 > b.size()) throw RequestError(400, what + ": a truncated JPEG (no frame header before the end)");
    if (static_cast<unsigned char>(b[at]) != 0xff)
      throw RequestError(400, what + ": a malformed JPEG (no marker at byte " + std::to_string(at) + ")");
    const auto marker = static_cast<unsigned char>(b[at + 1]);
    if (marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {  // markers without a segment
      at += 2;
      continue;
    }
    if (marker == 0xd9 || marker == 0xda)
      throw RequestError(400, what + ": a malformed JPEG (its scan starts before any frame header)");
    const std::size_t length = big_endian(b, at + 2, 2);  // counts itself, not the marker
    if (length < 2) throw RequestError(400, what + ": a malformed JPEG (a segment of length " + std::to_string(length) + ")");
    const bool frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame) {
      // length (2) precision (1) height (2) width (2) components (1)
      if (length < 8 || at + 2 + 8 > b.size()) throw RequestError(400, what + ": a truncated JPEG frame header");
      const std::int64_t height = big_endian(b, at + 5, 2), width = big_endian(b, at + 7, 2);
      if (height == 0)
        throw RequestError(400, what + ": a JPEG whose height is given after the scan (DNL marker); not read");
      return checked({"jpeg", width, height}, what);
    }
    at += 2 + length;
  }
}

ImageHeader bmp_header(std::string_view b, const std::string& what) {
  // file header (14), then the DIB header: its size (4), then the size (16-bit fields in the
  // 12-byte OS/2 header, signed 32-bit ones otherwise; a negative height is a top-down image)
  if (b.size() < 26) throw RequestError(400, what + ": a truncated BMP header");
  const auto dib = little_endian(b, 14, 4);
  if (dib == 12) return checked({"bmp", little_endian(b, 18, 2), little_endian(b, 20, 2)}, what);
  if (dib < 40) throw RequestError(400, what + ": a BMP with an unknown header of " + std::to_string(dib) + " bytes");
  const auto width = static_cast<std::int32_t>(little_endian(b, 18, 4));
  const auto height = static_cast<std::int32_t>(little_endian(b, 22, 4));
  return checked({"bmp", width, std::abs(static_cast<std::int64_t>(height))}, what);
}

bool parse_flag(std::string_view value, const std::string& what) {
  if (value == "1" || value == "true") return true;
  if (value == "0" || value == "false" || value.empty()) return false;
  throw RequestError(400, what + ": '" + shown(value) + "' is not a flag (expected 0, 1, true or false)");
}

std::array<bool, 3> parse_missing(std::string_view value, const std::string& what) {
  std::array<bool, 3> missing{false, false, false};
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = std::min(value.find(',', start), value.size());
    const auto item = value.substr(start, comma - start);
    if (item == "depth") missing[1] = true;
    else if (item == "ir") missing[2] = true;
    else if (!item.empty())
      throw RequestError(400, what + ": unknown modality '" + shown(item) + "' (expected depth and/or ir, comma-separated; "
                                     "RGB is always needed)");
    start = comma + 1;
  }
  return missing;
}

}  // namespace

ImageHeader read_image_header(std::string_view bytes, const std::string& what) {
  if (bytes.empty()) throw RequestError(400, what + ": an empty file");
  if (bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return png_header(bytes, what);
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff && static_cast<unsigned char>(bytes[1]) == 0xd8 &&
      static_cast<unsigned char>(bytes[2]) == 0xff)
    return jpeg_header(bytes, what);
  if (bytes.size() >= 2 && bytes.substr(0, 2) == "BM") return bmp_header(bytes, what);
  throw RequestError(415, what + ": not a PNG, JPEG or BMP image (it starts with '" + shown(bytes.substr(0, 8)) + "')");
}

PredictRequest parse_predict_request(const std::vector<std::pair<std::string, std::string>>& query,
                                     const std::vector<Part>& parts, const RequestLimits& limits) {
  PredictRequest r;
  // the options, from the query or from text fields, each once
  std::array<bool, 3> option_seen{false, false, false};
  std::array<bool, 3> file_seen{false, false, false};
  const auto option = [&](const std::string& name, std::string_view value, const std::string& where) {
    const std::string what = where + " '" + name + "'";
    int k = -1;
    if (name == "missing") k = 0;
    else if (name == "maps") k = 1;
    else if (name == "detect_face") k = 2;
    if (k < 0) return false;
    if (option_seen[static_cast<std::size_t>(k)]) throw RequestError(400, what + ": given twice");
    option_seen[static_cast<std::size_t>(k)] = true;
    if (value.size() > kMaxTextField)
      throw RequestError(400, what + ": a value of " + std::to_string(value.size()) + " bytes (at most " +
                                  std::to_string(kMaxTextField) + ")");
    if (k == 0) r.missing = parse_missing(value, what);
    else if (k == 1) r.maps = parse_flag(value, what);
    else r.detect_face = parse_flag(value, what);
    return true;
  };
  for (const auto& [name, value] : query)
    if (!option(name, value, "query parameter"))
      throw RequestError(400, "query parameter '" + shown(name) + "': unknown (expected missing, maps, detect_face)");
  for (const auto& part : parts) {
    const auto m = std::find(kModalities.begin(), kModalities.end(), part.name) - kModalities.begin();
    if (m < 3) {
      if (file_seen[static_cast<std::size_t>(m)]) throw RequestError(400, "field '" + part.name + "': given twice");
      file_seen[static_cast<std::size_t>(m)] = true;
      r.images[static_cast<std::size_t>(m)] = part.content;
      continue;
    }
    if (!part.filename.empty() || !option(part.name, part.content, "field"))
      throw RequestError(400, "field '" + shown(part.name) +
                                  "': unknown (expected the files rgb, depth, ir and the fields missing, maps, detect_face)");
  }
  for (std::size_t m = 0; m < 3; ++m) {
    const std::string what = std::string("field '") + kModalities[m] + "'";
    if (r.missing[m]) {
      if (file_seen[m])
        throw RequestError(400, what + ": sent, but listed in missing (send it, or drop it from missing)");
      continue;
    }
    if (!file_seen[m])
      throw RequestError(400, what + ": no such file in the request (send rgb, depth and ir, or list the absent ones in "
                                     "missing=depth,ir)");
    r.headers[m] = read_image_header(r.images[m], what);
    const auto pixels = r.headers[m].width * r.headers[m].height;
    if (pixels > limits.max_pixels) {
      std::ostringstream out;
      out << what << ": a " << r.headers[m].width << " x " << r.headers[m].height << " image (" << pixels
          << " pixels) is over the server's limit of " << limits.max_pixels << " pixels (--max-image-mpixels)";
      throw RequestError(413, out.str());
    }
  }
  return r;
}

bool token_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() < scheme.size() || authorization.substr(0, scheme.size()) != scheme) return false;
  const auto given = authorization.substr(scheme.size());
  // constant time in the token's content: every byte of the longer one is compared
  unsigned char difference = given.size() == token.size() ? 0 : 1;
  const std::size_t n = std::max(given.size(), token.size());
  for (std::size_t k = 0; k < n; ++k) {
    const auto a = k < given.size() ? static_cast<unsigned char>(given[k]) : 0;
    const auto b = k < token.size() ? static_cast<unsigned char>(token[k]) : 0;
    difference |= static_cast<unsigned char>(a ^ b);
  }
  return difference == 0 && !token.empty();
}

std::string base64(const unsigned char* data, std::size_t size) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t k = 0; k < size; k += 3) {
    const std::uint32_t v = (std::uint32_t{data[k]} << 16) | (k + 1 < size ? std::uint32_t{data[k + 1]} << 8 : 0) |
                            (k + 2 < size ? std::uint32_t{data[k + 2]} : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += k + 1 < size ? alphabet[(v >> 6) & 63] : '=';
    out += k + 2 < size ? alphabet[v & 63] : '=';
  }
  return out;
}

}  // namespace mmdg::serve
