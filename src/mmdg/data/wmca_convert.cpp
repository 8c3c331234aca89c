#include "mmdg/data/wmca_convert.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "mmdg/data/image_writer.h"
#include "mmdg/data/list_file.h"
#include "mmdg/data/sample.h"
#include "mmdg/io/hdf5_file.h"
#include "mmdg/util/error.h"
#include "mmdg/util/progress.h"

namespace mmdg::data {
namespace fs = std::filesystem;
namespace {

constexpr const char* kRgbStation = "preprocessed-face-station_RGB";
constexpr const char* kCditStation = "preprocessed-face-station_CDIT";
constexpr const char* kPrefix = "WMCA-Image/R_CDIT/";

// video name -> its HDF5 file, for every <date>/<video>.hdf5 of a station folder.
std::map<std::string, std::string> index_station(const fs::path& station) {
  std::error_code ec;
  if (!fs::is_directory(station, ec))
    throw Error(station.string() + ": not a folder. HINT: --wmca-root must hold " + kRgbStation + "/ and " + kCditStation + "/");
  std::map<std::string, std::string> videos;
  for (const auto& date : fs::directory_iterator(station)) {
    if (!date.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(date.path())) {
      if (file.path().extension() != ".hdf5") continue;
      const std::string video = file.path().stem().string();
      const auto [it, fresh] = videos.emplace(video, file.path().string());
      if (!fresh) throw Error(file.path().string() + ": video " + video + " is also in " + it->second);
    }
  }
  return videos;
}

struct Frame {
  std::string frame;  // as the list names it (0012)
  std::string list;   // the first list line naming it, for messages
};

// A (C, H, W) uint8 tensor's channel c as a single-channel image (a copy).
cv::Mat channel(const at::Tensor& chw, std::int64_t c) {
  const at::Tensor plane = chw[c].contiguous();
  return cv::Mat(static_cast<int>(plane.size(0)), static_cast<int>(plane.size(1)), CV_8UC1, plane.data_ptr()).clone();
}

// Frame_<i>/array of a station's file, checked to be (channels >= need, H, W) uint8.
at::Tensor read_frame(const io::Hdf5File& file, const std::string& frame, std::int64_t need) {
  const std::string dataset = "Frame_" + std::to_string(std::stoll(frame)) + "/array";
  const at::Tensor a = file.read_uint8(dataset);
  if (a.dim() != 3 || a.size(0) < need || a.size(1) < 1 || a.size(2) < 1)
    throw Error(file.name() + ": " + dataset + ": expected shape (" + std::to_string(need) + ", H, W), found " +
                c10::str(a.sizes()));
  return a;
}

}  // namespace

WmcaFrameRef parse_wmca_path(const std::string& path) {
  const std::string prefix = kPrefix;
  if (path.compare(0, prefix.size(), prefix) != 0) return {};
  const std::string rest = path.substr(prefix.size());
  const auto a = rest.find('/'), b = a == std::string::npos ? a : rest.find('/', a + 1);
  if (b == std::string::npos || rest.find('/', b + 1) != std::string::npos) return {};
  const std::string video = rest.substr(0, a), modality = rest.substr(a + 1, b - a - 1), file = rest.substr(b + 1);
  if (video.empty() || file.size() < 5 || file.compare(file.size() - 4, 4, ".jpg") != 0) return {};
  const std::string frame = file.substr(0, file.size() - 4);
  if (frame.empty() || frame.size() > 9 || frame.find_first_not_of("0123456789") != std::string::npos) return {};
  if (modality != "color" && modality != "depth" && modality != "ir") return {};
  return {video, modality, frame};
}

WmcaConvertResult convert_wmca(const WmcaConvertOptions& o) {
  if (o.quality < 1 || o.quality > 100) throw Error("--quality must be in 1..100");
  WmcaConvertResult result;
  const auto problem = [&](const std::string& text) {
    if (result.problems.size() < o.max_problems) result.problems.push_back(text);
    ++result.problem_count;
  };
  // The frames the lists name, per video.
  std::map<std::string, std::map<std::string, Frame>> wanted;
  for (const char* split : {"train", "val", "test"}) {
    const fs::path list = fs::path(o.lists_dir) / (std::string("W-") + split + ".txt");
    std::error_code ec;
    if (!fs::is_regular_file(list, ec)) continue;
    result.lists.push_back(list.string());
    for (const auto& e : read_list(list.string()).entries) {
      const std::string where = list.string() + ":" + std::to_string(e.line);
      const WmcaFrameRef r = parse_wmca_path(e.rgb), d = parse_wmca_path(e.depth), i = parse_wmca_path(e.ir);
      if (e.is_npz() || r.modality != "color" || d.modality != "depth" || i.modality != "ir" || r.video != d.video ||
          r.video != i.video || r.frame != d.frame || r.frame != i.frame) {
        problem(where + ": not a WMCA line (" + kPrefix + "<video>/{color,depth,ir}/<frame>.jpg, one video and frame)");
        continue;
      }
      wanted[r.video].emplace(r.frame, Frame{r.frame, where});
    }
  }
  if (result.lists.empty())
    throw Error(o.lists_dir + ": no W-train.txt, W-val.txt or W-test.txt. HINT: --lists is the folder of the benchmark lists");
  const auto rgb_files = index_station(fs::path(o.wmca_root) / kRgbStation);
  const auto cdit_files = index_station(fs::path(o.wmca_root) / kCditStation);
  result.videos = wanted.size();
  for (const auto& [video, frames] : wanted) result.frames += frames.size();

  Progress progress("convert-wmca", static_cast<std::int64_t>(result.frames));
  std::int64_t done = 0;
  for (const auto& [video, frames] : wanted) {
    const auto rgb_it = rgb_files.find(video), cdit_it = cdit_files.find(video);
    const fs::path out = fs::path(o.data_root) / kPrefix / video;
    const auto target = [&](const char* modality, const std::string& frame) { return (out / modality / (frame + ".jpg")).string(); };
    // Frames whose three files are all there are kept without opening the video's files.
    std::vector<const Frame*> todo;
    for (const auto& [name, frame] : frames) {
      std::error_code ec;
      const bool present = fs::exists(target("color", name), ec) && fs::exists(target("depth", name), ec) &&
                           fs::exists(target("ir", name), ec);
      if (present && !o.overwrite) ++result.kept;
      else todo.push_back(&frame);
    }
    if (!todo.empty()) {
      if (rgb_it == rgb_files.end() || cdit_it == cdit_files.end()) {
        for (const Frame* f : todo)
          problem(f->list + ": video " + video + ": no " + (rgb_it == rgb_files.end() ? kRgbStation : kCditStation) +
                  "/<date>/" + video + ".hdf5 under " + o.wmca_root);
      } else {
        try {
          const io::Hdf5File rgb(rgb_it->second), cdit(cdit_it->second);
          for (const Frame* f : todo) {
            try {
              const at::Tensor colour = read_frame(rgb, f->frame, 3), cdi = read_frame(cdit, f->frame, 3);
              cv::Mat planes[3] = {channel(colour, 2), channel(colour, 1), channel(colour, 0)};  // RGB -> BGR
              cv::Mat bgr;
              cv::merge(planes, 3, bgr);
              const cv::Mat depth = channel(cdi, 1), ir = channel(cdi, 2);
              write_image(target("color", f->frame), &bgr, o.quality);
              write_image(target("depth", f->frame), &depth, o.quality);
              write_image(target("ir", f->frame), &ir, o.quality);
              ++result.written;
            } catch (const Error& e) {
              problem(f->list + ": " + e.what());
            }
          }
        } catch (const Error& e) {  // a video file that does not open
          for (const Frame* f : todo) problem(f->list + ": " + e.what());
        }
      }
    }
    done += static_cast<std::int64_t>(frames.size());
    progress.update(done);
  }
  progress.finish();
  return result;
}

}  // namespace mmdg::data
