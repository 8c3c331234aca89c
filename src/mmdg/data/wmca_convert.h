// WMCA as Idiap distributes its preprocessed faces (HDF5) -> the image files the W lists name.
//
// Source layout (under --wmca-root), one HDF5 file per video and capture station:
//   preprocessed-face-station_RGB/<date>/<video>.hdf5    Frame_<i>/array  uint8 (3, H, W): RGB
//   preprocessed-face-station_CDIT/<date>/<video>.hdf5   Frame_<i>/array  uint8 (4, H, W): colour
//                                                        (grey), depth, infrared, thermal
// (H = W = 128 in the release; MMDG-Bench's Load_WMCA_HDF5.py reads the same layout.)
// Written (under --data-root), for exactly the frames the lists W-{train,val,test}.txt name:
//   WMCA-Image/R_CDIT/<video>/color/<frame>.jpg   the RGB station's frame i
//   WMCA-Image/R_CDIT/<video>/depth/<frame>.jpg   CDIT channel 1
//   WMCA-Image/R_CDIT/<video>/ir/<frame>.jpg      CDIT channel 2
// where <frame> is the list's zero-padded number (0012) and i its value (12). JPEG, as the lists
// name; every file written atomically; files already there are kept unless `overwrite`.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace mmdg::data {

struct WmcaConvertOptions {
  std::string wmca_root;  // holds preprocessed-face-station_RGB/ and preprocessed-face-station_CDIT/
  std::string lists_dir;  // holds W-train.txt, W-val.txt, W-test.txt (those present are used)
  std::string data_root;  // where the lists' paths are written
  int quality = 95;       // JPEG quality, 1-100
  bool overwrite = false;
  std::size_t max_problems = 20;  // problems kept in the result (all are counted)
};

struct WmcaConvertResult {
  std::vector<std::string> lists;  // the lists read
  std::size_t videos = 0, frames = 0;  // distinct videos and frames the lists name
  std::size_t written = 0, kept = 0;   // frames written / already present (three files each)
  std::size_t problem_count = 0;
  std::vector<std::string> problems;  // "LIST:LINE: ..." or "FILE: ...", the first max_problems
};

// Converts; a missing video file or frame is a problem (counted, the rest goes on), a list line
// that is not a WMCA-Image/R_CDIT path is one too. Throws Error when no W list is found or the
// station folders are missing. Progress on standard error.
WmcaConvertResult convert_wmca(const WmcaConvertOptions& options);

// The video and frame a W list path names: "WMCA-Image/R_CDIT/<video>/<modality>/<frame>.jpg"
// -> {video, modality, frame}; empty strings when it does not match.
struct WmcaFrameRef {
  std::string video, modality, frame;
};
WmcaFrameRef parse_wmca_path(const std::string& path);

}  // namespace mmdg::data
