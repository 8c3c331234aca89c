#include "mmdg/data/frame_source.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#ifdef MMDG_HAVE_VIDEOIO
#include <opencv2/videoio.hpp>
#endif

#include <filesystem>
#include <fstream>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

cv::Mat frame_of(int value) { return cv::Mat(24, 32, CV_8UC3, cv::Scalar(value, value, value)); }

TEST(FrameSource, FolderFramesInNameOrderWithSkips) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("f"));
  for (int i : {2, 0, 1, 3}) cv::imwrite(dir.file("f/" + std::to_string(i) + ".png"), frame_of(10 * i));
  std::ofstream(dir.file("f/notes.txt")) << "not a frame";
  FrameSource source(dir.file("f"));
  EXPECT_EQ(source.kind(), FrameSource::Kind::Folder);
  EXPECT_EQ(source.frame_count(), 4);
  EXPECT_EQ(source.next()->at<cv::Vec3b>(0, 0)[0], 0);
  EXPECT_TRUE(source.skip(1));
  EXPECT_EQ(source.next()->at<cv::Vec3b>(0, 0)[0], 20);
  EXPECT_EQ(source.next()->at<cv::Vec3b>(0, 0)[0], 30);
  EXPECT_FALSE(source.next().has_value());
  FrameSource single(dir.file("f/1.png"));
  EXPECT_EQ(single.kind(), FrameSource::Kind::Image);
  EXPECT_TRUE(single.next().has_value());
  EXPECT_FALSE(single.next().has_value());
}

TEST(FrameSource, ErrorsNameThePath) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("empty"));
  EXPECT_MMDG_ERROR(FrameSource(dir.file("missing")), "missing: file not found");
  EXPECT_MMDG_ERROR(FrameSource(dir.file("empty")), "holds no image frames");
  std::filesystem::create_directories(dir.file("bad"));
  std::ofstream(dir.file("bad/0.png")) << "not a png";
  FrameSource bad(dir.file("bad"));
  EXPECT_MMDG_ERROR(bad.next(), "bad/0.png: cannot decode");
  std::ofstream(dir.file("broken.avi")) << "not a video";
#ifdef MMDG_HAVE_VIDEOIO
  EXPECT_MMDG_ERROR(FrameSource(dir.file("broken.avi")), "broken.avi: cannot open the video");
#endif
}

#ifdef MMDG_HAVE_VIDEOIO
// A video written with OpenCV's own MJPEG encoder reads back frame by frame.
TEST(FrameSource, VideoFrames) {
  test::TempDir dir;
  {
    cv::VideoWriter writer(dir.file("v.avi"), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, {32, 24});
    ASSERT_TRUE(writer.isOpened());
    for (int i = 0; i < 6; ++i) writer.write(frame_of(40 * i));
  }
  FrameSource video(dir.file("v.avi"));
  EXPECT_EQ(video.kind(), FrameSource::Kind::Video);
  EXPECT_EQ(video.frame_count(), 6);
  std::vector<int> values;
  while (auto f = video.next()) {
    values.push_back(f->at<cv::Vec3b>(12, 16)[0]);
    video.skip(1);
  }
  ASSERT_EQ(values.size(), 3u);
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(values[i], 80 * static_cast<int>(i), 6) << i;  // JPEG
}
#endif

}  // namespace
}  // namespace mmdg::data
