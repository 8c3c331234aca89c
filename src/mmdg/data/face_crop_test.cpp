#include "mmdg/data/face_crop.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

// scripts/test_photo.sh puts it there (from Debian's python3-skimage).
std::string photo() { return std::string(test::photo_dir()) + "/astronaut.png"; }

TEST(FaceCrop, BoxIsEnlargedSquaredScaledAndClipped) {
  // a 40x40 face at (10, 20), margin 0.25: side 60 around the centre (30, 40)
  EXPECT_EQ(face_crop_box({10, 20, 40, 40}, 0.25, {100, 100}, {100, 100}), cv::Rect(0, 10, 60, 60));
  // the same box in a registered frame of twice the resolution
  EXPECT_EQ(face_crop_box({10, 20, 40, 40}, 0.25, {100, 100}, {200, 200}), cv::Rect(0, 20, 120, 120));
  // a non-square face becomes square (its longer side): centre (95, 25), side 40, clipped at x = 100
  EXPECT_EQ(face_crop_box({85, 5, 20, 40}, 0.0, {100, 100}, {100, 100}), cv::Rect(75, 5, 25, 40));
}

// A real photograph: the face of the astronaut portrait (512 x 512; her face spans about
// x 170-270, y 60-180 by hand annotation) is found and cropped; the registered depth / IR frames
// of half the resolution get the same box scaled.
TEST(FaceCrop, FindsTheFaceInARealPhotograph) {
  if (!std::filesystem::exists(photo())) GTEST_SKIP() << photo() << " absent (scripts/test_photo.sh)";
  if (default_face_cascade().empty()) GTEST_SKIP() << "no OpenCV face cascade installed (opencv-data)";
  const cv::Mat image = cv::imread(photo(), cv::IMREAD_COLOR);
  ASSERT_EQ(image.size(), cv::Size(512, 512));
  FaceCropper cropper;
  const auto face = cropper.detect(image);
  ASSERT_TRUE(face.has_value());
  const cv::Point centre = (face->tl() + face->br()) / 2;
  EXPECT_TRUE(cv::Rect(170, 60, 100, 120).contains(centre)) << *face;
  EXPECT_GT(face->width, 60);
  EXPECT_LT(face->width, 200);
  cv::Mat half;
  cv::resize(image, half, {256, 256}, 0, 0, cv::INTER_AREA);
  cv::Mat depth16;
  cv::cvtColor(half, depth16, cv::COLOR_BGR2GRAY);
  depth16.convertTo(depth16, CV_16U, 257);
  const auto crop = cropper.crop({image, depth16, half}, "astronaut");
  EXPECT_EQ(crop.found_in, 0);
  const cv::Rect box = face_crop_box(*face, 0.2, {512, 512}, {512, 512});
  EXPECT_EQ(crop.crops[0].size(), box.size());
  EXPECT_NEAR(crop.crops[1].cols, box.width / 2.0, 1.0);
  EXPECT_EQ(crop.crops[1].depth(), CV_16U);
  // the crop is the frame's pixels
  EXPECT_EQ(cv::norm(crop.crops[0], image(box), cv::NORM_INF), 0.0);
}

TEST(FaceCrop, DarkRgbFallsBackToIrAndNoFaceIsAnError) {
  if (!std::filesystem::exists(photo())) GTEST_SKIP() << photo() << " absent (scripts/test_photo.sh)";
  if (default_face_cascade().empty()) GTEST_SKIP() << "no OpenCV face cascade installed (opencv-data)";
  const cv::Mat image = cv::imread(photo(), cv::IMREAD_COLOR);
  cv::Mat ir;
  cv::cvtColor(image, ir, cv::COLOR_BGR2GRAY);
  const cv::Mat dark = cv::Mat::zeros(image.size(), CV_8UC3);
  FaceCropper cropper;
  const auto crop = cropper.crop({dark, cv::Mat(), ir}, "night frame");
  EXPECT_EQ(crop.found_in, 2);
  EXPECT_TRUE(crop.crops[1].empty());
  const cv::Mat wall(200, 200, CV_8UC3, cv::Scalar(90, 120, 150));
  EXPECT_MMDG_ERROR(cropper.crop({wall, wall, wall}, "frame 7"), "frame 7: no face found");
  EXPECT_FALSE(cropper.try_crop({wall, wall, wall}, "frame 7").has_value());  // a video's frame: skipped, not an error
  const auto found = cropper.try_crop({image, image, image}, "frame 8");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->found_in, 0);
  EXPECT_GT(found->box.area(), 0);
  EXPECT_MMDG_ERROR(FaceCropper({"/nonexistent/cascade.xml"}), "/nonexistent/cascade.xml: file not found");
}

}  // namespace
}  // namespace mmdg::data
