// The embedded default: a synthetic multi-domain, multi-modal face anti-spoofing benchmark,
// written in the SAME on-disk format as MMDG-Benchmark (images + {X}-train/val/test.txt lists;
// domain P as PADISI-style .npz files), so every command runs on it unchanged.
//
// Live faces are procedural 3D heads (identity: shape, skin tone, features; per frame: pose,
// expression, lighting): RGB is shaded from the surface (Lambert + Blinn-Phong), depth is the
// surface, infrared is skin under active NIR illumination (bright, tone-independent, falling
// off with distance). Attacks carry physically motivated signatures per modality:
//   print          flat or bent paper: planar depth, halftone dots and gamut loss in RGB, weak ink contrast in NIR
//   replay         a screen: planar depth, moire and gamma / colour shift in RGB, dark in NIR
//   rigid_mask     face-shaped but smoothed depth, uniform painted resin with specular highlights, non-skin NIR
//   flexible_mask  silicone: nearly face depth, waxy skin-like RGB, lower uniform NIR
//   partial        a live face with dark glasses or a paper eye strip: local planar depth and NIR change
// Each subject has `live_videos` live videos and `attack_videos` attack videos whose kinds cycle
// through the domain's attacks (starting at a subject-dependent kind, so every kind appears about
// equally often in every split). The defaults give each domain's test split 15 subjects: 30 live
// and 60 attack videos, enough for a bootstrap over videos to tell differences of a few points.
// Each domain has its own attack mix (S: prints only; W: many types; flexible masks only in W,
// so leaving W out tests an unseen attack) and its own sensors: RGB white balance, exposure,
// noise, blur, JPEG quality; depth noise, holes, quantization and range; IR gain, offset, noise,
// vignetting; S has a degraded depth sensor and C a noisy IR one.
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
  std::int64_t subjects = 50;      // per domain, split 50 / 20 / 30 % into train / val / test
  std::int64_t live_videos = 2;    // per subject
  std::int64_t attack_videos = 4;  // per subject, their kinds cycling through the domain's attacks
  std::int64_t frames = 2;         // per video (the real lists hold 3 frames per video)
  std::int64_t image_size = 64;

  template <class V>
  void visit(V&& v) {
    v("seed", seed, "random seed: the whole benchmark is a function of it");
    v("domains", domains, "domains to write, letters of CPSW (CeFA-, PADISI-, SURF-, WMCA-like)");
    v("subjects", subjects, "subjects per domain (split 50/20/30 % into train/val/test)");
    v("live_videos", live_videos, "live videos per subject");
    v("attack_videos", attack_videos, "attack videos per subject (kinds cycle through the domain's attacks)");
    v("frames", frames, "frames per video");
    v("image_size", image_size, "image side in pixels");
  }
  void validate() const;
};

// Attack types; 0 = live.
const std::vector<std::string>& synth_kinds();  // "live", "print", "replay", "rigid_mask", "flexible_mask", "partial"
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
};

// The kinds of one subject's videos: `live_videos` live ones, then `attack_videos` attacks.
std::vector<std::string> video_kinds(const SynthOptions& options, char domain, int subject);
// The split ("train", "val", "test") of a subject: 50 / 20 / 30 %, at least one subject each.
std::string split_of(int subject, int subjects);

// Every sample of one domain, in memory (deterministic from options.seed).
std::vector<SynthSample> generate_domain(const SynthOptions& options, char domain);

struct SynthSummary {
  std::vector<std::string> lists;  // written list files
  std::int64_t samples = 0;
};

// Writes images and list files under `root` (created when missing).
SynthSummary write_synthetic_benchmark(const SynthOptions& options, const std::string& root);

// The proxy task `mmdg pretrain` trains a small ViT on: live synthetic faces (RGB, [0, 1]) labelled
// by head yaw (left / frontal / right) x key-light quadrant: 12 classes that need shape and
// shading, and never show an attack. Deterministic from `seed` (kept apart from the benchmark's).
std::vector<std::pair<cv::Mat, int>> generate_proxy_task(std::int64_t count, std::int64_t image_size, std::int64_t seed);
constexpr int kProxyClasses = 12;

// A preview grid: rows = domains, columns = live and each attack kind, three modalities per cell
// (RGB | depth | IR); kinds a domain lacks are left dark. 8-bit BGR.
cv::Mat synth_preview(const SynthOptions& options);

}  // namespace mmdg::data
