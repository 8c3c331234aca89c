// The embedded default: a synthetic multi-domain, multi-modal face anti-spoofing benchmark,
// written in the SAME on-disk format as MMDG-Benchmark (images + {X}-train/val/test.txt lists;
// domain P as PADISI-style .npz files), so every command runs on it unchanged.
//
// Live faces are procedural 3D heads (identity: shape, skin tone, features; per frame: pose,
// expression, lighting). Every video has a session (distance, indoor light or outdoor sunlight,
// background) and goes through one SR300-class sensor model (the camera of CASIA-SURF, CeFA and
// WMCA): RGB; active NIR whose projector return falls with the distance squared and which
// sunlight adds to (and saturates); coded-light depth valid only where the projector's return is
// strong (dark hair, steep or glossy surfaces, screens, far faces and sunlight drop readings),
// its noise growing with the distance squared. Each dataset exports as the real one does (C, S,
// W: 8-bit depth normalized over the crop, JPEG; S: background removed in every modality; P:
// float channels over the bit depth in one .npz per frame) and has a condition the others lack:
//   C  outdoor sessions (35 %): sunlight saturates NIR and drops depth on the sunlit side, RGB intact
//   P  a long working distance (55-75 cm): depth noise and dropout; depth a sliver of its range
//   S  background removal; cut-out prints showing the presenter's eyes, nose or mouth
//   W  paper masks, fake heads and glasses: attacks whose depth is a face's
// Attacks: print (a sheet, flat or curved, its edge in a quarter of the crops), cutout_print,
// replay (a screen: emitted light, moire, no NIR), rigid_mask, flexible_mask, paper_mask,
// fake_head, glasses. `planar_share` is the share of the sources' prints (train and val splits)
// held as sheets, which flat depth separates at once; the rest are conformed to the presenter's
// face (1: the real datasets, the shortcut; 0: the no-shortcut control). Test splits always hold
// sheets. Subjects split 40 / 10 / 50 % into train / val / test: the defaults give each test
// split 100 live and 200 attack videos. docs/data.md#the-synthetic-benchmark describes it.
#pragma once
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mmdg::data {

struct SynthOptions {
  std::int64_t seed = 0;
  std::string domains = "CPSW";
  std::int64_t subjects = 100;     // per domain, split 40 / 10 / 50 % into train / val / test
  std::int64_t live_videos = 2;    // per subject
  std::int64_t attack_videos = 4;  // per subject, their kinds cycling through the domain's attacks
  std::int64_t frames = 2;         // per video (the real lists hold 3 frames per video)
  std::int64_t image_size = 64;
  double planar_share = 1.0;       // share of the sources' prints held as sheets (flat depth)

  template <class V>
  void visit(V&& v) {
    v("seed", seed, "random seed: the whole benchmark is a function of it");
    v("domains", domains, "domains to write, letters of CPSW (CeFA-, PADISI-, SURF-, WMCA-like)");
    v("subjects", subjects, "subjects per domain (split 40/10/50 % into train/val/test)");
    v("live_videos", live_videos, "live videos per subject");
    v("attack_videos", attack_videos, "attack videos per subject (kinds cycle through the domain's attacks)");
    v("frames", frames, "frames per video");
    v("image_size", image_size, "image side in pixels");
    v("planar_share", planar_share,
      "share of the sources' prints (train/val) held as sheets that flat depth separates; the rest conform to the face "
      "(1: as the real datasets, 0: the no-shortcut control)");
  }
  void validate() const;
};

// Attack types; 0 = live.
const std::vector<std::string>& synth_kinds();  // "live", then the eight attack kinds
// The kinds a domain shows ("live" first).
std::vector<std::string> domain_kinds(char domain);

struct SynthSample {
  cv::Mat rgb;    // CV_32FC3, RGB order, [0, 1]
  cv::Mat depth;  // CV_32FC1, [0, 1], brighter = nearer, 0 = no reading
  cv::Mat ir;     // CV_32FC1, [0, 1]
  int label = 0;  // 1 live
  char domain = 'C';
  std::string kind;
  int subject = 0, video = 0, frame = 0;
  std::string split;  // train / val / test
  bool outdoor = false;  // captured in sunlight
  bool sheet = false;    // a planar attack held as a sheet or screen (flat depth)
  double distance = 0;   // cm, the session's
  double ambient = 0;    // the session's ambient NIR (sunlight)
};

// A sample's images as the benchmark's files hold them before encoding: 8-bit; RGB in BGR order
// (cv::imwrite's), depth and IR single-channel.
std::array<cv::Mat, 3> synth_images_8bit(const SynthSample& s);

// The kinds of one subject's videos: `live_videos` live ones, then `attack_videos` attacks.
std::vector<std::string> video_kinds(const SynthOptions& options, char domain, int subject);
// The split ("train", "val", "test") of a subject: 40 / 10 / 50 %, at least one subject each.
std::string split_of(int subject, int subjects);

// Every sample of one domain, in memory (deterministic from options.seed).
std::vector<SynthSample> generate_domain(const SynthOptions& options, char domain);

struct SynthSummary {
  std::vector<std::string> lists;  // written list files
  std::int64_t samples = 0;
  std::string hash;                // of the written files (manifest_hash)
};

// Writes images and list files under `root` (created when missing), root/conditions.csv (per
// sample: its list path, domain, split, subject, video, frame, kind, outdoor, sheet, distance,
// ambient NIR) and root/manifest.json: the generator and its version, the options, the videos per
// domain, split and kind, and the hash of the files.
SynthSummary write_synthetic_benchmark(const SynthOptions& options, const std::string& root);

// A 64-bit FNV-1a hash (16 hex digits) of every file under `root` but manifest.json: names and
// bytes, in sorted name order.
std::string manifest_hash(const std::string& root);

// The proxy task `mmdg pretrain` trains a small ViT on: live synthetic faces under a generic indoor
// capture (no dataset's export or condition), all three modalities, labelled by head yaw (left /
// frontal / right) x pitch (up / down): 6 classes that need the face's shape, never an attack.
// Deterministic from `seed` (kept apart from the benchmark's).
struct ProxySample {
  std::array<cv::Mat, 3> images;  // RGB CV_32FC3, depth and NIR CV_32FC1, [0, 1]
  int label = 0;
};
std::vector<ProxySample> generate_proxy_task(std::int64_t count, std::int64_t image_size, std::int64_t seed);
constexpr int kProxyClasses = 6;

// A preview grid: rows = domains, columns = live and each attack kind, three modalities per cell
// (RGB | depth | IR); kinds a domain lacks are left dark. 8-bit BGR.
cv::Mat synth_preview(const SynthOptions& options);

}  // namespace mmdg::data
