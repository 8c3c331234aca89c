#include "mmdg/data/list_file.h"

#include <cstdio>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <utility>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"

namespace mmdg::data {
namespace {

bool ends_with_npz(const std::string& name) {
  return name.size() >= 4 && name.compare(name.size() - 4, 4, ".npz") == 0;
}

}  // namespace

std::string check_attack_type(const std::string& attack, int label, const std::string& where) {
  const bool ok = !attack.empty() && attack.size() <= 64 &&
                  std::all_of(attack.begin(), attack.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '+';
                  });
  if (!ok) throw Error(where + "attack type '" + attack + "' must be 1-64 letters, digits or - _ . +");
  if (label == 1 && attack != "bonafide")
    throw Error(where + "a live sample (label 1) has the attack type '" + attack + "' (expected bonafide or no field)");
  if (label == 0 && attack == "bonafide") throw Error(where + "a spoof sample (label 0) is marked bonafide");
  return attack;
}

ListEntry ListEntry::images(std::string rgb, std::string depth, std::string ir, int label) {
  ListEntry e;
  e.rgb = std::move(rgb);
  e.depth = std::move(depth);
  e.ir = std::move(ir);
  e.label = label;
  return e;
}

ListEntry ListEntry::padisi(std::string npz, int label) {
  ListEntry e;
  e.format = SampleFormat::PadisiNpz;
  e.rgb = std::move(npz);
  e.label = label;
  return e;
}

std::size_t BenchmarkList::count(int label) const {
  return static_cast<std::size_t>(
      std::count_if(entries.begin(), entries.end(), [&](const ListEntry& e) { return e.label == label; }));
}

BenchmarkList read_list(const std::string& path) { return parse_list(io::read_file(path), path); }

BenchmarkList parse_list(const std::string& text, const std::string& path) {
  BenchmarkList list;
  list.path = path;
  std::size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto where = path + ":" + std::to_string(line_no) + ": ";
    for (std::size_t c = 0; c < line.size(); ++c) {
      const auto byte = static_cast<unsigned char>(line[c]);
      if ((byte < 0x20 && byte != '\t') || byte == 0x7f) {
        char code[8];
        std::snprintf(code, sizeof code, "0x%02x", byte);
        throw Error(where + "control character " + code + " at column " + std::to_string(c + 1) +
                    " (a list line holds paths and a label; a NUL would cut a path short)");
      }
    }
    if (line.find_first_not_of(" \t") == std::string::npos) {
      if (start >= text.size()) break;  // a trailing newline
      throw Error(where + "empty line");
    }
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string f; in >> f;) fields.push_back(f);
    ListEntry e;
    e.line = line_no;
    std::string label, attack;
    if (fields.size() == 5 || (fields.size() == 3 && ends_with_npz(fields[0]))) {
      attack = fields.back();
      fields.pop_back();
    }
    if (fields.size() == 4) {
      e.format = SampleFormat::ThreeImages;
      e.rgb = fields[0];
      e.depth = fields[1];
      e.ir = fields[2];
      label = fields[3];
    } else if (fields.size() == 2) {
      if (!ends_with_npz(fields[0]))
        throw Error(where + "a two-field line must name a .npz file, got '" + fields[0] + "'");
      e.format = SampleFormat::PadisiNpz;
      e.rgb = fields[0];
      label = fields[1];
    } else {
      throw Error(where + "expected 'rgb depth ir label [attack]' or 'name.npz<TAB>label[<TAB>attack]', got " +
                  std::to_string(fields.size()) + " fields");
    }
    if (label != "0" && label != "1") throw Error(where + "label must be 0 (spoof) or 1 (live), got '" + label + "'");
    e.label = label == "1" ? 1 : 0;
    if (!attack.empty()) e.attack = check_attack_type(attack, e.label, where);
    list.entries.push_back(std::move(e));
  }
  if (list.entries.empty()) throw Error(path + ": the list is empty");
  return list;
}

std::string format_list_line(const ListEntry& e) {
  const auto check_path = [&](const std::string& p, const char* what) {
    if (p.empty() || p.find_first_of(" \t\r\n\v\f") != std::string::npos)
      throw Error(std::string("list entry: the ") + what + " path '" + p + "' is empty or holds white space, which a list line cannot carry");
  };
  if (e.label != 0 && e.label != 1)
    throw Error("list entry '" + e.rgb + "': label must be 0 (spoof) or 1 (live), got " + std::to_string(e.label));
  std::string label = std::to_string(e.label);
  if (!e.attack.empty()) label += (e.is_npz() ? "\t" : " ") + check_attack_type(e.attack, e.label, "list entry '" + e.rgb + "': ");
  switch (e.format) {
    case SampleFormat::PadisiNpz:
      check_path(e.rgb, ".npz");
      if (!ends_with_npz(e.rgb)) throw Error("list entry: a PADISI sample must name a .npz file, got '" + e.rgb + "'");
      return e.rgb + "\t" + label;
    case SampleFormat::ThreeImages:
      break;
  }
  check_path(e.rgb, "rgb");
  check_path(e.depth, "depth");
  check_path(e.ir, "ir");
  return e.rgb + " " + e.depth + " " + e.ir + " " + label;
}

std::string format_list(const std::vector<ListEntry>& entries) {
  const bool padisi = std::all_of(entries.begin(), entries.end(), [](const ListEntry& e) { return e.is_npz(); });
  std::string text;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    text += format_list_line(entries[i]);
    if (padisi) text += "\n";
    else if (i + 1 < entries.size()) text += "\r\n";
  }
  return text;
}

void write_list(const std::string& path, const std::vector<ListEntry>& entries) {
  const std::string text = format_list(entries);
  io::write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace mmdg::data
