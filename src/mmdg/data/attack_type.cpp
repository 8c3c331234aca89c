#include "mmdg/data/attack_type.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "mmdg/util/error.h"

namespace mmdg::data {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);) parts.push_back(part);
  return parts;
}

bool digits(const std::string& s, std::size_t min_size = 1, std::size_t max_size = 8) {
  return s.size() >= min_size && s.size() <= max_size &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// CeFA-Race video "R_ID_D_S_A": A = 1 real, 2 cloth print, 3 photo, 4 screen replay.
std::string cefa_race(const std::vector<std::string>& f) {
  if (f.size() != 5 || !std::all_of(f.begin(), f.end(), [](const std::string& s) { return digits(s); })) return "";
  static const char* names[] = {"", kBonafide, "print", "photo", "replay"};
  const int a = std::stoi(f[4]);
  return a >= 1 && a <= 4 ? names[a] : "";
}

// CASIA-SURF "real.rssdk" / "NN_<cut>_<s|b>.rssdk".
std::string surf(const std::string& component) {
  const std::string suffix = ".rssdk";
  if (component.size() <= suffix.size() || component.compare(component.size() - suffix.size(), suffix.size(), suffix) != 0)
    return "";
  if (component == "real.rssdk") return kBonafide;
  const auto f = split(component, '_');
  if (f.empty() || !digits(f[0], 1, 2)) return "";
  static const char* names[] = {"",
                                "print-flat-eyes",
                                "print-curved-eyes",
                                "print-flat-eyes-nose",
                                "print-curved-eyes-nose",
                                "print-flat-eyes-nose-mouth",
                                "print-curved-eyes-nose-mouth"};
  const int n = std::stoi(f[0]);
  return n >= 1 && n <= 6 ? names[n] : "";
}

// WMCA "CCC_SS_PPP_T_II": the LOO categories by (type, PAI) as bob.pad.face's converter groups them.
std::string wmca(const std::vector<std::string>& f) {
  if (f.size() != 5 || !digits(f[0], 3, 3) || !digits(f[1], 2, 2) || !digits(f[2], 3, 3) || !digits(f[3], 1, 1) ||
      !digits(f[4], 2, 2))
    return "";
  const int type = std::stoi(f[3]), pai = std::stoi(f[4]);
  const auto in = [&](int low, int high) { return pai >= low && pai <= high; };
  switch (type) {
    case 0: return kBonafide;
    case 1:
      if (pai == 2 || pai == 13 || pai == 14) return "rigidmask";
      if (in(8, 12)) return "wig";
      if (pai == 1 || in(3, 7) || pai == 15 || pai == 16) return "glasses";
      return "";
    case 2:
      if (in(1, 7)) return "fakehead";
      if (in(8, 11)) return "papermask";
      if (in(12, 17)) return "rigidmask";
      if (pai == 18 || in(75, 99)) return "flexiblemask";
      return "";
    case 3:
      if (pai == 5 || pai == 10 || pai == 15) return "replay";  // a photo shown on a screen
      if (in(1, 14)) return "prints";
      return "";
    case 4: return "replay";
    case 5: return "makeup";
    default: return "";
  }
}

// mmdg synth's "<subject>_<n>_<kind>" (synth.h's kinds).
std::string synthetic(const std::vector<std::string>& f) {
  if (f.size() < 3 || !digits(f[0]) || !digits(f[1])) return "";
  std::string kind = f[2];
  for (std::size_t i = 3; i < f.size(); ++i) kind += "_" + f[i];
  // synth.h's attack kinds (repeated: this file builds without OpenCV, synth.cpp does not;
  // Synth.EveryKindIsReadBackAsItsAttackType keeps the two lists equal)
  static const std::vector<std::string> kinds = {"print",      "cutout_print", "replay",   "rigid_mask",
                                                 "flexible_mask", "paper_mask", "fake_head", "glasses"};
  if (kind == "live") return kBonafide;
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end() ? kind : "";
}

}  // namespace

std::string attack_type_from_path(const std::string& path) {
  const auto components = split(path, '/');
  const bool cefa = path.find("CeFA") != std::string::npos;
  for (std::size_t i = 0; i < components.size(); ++i) {
    const auto& c = components[i];
    if (cefa && i > 0 && components[i - 1] == "CeFA-Mask") {
      if (c == "3D-Mask") return "3d-mask";
      if (c == "Silicone-Mask") return "silicone-mask";
    }
    if (auto t = surf(c); !t.empty()) return t;
    const auto f = split(c, '_');
    if (cefa)
      if (auto t = cefa_race(f); !t.empty()) return t;
    if (auto t = wmca(f); !t.empty()) return t;
    if (auto t = synthetic(f); !t.empty()) return t;
  }
  return "";
}

std::map<std::string, std::string> read_attack_lists(const std::vector<std::string>& items) {
  std::map<std::string, std::string> types;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw UsageError("option --attack-list '" + item + "': expected TYPE=LIST, e.g. fakehead=WMCA_test_fakehead.txt");
    const std::string type = item.substr(0, eq);
    check_attack_type(type, 0, "option --attack-list '" + item + "': ");
    const auto list = read_list(item.substr(eq + 1));
    for (const auto& e : list.entries) {
      const auto [it, added] = types.emplace(e.rgb, type);
      if (!added && it->second != type)
        throw Error(list.path + ":" + std::to_string(e.line) + ": '" + e.rgb + "' is already of type '" + it->second +
                    "' in another --attack-list");
    }
  }
  return types;
}

std::string attack_type(const ListEntry& entry, const std::map<std::string, std::string>& by_list) {
  if (!entry.attack.empty()) return entry.attack;
  if (const auto it = by_list.find(entry.rgb); it != by_list.end()) return it->second;
  if (auto t = attack_type_from_path(entry.rgb); !t.empty()) {
    // a path convention never overrides the label: a live sample whose folder looks like an attack
    if ((entry.label == 1) == (t == kBonafide)) return t;
  }
  return entry.label == 1 ? kBonafide : kUnknownAttack;
}

}  // namespace mmdg::data
