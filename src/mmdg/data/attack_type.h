// The attack type (presentation attack instrument species, "PAI species" in ISO/IEC 30107-3) of a
// sample, for per-attack error rates. From, in this order: the list line's optional attack field
// (list_file.h), a per-attack list naming the sample, or the dataset's path conventions:
//   CASIA-CeFA  .../CeFA-Race/.../R_ID_D_S_A/<modality>/F.jpg: A = 1 bonafide, 2 print (cloth),
//               3 photo, 4 replay (screen); .../CeFA-Mask/3D-Mask/... 3d-mask, .../Silicone-Mask/...
//               silicone-mask (the dataset's readme, github.com/liuajian/CASIA-FAS-Dataset)
//   CASIA-SURF  .../real.rssdk/... bonafide; .../NN_<cut>_<s|b>.rssdk/... attack NN of six A4
//               colour prints: 1 flat / 2 curved with the eyes cut out, 3 / 4 eyes and nose,
//               5 / 6 eyes, nose and mouth (the TBIOM paper's Sec. III-B; bob.db.casiasurf)
//   WMCA        .../CCC_SS_PPP_T_II/...: client, session, presenter, type T, PAI II, grouped into
//               the seven categories of its LOO protocols by (T, II) as bob.pad.face's
//               idiap_converter_v2.json does: glasses, rigidmask, fakehead, papermask,
//               flexiblemask, prints, replay (wigs and makeup: wig, makeup)
//   synthetic   <D>/<split>/<subject>_<n>_<kind>/... (mmdg synth): the kind
// PADISI-Face's names carry no attack type (it is in the dataset's ground-truth CSV): give it in
// the list's attack field.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "mmdg/data/list_file.h"

namespace mmdg::data {

inline constexpr const char* kBonafide = "bonafide";
inline constexpr const char* kUnknownAttack = "unknown";

// The attack type a path's dataset convention gives, or "" when it follows none.
std::string attack_type_from_path(const std::string& path);

// Attack types of samples named by per-attack lists (e.g. Flex-Modal's WMCA_test_<pai>.txt):
// "type=list" items; every entry of a list gets its type, keyed by its RGB (or .npz) path.
// Errors name the item and the list.
std::map<std::string, std::string> read_attack_lists(const std::vector<std::string>& items);

// An entry's attack type: its field, else `by_list`, else the path convention, else bonafide for
// a live sample and "unknown" for a spoof one.
std::string attack_type(const ListEntry& entry, const std::map<std::string, std::string>& by_list = {});

}  // namespace mmdg::data
