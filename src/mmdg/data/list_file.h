// MMDG-Benchmark list files, read and written exactly as they are:
//   CeFA / SURF / WMCA: "rgb_path depth_path ir_path label" per line, CRLF ends, no final newline
//   PADISI:             "name.npz<TAB>label" per line, LF ends (the three modalities inside one
//                       .npz, padisi_format.h)
// An optional last field names the attack type (PAI species, attack_type.h) of the sample:
// "rgb depth ir label attack" / "name.npz<TAB>label<TAB>attack"; "bonafide" for a live one.
// Paths are relative to a data root. Label 1 = live (bona fide), 0 = spoof. A malformed line is
// an mmdg::Error "FILE:LINE: reason".
#pragma once
#include <string>
#include <vector>

namespace mmdg::data {

// How a list entry stores its three modalities.
enum class SampleFormat {
  ThreeImages,  // "rgb depth ir label": one image file per modality
  PadisiNpz,    // "name.npz<TAB>label": one PADISI-Face .npz holding all three (padisi_format.h)
};

struct ListEntry {
  SampleFormat format = SampleFormat::ThreeImages;
  std::string rgb, depth, ir;  // ThreeImages: the image paths (relative); PadisiNpz: rgb = the .npz, depth/ir empty
  int label = 0;               // 1 live, 0 spoof
  std::string attack;          // the optional attack-type field ("" = not given)
  int line = 0;                // 1-based line in the list file (0: not from a file)
  bool is_npz() const { return format == SampleFormat::PadisiNpz; }

  static ListEntry images(std::string rgb, std::string depth, std::string ir, int label);
  static ListEntry padisi(std::string npz, int label);
};

struct BenchmarkList {
  std::string path;
  std::vector<ListEntry> entries;
  std::size_t count(int label) const;
};

BenchmarkList read_list(const std::string& path);

// Returns `attack` when it is a valid attack field for a sample of `label`: 1-64 letters, digits
// or - _ . +; "bonafide" exactly for a live one. Otherwise throws Error prefixed by `where`.
std::string check_attack_type(const std::string& attack, int label, const std::string& where);

// Parses list text; `path` names the source in error messages.
BenchmarkList parse_list(const std::string& text, const std::string& path);

// The entry's list line, without a line end. Throws Error for what parse_list would not read
// back: an empty path or one holding white space, a PADISI name not ending in .npz, a label
// other than 0 / 1.
std::string format_list_line(const ListEntry& entry);

// A list file's text with the real lists' line ends: LF after every line when every entry is a
// PADISI .npz, else CRLF between lines and no final newline.
std::string format_list(const std::vector<ListEntry>& entries);

// Writes format_list(entries) to `path`, atomically.
void write_list(const std::string& path, const std::vector<ListEntry>& entries);

}  // namespace mmdg::data
