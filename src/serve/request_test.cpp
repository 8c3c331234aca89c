// The request parsing of mmdg serve: image headers against OpenCV's encoders (an independent
// writer of each format), the field rules, the token, base64 against RFC 4648's vectors.
#include "serve/request.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace mmdg::serve {
namespace {

std::string encoded(const std::string& extension, int width, int height, int type = CV_8UC3) {
  cv::Mat image(height, width, type, cv::Scalar::all(90));
  std::vector<unsigned char> bytes;
  EXPECT_TRUE(cv::imencode(extension, image, bytes));
  return std::string(bytes.begin(), bytes.end());
}

int status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RequestError& e) {
    return e.status();
  }
  return 0;
}

TEST(ServeRequest, ImageHeadersMatchOpenCVsEncoders) {
  for (const auto& [extension, format] : std::vector<std::pair<std::string, std::string>>{{".png", "png"}, {".jpg", "jpeg"}, {".bmp", "bmp"}}) {
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {37, 5}, {640, 480}, {3, 1000}}) {
      const auto header = read_image_header(encoded(extension, w, h), "field 'rgb'");
      EXPECT_EQ(header.format, format);
      EXPECT_EQ(header.width, w) << extension;
      EXPECT_EQ(header.height, h) << extension;
    }
  }
  // 16-bit and single-channel PNGs, a greyscale JPEG
  EXPECT_EQ(read_image_header(encoded(".png", 20, 30, CV_16UC1), "d").height, 30);
  EXPECT_EQ(read_image_header(encoded(".jpg", 20, 30, CV_8UC1), "d").width, 20);
}

TEST(ServeRequest, MalformedHeadersAreRefusedNamingTheField) {
  EXPECT_EQ(status_of([] { read_image_header("", "field 'ir'"); }), 400);
  EXPECT_EQ(status_of([] { read_image_header("GIF89a......", "field 'ir'"); }), 415);
  try {
    read_image_header("hello world", "field 'depth'");
    FAIL();
  } catch (const RequestError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'depth'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a PNG, JPEG or BMP"), std::string::npos) << e.what();
  }
  for (const std::string extension : {".png", ".jpg", ".bmp"}) {
    const auto full = encoded(extension, 16, 16);
    for (const std::size_t cut : {10, 20})  // the header cut short
      EXPECT_EQ(status_of([&] { read_image_header(full.substr(0, cut), "f"); }), 400) << extension << " cut at " << cut;
  }
  // a PNG whose IHDR declares a zero width, or a side beyond 2^20
  auto png = encoded(".png", 16, 16);
  png[16] = png[17] = png[18] = png[19] = 0;
  EXPECT_EQ(status_of([&] { read_image_header(png, "f"); }), 400);
  png[16] = 0x7f;
  EXPECT_EQ(status_of([&] { read_image_header(png, "f"); }), 400);
  // a JPEG whose scan starts before a frame header
  EXPECT_EQ(status_of([] { read_image_header(std::string("\xff\xd8\xff\xda\x00\x02", 6), "f"); }), 400);
}

TEST(ServeRequest, FieldsAndOptions) {
  const auto rgb = encoded(".png", 8, 8), depth = encoded(".png", 8, 8, CV_8UC1), ir = encoded(".jpg", 8, 8);
  const std::vector<Part> triple{{"rgb", "a.png", rgb}, {"depth", "b.png", depth}, {"ir", "c.jpg", ir}};
  auto r = parse_predict_request({}, triple, {});
  EXPECT_EQ(r.headers[2].format, "jpeg");
  EXPECT_FALSE(r.maps);
  EXPECT_EQ(r.images[1].size(), depth.size());
  // options from the query or from text fields
  r = parse_predict_request({{"maps", "1"}}, {{"rgb", "a.png", rgb}, {"missing", "", "depth,ir"}}, {});
  EXPECT_TRUE(r.maps);
  EXPECT_TRUE(r.missing[1] && r.missing[2]);
  EXPECT_TRUE(r.images[1].empty());
  r = parse_predict_request({{"detect_face", "true"}, {"missing", "ir"}}, {triple[0], triple[1]}, {});
  EXPECT_TRUE(r.detect_face && r.missing[2] && !r.missing[1]);
  // what is refused, with 400
  const auto refused = [&](const std::vector<std::pair<std::string, std::string>>& query, const std::vector<Part>& parts,
                           const std::string& needle) {
    try {
      parse_predict_request(query, parts, {});
      ADD_FAILURE() << "accepted; expected: " << needle;
    } catch (const RequestError& e) {
      EXPECT_EQ(e.status(), 400) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refused({}, {triple[0], triple[1]}, "field 'ir': no such file");
  refused({}, {triple[1], triple[2]}, "field 'rgb': no such file");
  refused({{"missing", "depth"}}, triple, "field 'depth': sent, but listed in missing");
  refused({{"missing", "rgb"}}, triple, "unknown modality 'rgb'");
  refused({{"maps", "yes"}}, triple, "query parameter 'maps': 'yes' is not a flag");
  refused({{"maps", "1"}, {"maps", "0"}}, triple, "given twice");
  refused({{"maps", "1"}}, {triple[0], triple[1], triple[2], {"maps", "", "1"}}, "field 'maps': given twice");
  refused({{"size", "1"}}, triple, "query parameter 'size': unknown");
  refused({}, {triple[0], triple[1], triple[2], {"thermal", "t.png", ir}}, "field 'thermal': unknown");
  refused({}, {triple[0], triple[0], triple[1], triple[2]}, "field 'rgb': given twice");
  refused({{"missing", std::string(300, 'x')}}, triple, "a value of 300 bytes");
  // an image over the pixel limit: 413, before any decoding
  RequestLimits small;
  small.max_pixels = 63;
  EXPECT_EQ(status_of([&] { parse_predict_request({}, triple, small); }), 413);
  small.max_pixels = 64;
  EXPECT_EQ(status_of([&] { parse_predict_request({}, triple, small); }), 0);
}

TEST(ServeRequest, Token) {
  EXPECT_TRUE(token_matches("Bearer s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("Bearer s3cret2", "s3cret"));
  EXPECT_FALSE(token_matches("bearer s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("", "s3cret"));
  EXPECT_FALSE(token_matches("Bearer ", ""));  // no token configured never matches
}

TEST(ServeRequest, Base64MatchesRfc4648) {
  const auto b = [](const std::string& s) { return base64(reinterpret_cast<const unsigned char*>(s.data()), s.size()); };
  EXPECT_EQ(b(""), "");
  EXPECT_EQ(b("f"), "Zg==");
  EXPECT_EQ(b("fo"), "Zm8=");
  EXPECT_EQ(b("foo"), "Zm9v");
  EXPECT_EQ(b("foob"), "Zm9vYg==");
  EXPECT_EQ(b("fooba"), "Zm9vYmE=");
  EXPECT_EQ(b("foobar"), "Zm9vYmFy");
  EXPECT_EQ(b(std::string("\xff\xfe\x00", 3)), "//4A");
}

}  // namespace
}  // namespace mmdg::serve
