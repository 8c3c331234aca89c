#include "mmdg/data/synth.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>
#include <sstream>

#include "mmdg/data/image_writer.h"
#include "mmdg/data/list_file.h"
#include "mmdg/data/padisi_format.h"
#include "mmdg/io/file_util.h"
#include "mmdg/data/attack_type.h"
#include "mmdg/util/error.h"
#include "mmdg/util/hash.h"
#include <nlohmann/json.hpp>

namespace mmdg::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

// ---- randomness -------------------------------------------------------------------------------

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(engine_); }
  double normal(double mean, double sd) { return std::normal_distribution<double>(mean, sd)(engine_); }
  int integer(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(engine_); }
  bool chance(double p) { return uniform(0, 1) < p; }
  std::uint64_t bits() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

// A seed for one (domain, subject, video, frame, purpose) tuple: generation order never matters.
std::uint64_t seed_of(std::int64_t seed, char domain, int subject, int video, int frame, int purpose) {
  std::uint64_t h = 1469598103934665603ull ^ static_cast<std::uint64_t>(seed);
  for (std::int64_t v : {static_cast<std::int64_t>(domain), std::int64_t{subject}, std::int64_t{video},
                         std::int64_t{frame}, std::int64_t{purpose}}) {
    h ^= static_cast<std::uint64_t>(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 1099511628211ull;
  }
  return h;
}

// ---- domains ----------------------------------------------------------------------------------

// The generator's version: written into the manifest; bump it with any change of the images.
constexpr int kGeneratorVersion = 2;

// A dataset's capture setup and export conventions (docs/data.md#the-synthetic-benchmark). C, S and
// W share one SR300-class coded-light sensor model; they differ in capture conditions, export and
// attack mix, as the real datasets do.
struct DomainSpec {
  double distance_lo, distance_hi;  // face to camera, cm
  double outdoor_share;             // share of videos captured outdoors (sunlight: ambient NIR)
  double light_spread;              // how far the key light wanders from frontal
  cv::Vec3f white_balance;          // RGB gains
  double rgb_noise, rgb_blur;
  int jpeg_quality;                 // JPEG quality of the written images (0: float .npz)
  bool background_removed;          // all modalities zero outside the depth-segmented person (CASIA-SURF)
  std::string format;               // "jpg" or "npz"
  std::vector<std::string> kinds;   // "live" first, then the attack kinds of its lists
};

const DomainSpec& spec_of(char domain) {
  static const std::map<char, DomainSpec> specs = {
      // CASIA-CeFA-like: indoor and outdoor sessions (sunlight saturates NIR and drops depth on the
      // sunlit side; RGB stays intact), prints, replays, 3D-printed and silicone masks
      {'C', {30, 45, 0.35, 0.6, {1.06f, 1.0f, 0.90f}, 0.020, 0.6, 85, false, "jpg",
             {"live", "print", "replay", "rigid_mask", "flexible_mask"}}},
      // PADISI-Face-like: a longer working distance (depth noise and dropout grow), every channel a
      // float normalized by the camera's bit depth in one .npz per frame
      {'P', {55, 75, 0.0, 0.5, {0.94f, 1.0f, 1.06f}, 0.010, 0.3, 0, false, "npz",
             {"live", "print", "replay", "rigid_mask", "flexible_mask"}}},
      // CASIA-SURF-like: close range, background removed in every modality, flat, curved and
      // cut-out prints only, blurrier RGB and stronger JPEG
      {'S', {25, 35, 0.0, 0.3, {1.0f, 1.0f, 1.0f}, 0.030, 0.9, 75, true, "jpg", {"live", "print", "cutout_print"}}},
      // WMCA-like: sessions under office, LED side and window light; glasses, fake heads, rigid,
      // flexible and paper masks beside prints and replays
      {'W', {35, 45, 0.0, 0.9, {1.0f, 0.98f, 1.03f}, 0.010, 0.2, 95, false, "jpg",
             {"live", "print", "replay", "rigid_mask", "flexible_mask", "paper_mask", "fake_head", "glasses"}}},
  };
  const auto it = specs.find(domain);
  if (it == specs.end()) throw Error(std::string("synthetic domain '") + domain + "': unknown (expected C, P, S or W)");
  return it->second;
}

// One video's capture conditions.
struct Session {
  double distance;           // cm
  double ambient;            // ambient NIR (sunlight) relative to the projector's return at the face
  cv::Vec3d sun;             // towards the ambient (sun) light
  double rgb_level;          // scene brightness
  double light_spread;
  bool outdoor = false;
  bool complex_background = false;
};

Session make_session(const DomainSpec& d, Rng& rng) {
  Session s;
  s.distance = rng.uniform(d.distance_lo, d.distance_hi);
  s.outdoor = rng.chance(d.outdoor_share);
  s.ambient = s.outdoor ? rng.uniform(1.0, 2.5) : rng.uniform(0.0, 0.08);
  const double az = rng.uniform(-kPi, kPi), el = s.outdoor ? rng.uniform(0.5, 1.2) : 0.2;
  s.sun = cv::normalize(cv::Vec3d(std::sin(el) * std::cos(az), std::sin(el) * std::sin(az), std::cos(el)));
  s.rgb_level = s.outdoor ? rng.uniform(1.0, 1.15) : rng.uniform(0.75, 1.05);
  s.light_spread = d.light_spread;
  s.complex_background = rng.chance(0.5);
  return s;
}

// ---- faces --------------------------------------------------------------------------------------

struct Identity {
  double a, b;                      // face ellipse radii, fraction of the image
  cv::Vec3f skin, hair, lips, iris;
  double nose_height, nose_width, eye_dx, eye_y, mouth_width, mouth_y, brow;
  double nir_skin;
};

struct Frame {
  double cx, cy, yaw, pitch, scale, mouth_open;
  cv::Vec3d light;  // unit vector towards the key light
  double ambient;
};

// How an object differs from a live face.
struct Material {
  double relief = 1.0;       // facial relief (nose, eye sockets, lips, brows)
  double smooth = 0.0;       // depth smoothing, in pixels
  double specular = 0.06, shininess = 20;
  double uniform_albedo = 0; // 1: features barely painted (masks)
  cv::Vec3f tint{1, 1, 1};
  double nir_reflectance = -1;  // <0: skin; else the material's NIR reflectance
  double nir_feature_contrast = 1;
};

Identity make_identity(Rng& rng) {
  Identity id;
  id.a = rng.uniform(0.27, 0.33);
  id.b = id.a * rng.uniform(1.22, 1.38);
  const double tone = rng.uniform(0, 1);  // light .. dark skin
  id.skin = cv::Vec3f(static_cast<float>(0.92 - 0.55 * tone), static_cast<float>(0.72 - 0.45 * tone),
                      static_cast<float>(0.60 - 0.40 * tone));
  const double h = rng.uniform(0.03, 0.35);
  id.hair = cv::Vec3f(static_cast<float>(h * 1.1), static_cast<float>(h * 0.8), static_cast<float>(h * 0.6));
  id.lips = cv::Vec3f(static_cast<float>(0.65 - 0.3 * tone), static_cast<float>(0.30 - 0.15 * tone),
                      static_cast<float>(0.32 - 0.15 * tone));
  const double iris = rng.uniform(0.1, 0.5);
  id.iris = cv::Vec3f(static_cast<float>(iris * 0.6), static_cast<float>(iris * 0.7), static_cast<float>(iris));
  id.nose_height = rng.uniform(0.16, 0.30);
  id.nose_width = rng.uniform(0.09, 0.14);
  id.eye_dx = rng.uniform(0.32, 0.42);
  id.eye_y = rng.uniform(-0.30, -0.20);
  id.mouth_width = rng.uniform(0.22, 0.34);
  id.mouth_y = rng.uniform(0.42, 0.52);
  id.brow = rng.uniform(0.3, 0.8);
  id.nir_skin = rng.uniform(0.74, 0.86);  // NIR skin reflectance hardly depends on melanin
  return id;
}

Frame make_frame(Rng& rng, double light_spread) {
  Frame f;
  f.cx = 0.5 + rng.normal(0, 0.03);
  f.cy = 0.52 + rng.normal(0, 0.03);
  f.yaw = rng.normal(0, 0.18);
  f.pitch = rng.normal(0, 0.10);
  f.scale = rng.uniform(0.92, 1.08);
  f.mouth_open = std::max(0.0, rng.normal(0.1, 0.2));
  const double az = rng.uniform(-kPi, kPi), el = rng.uniform(0, light_spread) * kPi / 2.4;
  f.light = cv::normalize(cv::Vec3d(std::sin(el) * std::cos(az), std::sin(el) * std::sin(az), std::cos(el)));
  f.ambient = rng.uniform(0.15, 0.35);
  return f;
}

// Gaussian noise from our seeded generator (cv::randn would use OpenCV's global RNG).
void fill_normal(cv::Mat& m, double sd, Rng& rng) {
  cv::RNG cv_rng(rng.bits());
  cv_rng.fill(m, cv::RNG::NORMAL, 0.0, sd);
}

double gauss(double dx, double dy, double sx, double sy) { return std::exp(-0.5 * (dx * dx / (sx * sx) + dy * dy / (sy * sy))); }

// A rendered head (live or mask) before any sensor: lit RGB, NIR reflectance, surface normals,
// height above the head's silhouette plane (head units, about 0 .. 0.75) and masks.
struct Render {
  cv::Mat rgb;     // CV_32FC3, lit by the frame's key light
  cv::Mat nir;     // CV_32F reflectance at 850 nm
  cv::Mat normal;  // CV_32FC3 unit normals (z towards the camera)
  cv::Mat height;  // CV_32F
  cv::Mat face;    // CV_8U: 255 on the head (hair included)
  cv::Mat hair;    // CV_8U: 255 on hair
};


Render render_head(const Identity& id, const Frame& fr, const Material& mat, int S, Rng& rng) {
  cv::Mat height(S, S, CV_32F, cv::Scalar(0)), albedo(S, S, CV_32FC3, cv::Scalar(0, 0, 0)), nir(S, S, CV_32F, cv::Scalar(0));
  cv::Mat face(S, S, CV_8U, cv::Scalar(0)), hair(S, S, CV_8U, cv::Scalar(0));
  const double a = id.a * fr.scale * S, b = id.b * fr.scale * S;
  const double sy = std::sin(fr.yaw), cyw = std::cos(fr.yaw), sp = std::sin(fr.pitch), cp = std::cos(fr.pitch);
  for (int py = 0; py < S; ++py) {
    for (int px = 0; px < S; ++px) {
      // image coordinates in face radii, then undo the pose (orthographic, ellipsoid depth)
      double xi = (px + 0.5 - fr.cx * S) / a, yi = (py + 0.5 - fr.cy * S) / b;
      const double r2i = xi * xi + yi * yi;
      if (r2i > 1.2) continue;
      const double z0 = std::sqrt(std::max(0.0, 1.0 - std::min(1.0, r2i)));
      const double x = (xi - sy * z0 * 0.6) / cyw, y = (yi - sp * z0 * 0.6) / cp;
      const double r2 = x * x + y * y;
      // hair above the forehead, around the head
      if (r2 > 1.0) {
        if (r2 < 1.25 && y < 0.1) {
          face.at<uchar>(py, px) = 255;
          hair.at<uchar>(py, px) = 255;
          height.at<float>(py, px) = static_cast<float>(0.05 * (1.25 - r2));
          albedo.at<cv::Vec3f>(py, px) = id.hair;
          nir.at<float>(py, px) = 0.35f;
        }
        continue;
      }
      face.at<uchar>(py, px) = 255;
      const double base = 0.6 * std::sqrt(1.0 - r2);
      const double e = id.eye_dx;
      const double relief = id.nose_height * gauss(x, y - 0.05, id.nose_width, id.nose_width * 2.2)  // nose
                            - 0.07 * (gauss(x - e, y - id.eye_y, 0.12, 0.09) + gauss(x + e, y - id.eye_y, 0.12, 0.09))  // sockets
                            + 0.04 * (gauss(x - e, y - id.eye_y + 0.13, 0.16, 0.04) + gauss(x + e, y - id.eye_y + 0.13, 0.16, 0.04))  // brows
                            + 0.03 * gauss(x, y - id.mouth_y, id.mouth_width, 0.06)  // lips
                            - 0.04 * fr.mouth_open * gauss(x, y - id.mouth_y, id.mouth_width * 0.7, 0.03);
      height.at<float>(py, px) = static_cast<float>(base + mat.relief * relief);
      // albedo: skin, eyes, brows, lips
      cv::Vec3f c = id.skin;
      double n = id.nir_skin;
      const double feature = 1.0 - mat.uniform_albedo;
      for (double side : {-1.0, 1.0}) {
        const double ex = (x - side * e) / 0.13, ey = (y - id.eye_y) / 0.06;
        if (ex * ex + ey * ey < 1) {
          const double ix = (x - side * e) / 0.05, iy = (y - id.eye_y) / 0.05;
          const cv::Vec3f eye = ix * ix + iy * iy < 1 ? id.iris : cv::Vec3f(0.85f, 0.85f, 0.82f);
          c = c * static_cast<float>(1 - feature) + eye * static_cast<float>(feature);
          n = ix * ix + iy * iy < 1 ? 0.30 : 0.65;  // eyes are real (holes in masks)
        }
        const double bx = (x - side * e) / 0.16, by = (y - id.eye_y + 0.13) / 0.03;
        if (bx * bx + by * by < 1) {
          const double k = id.brow * feature;
          c = c * static_cast<float>(1 - k) + id.hair * static_cast<float>(k);
          n = n * (1 - 0.5 * k * mat.nir_feature_contrast) + 0.35 * 0.5 * k * mat.nir_feature_contrast;
        }
      }
      const double lx = x / id.mouth_width, ly = (y - id.mouth_y) / (0.05 + 0.05 * fr.mouth_open);
      if (lx * lx + ly * ly < 1) {
        const cv::Vec3f lip = std::abs(y - id.mouth_y) < 0.012 * (1 + 3 * fr.mouth_open) ? cv::Vec3f(0.1f, 0.05f, 0.05f) : id.lips;
        c = c * static_cast<float>(1 - feature) + lip * static_cast<float>(feature);
      }
      albedo.at<cv::Vec3f>(py, px) = cv::Vec3f(c[0] * mat.tint[0], c[1] * mat.tint[1], c[2] * mat.tint[2]);
      nir.at<float>(py, px) = static_cast<float>(mat.nir_reflectance >= 0 ? mat.nir_reflectance * (0.85 + 0.15 * n / id.nir_skin) : n);
    }
  }
  if (mat.smooth > 0) cv::GaussianBlur(height, height, cv::Size(0, 0), mat.smooth);
  // skin micro-texture (pores) in albedo, none on masks
  cv::Mat grain(S, S, CV_32F);
  fill_normal(grain, 0.025 * (1 - mat.uniform_albedo) + 0.005, rng);
  Render out;
  out.face = face;
  out.hair = hair;
  out.nir = nir;
  out.height = height;
  out.rgb = cv::Mat(S, S, CV_32FC3, cv::Scalar(0, 0, 0));
  out.normal = cv::Mat(S, S, CV_32FC3, cv::Scalar(0, 0, 1));
  const double ks = mat.specular, shin = mat.shininess;
  const cv::Vec3d half = cv::normalize(fr.light + cv::Vec3d(0, 0, 1));
  for (int py = 0; py < S; ++py) {
    for (int px = 0; px < S; ++px) {
      if (!face.at<uchar>(py, px)) continue;
      const auto h = [&](int yy, int xx) { return height.at<float>(std::clamp(yy, 0, S - 1), std::clamp(xx, 0, S - 1)); };
      const double dzdx = (h(py, px + 1) - h(py, px - 1)) * 0.5 * a * 0.9, dzdy = (h(py + 1, px) - h(py - 1, px)) * 0.5 * b * 0.9;
      const cv::Vec3d normal = cv::normalize(cv::Vec3d(-dzdx / a * 2.5, -dzdy / b * 2.5, 1.0));
      out.normal.at<cv::Vec3f>(py, px) = cv::Vec3f(normal);
      const double diffuse = std::max(0.0, normal.dot(fr.light));
      const double spec = ks * std::pow(std::max(0.0, normal.dot(half)), shin);
      const cv::Vec3f alb = albedo.at<cv::Vec3f>(py, px) * (1.0f + grain.at<float>(py, px));
      const double shade = fr.ambient + (1 - fr.ambient) * diffuse;
      out.rgb.at<cv::Vec3f>(py, px) = alb * static_cast<float>(shade) + cv::Vec3f::all(static_cast<float>(spec));
    }
  }
  return out;
}

// ---- scenes -------------------------------------------------------------------------------------

// What reaches the camera, per pixel, before any sensor: the lit RGB radiance, the NIR
// reflectance, the surface normal, the distance (cm; 0 = nothing within the depth range), the
// quality of the projector's return (1 diffuse; lower for dark hair, glossy lenses and screens)
// and the person's silhouette (what depth-based background removal keeps).
struct Scene {
  cv::Mat rgb, nir, normal, z, ret;
  cv::Mat person;  // CV_8U
};

cv::Mat background_rgb(const Session& session, const cv::Vec3f& base, int S, Rng& rng) {
  cv::Mat bg(S, S, CV_32FC3);
  const double gx = rng.normal(0, 0.15), gy = rng.normal(0, 0.15);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const float g = static_cast<float>(1 + gx * (x / double(S) - 0.5) + gy * (y / double(S) - 0.5));
      bg.at<cv::Vec3f>(y, x) = base * g;
    }
  cv::Mat noise(S, S, CV_32FC3);
  fill_normal(noise, session.complex_background ? 0.12 : 0.03, rng);  // a cluttered room or a plain wall
  cv::GaussianBlur(noise, noise, cv::Size(0, 0), session.complex_background ? 1.2 : 2.0);
  return bg + noise;
}

// An empty scene: a wall (or room) beyond the depth range.
Scene empty_scene(const Session& session, int S, Rng& rng) {
  Scene sc;
  const cv::Vec3f base(static_cast<float>(rng.uniform(0.2, 0.75)), static_cast<float>(rng.uniform(0.2, 0.75)),
                       static_cast<float>(rng.uniform(0.2, 0.75)));
  sc.rgb = background_rgb(session, base, S, rng);
  sc.nir = cv::Mat(S, S, CV_32F, cv::Scalar(rng.uniform(0.3, 0.7)));
  sc.normal = cv::Mat(S, S, CV_32FC3, cv::Scalar(0, 0, 1));
  sc.z = cv::Mat(S, S, CV_32F, cv::Scalar(0));
  sc.ret = cv::Mat(S, S, CV_32F, cv::Scalar(1));
  sc.person = cv::Mat(S, S, CV_8U, cv::Scalar(0));
  return sc;
}

// Puts a rendered head at `distance` (cm) into the scene where `where` is set (default: the head).
// Depth relief: 12 cm of head over the render's height range.
void place_head(Scene& sc, const Render& r, double distance, const cv::Mat& where = cv::Mat()) {
  const cv::Mat& mask = where.empty() ? r.face : where;
  const int S = sc.rgb.rows;
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      if (!mask.at<uchar>(y, x) || !r.face.at<uchar>(y, x)) continue;
      sc.rgb.at<cv::Vec3f>(y, x) = r.rgb.at<cv::Vec3f>(y, x);
      sc.nir.at<float>(y, x) = r.nir.at<float>(y, x);
      sc.normal.at<cv::Vec3f>(y, x) = r.normal.at<cv::Vec3f>(y, x);
      sc.z.at<float>(y, x) = static_cast<float>(distance - 16.0 * r.height.at<float>(y, x));
      // dark hair absorbs the projector's light
      sc.ret.at<float>(y, x) = r.hair.at<uchar>(y, x) ? 0.35f : 1.0f;
      sc.person.at<uchar>(y, x) = 255;
    }
}

cv::Mat luminance(const cv::Mat& rgb) {
  cv::Mat gray;
  cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  return gray;
}

// A live-face photo (another frame of the same person, frontally lit) as the content of a print,
// a replay or a paper mask: RGB over a plain backdrop.
cv::Mat live_photo(const Identity& id, int S, Rng& rng) {
  Frame photo = make_frame(rng, 0.3);
  photo.light = cv::Vec3d(0, 0, 1);
  const Render r = render_head(id, photo, Material(), S, rng);
  cv::Mat out(S, S, CV_32FC3, cv::Scalar(rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.9)));
  r.rgb.copyTo(out, r.face);
  return out;
}

// A photo printed on paper: gamut loss and halftone dots.
cv::Mat printed(const cv::Mat& photo, double period) {
  const int S = photo.rows;
  const cv::Mat lum = luminance(photo);
  cv::Mat out(S, S, CV_32FC3);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const cv::Vec3f c = photo.at<cv::Vec3f>(y, x);
      const float gray = lum.at<float>(y, x);
      const cv::Vec3f gamut = (c * 0.7f + cv::Vec3f::all(gray * 0.3f)) * 0.75f + cv::Vec3f::all(0.12f);
      const float dots = static_cast<float>(0.82 + 0.18 * std::cos(2 * kPi * x / period) * std::cos(2 * kPi * y / period));
      out.at<cv::Vec3f>(y, x) = gamut * dots;
    }
  return out;
}

// Paper's NIR reflectance under the print: white paper, faint ink.
float paper_nir(const cv::Mat& photo_lum, int y, int x) { return 0.78f - 0.18f * (1 - photo_lum.at<float>(y, x)); }

// The region of the crop a sheet or screen covers: the whole crop, or (edge_visible) all but a
// band beyond one straight edge near a border, where the scene behind shows.
cv::Mat sheet_region(int S, bool edge_visible, Rng& rng) {
  cv::Mat m(S, S, CV_8U, cv::Scalar(255));
  if (!edge_visible) return m;
  const int side = rng.integer(0, 3);
  const double depth = rng.uniform(0.06, 0.18) * S, slope = rng.normal(0, 0.15);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const double along = side < 2 ? y : x, across = side == 0 ? x : side == 1 ? S - 1 - x : side == 2 ? y : S - 1 - y;
      if (across < depth + slope * (along - S / 2.0)) m.at<uchar>(y, x) = 0;
    }
  return m;
}

// A flat (tilted) or curved sheet in front of the presenter: distance per pixel.
cv::Mat sheet_distance(int S, double distance, bool curved, Rng& rng) {
  const double tilt_x = rng.normal(0, 4), tilt_y = rng.normal(0, 3), bend = curved ? rng.uniform(2.0, 4.0) : 0.0;
  cv::Mat z(S, S, CV_32F);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const double u = x / double(S) - 0.5, v = y / double(S) - 0.5;
      z.at<float>(y, x) = static_cast<float>(distance + tilt_x * u + tilt_y * v + bend * 4 * u * u);
    }
  return z;
}

// Normals of a distance map (cm) seen over a crop `width_cm` wide.
cv::Mat normals_of(const cv::Mat& z, double width_cm) {
  const int S = z.rows;
  const double px = width_cm / S;
  cv::Mat n(S, S, CV_32FC3);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const double dx = (z.at<float>(y, std::min(x + 1, S - 1)) - z.at<float>(y, std::max(x - 1, 0))) / (2 * px);
      const double dy = (z.at<float>(std::min(y + 1, S - 1), x) - z.at<float>(std::max(y - 1, 0), x)) / (2 * px);
      n.at<cv::Vec3f>(y, x) = cv::Vec3f(cv::normalize(cv::Vec3d(dx, dy, 1.0)));
    }
  return n;
}

// The kinds whose depth is a planar sheet or screen.
bool is_planar(const std::string& kind) { return kind == "print" || kind == "cutout_print" || kind == "replay"; }

// How a sample is presented: the attack kind, and for prints whether the sheet is held flat /
// curved in front of the face (flat depth separates it) or conformed to the presenter's face.
struct Presentation {
  std::string kind;
  bool sheet = true;
};

Scene render_scene(const SynthOptions& o, const Identity& id, const Presentation& pr, const Session& session, Rng& rng) {
  const int S = static_cast<int>(o.image_size);
  const Frame fr = make_frame(rng, session.light_spread);
  Scene sc = empty_scene(session, S, rng);
  const double crop_cm = 0.9 * session.distance * 0.6;  // the crop's width at the face, cm (a 60 degree field)
  const std::string& kind = pr.kind;
  const auto sheet_lit = [&](const cv::Mat& z) {  // Lambert shading of a sheet under the key light
    const cv::Mat n = normals_of(z, crop_cm);
    cv::Mat shade(S, S, CV_32F);
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x)
        shade.at<float>(y, x) = static_cast<float>(fr.ambient + (1 - fr.ambient) * std::max(0.0, cv::Vec3d(n.at<cv::Vec3f>(y, x)).dot(fr.light)));
    return std::make_pair(n, shade);
  };
  if (kind == "live" || kind == "glasses") {
    const Render r = render_head(id, fr, Material(), S, rng);
    place_head(sc, r, session.distance);
    if (kind == "glasses") {  // glasses with printed or dark lenses: the face around them is live
      const bool printed_eyes = rng.chance(0.5);
      Rng other(rng.bits());
      const cv::Mat eyes = printed(live_photo(make_identity(other), S, other), rng.uniform(2.5, 4.0));
      const cv::Mat eyes_lum = luminance(eyes);
      const double a = id.a * fr.scale * S, b = id.b * fr.scale * S;
      const double ey = fr.cy * S + id.eye_y * b, ex = id.eye_dx * a;
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x)
          for (double side : {-1.0, 1.0}) {
            const double dx = (x + 0.5 - (fr.cx * S + side * ex)) / (0.26 * a), dy = (y + 0.5 - ey) / (0.17 * b);
            const double r2 = dx * dx + dy * dy;
            if (r2 >= 1.15) continue;
            sc.z.at<float>(y, x) = static_cast<float>(session.distance - 14.0);
            sc.normal.at<cv::Vec3f>(y, x) = cv::Vec3f(0, 0, 1);
            if (r2 >= 1.0) {  // the frame
              sc.rgb.at<cv::Vec3f>(y, x) = cv::Vec3f::all(0.06f);
              sc.nir.at<float>(y, x) = 0.2f;
              continue;
            }
            sc.rgb.at<cv::Vec3f>(y, x) = printed_eyes ? eyes.at<cv::Vec3f>(y, x) : cv::Vec3f::all(0.05f);
            sc.nir.at<float>(y, x) = printed_eyes ? paper_nir(eyes_lum, y, x) : 0.08f;
            sc.ret.at<float>(y, x) = printed_eyes ? 0.9f : 0.15f;  // glossy dark lenses return little
          }
    }
  } else if (is_planar(kind) && pr.sheet) {
    const bool curved = kind != "replay" && rng.chance(0.5);
    const cv::Mat region = sheet_region(S, rng.chance(0.25), rng);
    const cv::Mat z = sheet_distance(S, session.distance - rng.uniform(4, 10), curved, rng);
    const auto [n, shade] = sheet_lit(z);
    const cv::Mat photo = live_photo(id, S, rng), lum = luminance(photo);
    // behind the sheet: the presenter (a cut-out print shows their face through the holes)
    Rng presenter_rng(rng.bits());
    const Render presenter = render_head(make_identity(presenter_rng), make_frame(presenter_rng, session.light_spread), Material(), S, presenter_rng);
    place_head(sc, presenter, session.distance + 2);
    cv::Mat holes(S, S, CV_8U, cv::Scalar(0));
    if (kind == "cutout_print") {  // eyes, eyes and nose, or eyes, nose and mouth cut out
      const int cuts = rng.integer(1, 3);
      const double a = id.a * S, b = id.b * S, cx = 0.5 * S, cy = 0.52 * S;
      for (double side : {-1.0, 1.0})
        cv::ellipse(holes, cv::Point(int(cx + side * id.eye_dx * a), int(cy + id.eye_y * b)), cv::Size(int(0.15 * a), int(0.08 * b)), 0, 0, 360, 255, -1);
      if (cuts >= 2) cv::ellipse(holes, cv::Point(int(cx), int(cy + 0.05 * b)), cv::Size(int(0.12 * a), int(0.16 * b)), 0, 0, 360, 255, -1);
      if (cuts >= 3) cv::ellipse(holes, cv::Point(int(cx), int(cy + id.mouth_y * b)), cv::Size(int(id.mouth_width * a), int(0.07 * b)), 0, 0, 360, 255, -1);
    }
    const cv::Mat ink = kind == "replay" ? cv::Mat() : printed(photo, rng.uniform(2.5, 4.0));
    const double fx = rng.uniform(0.25, 0.45), fy = rng.uniform(0.05, 0.2), gamma = rng.uniform(0.7, 0.85);
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        if (!region.at<uchar>(y, x) || holes.at<uchar>(y, x)) continue;
        sc.z.at<float>(y, x) = z.at<float>(y, x);
        sc.normal.at<cv::Vec3f>(y, x) = n.at<cv::Vec3f>(y, x);
        sc.person.at<uchar>(y, x) = 255;
        if (kind == "replay") {  // a screen: emitted light, moire; glossy, no NIR: little projector return
          const bool bezel = x < 2 || y < 2 || x >= S - 2 || y >= S - 2;
          cv::Vec3f c = photo.at<cv::Vec3f>(y, x);
          for (int k = 0; k < 3; ++k) c[k] = static_cast<float>(std::pow(std::max(0.0f, c[k]), gamma)) * (k == 2 ? 1.08f : k == 1 ? 0.98f : 0.92f);
          const float moire = static_cast<float>(1 + 0.12 * std::sin(2 * kPi * (fx * x + fy * y)) * std::sin(2 * kPi * (0.5 * fy * x - fx * y)));
          sc.rgb.at<cv::Vec3f>(y, x) = bezel ? cv::Vec3f::all(0.05f) : c * moire / static_cast<float>(session.rgb_level);
          sc.nir.at<float>(y, x) = bezel ? 0.12f : 0.05f;
          sc.ret.at<float>(y, x) = 0.25f;
        } else {
          sc.rgb.at<cv::Vec3f>(y, x) = ink.at<cv::Vec3f>(y, x) * shade.at<float>(y, x);
          sc.nir.at<float>(y, x) = paper_nir(lum, y, x);
          sc.ret.at<float>(y, x) = 1.0f;
        }
      }
  } else {
    // head-shaped attacks: masks and fake heads worn or placed at the face's distance; prints
    // conformed to the presenter's face (the no-shortcut presentation of a print)
    Material m;
    bool print_texture = false;
    double nir = -1;
    if (kind == "rigid_mask") {
      m.relief = rng.uniform(0.4, 0.6);
      m.smooth = S / 40.0;
      m.specular = rng.uniform(0.25, 0.4);
      m.shininess = 35;
      m.uniform_albedo = rng.uniform(0.6, 0.85);
      const float t = static_cast<float>(rng.uniform(0.95, 1.1));
      m.tint = cv::Vec3f(t, 1.0f, 1.0f / t);
      nir = rng.uniform(0.35, 0.5);
      m.nir_feature_contrast = 0.3;
    } else if (kind == "flexible_mask") {  // silicone
      m.relief = rng.uniform(0.75, 0.9);
      m.smooth = S / 90.0;
      m.specular = 0.18;
      m.shininess = 8;
      m.uniform_albedo = 0.3;
      m.tint = cv::Vec3f(1.08f, 0.97f, 0.88f);
      nir = rng.uniform(0.5, 0.62);
      m.nir_feature_contrast = 0.5;
    } else if (kind == "fake_head") {  // a mannequin head: painted plastic, a wig
      m.relief = rng.uniform(0.45, 0.65);
      m.smooth = S / 50.0;
      m.specular = rng.uniform(0.1, 0.3);
      m.shininess = 25;
      m.uniform_albedo = rng.uniform(0.7, 0.95);
      m.tint = cv::Vec3f(static_cast<float>(rng.uniform(0.9, 1.15)), 1.0f, static_cast<float>(rng.uniform(0.8, 1.0)));
      nir = rng.uniform(0.25, 0.6);
      m.nir_feature_contrast = 0.2;
    } else {  // paper_mask, or a print conformed to the face
      m.relief = rng.uniform(0.25, 0.4);
      m.smooth = S / 30.0;
      m.specular = 0.02;
      print_texture = true;
    }
    m.nir_reflectance = nir;
    Render r = render_head(id, fr, m, S, rng);
    if (print_texture) {
      const cv::Mat photo = live_photo(id, S, rng), lum = luminance(photo);
      const cv::Mat ink = printed(photo, rng.uniform(2.5, 4.0));
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x)
          if (r.face.at<uchar>(y, x)) {
            const cv::Vec3f n = r.normal.at<cv::Vec3f>(y, x);
            const double shade = fr.ambient + (1 - fr.ambient) * std::max(0.0, cv::Vec3d(n).dot(fr.light));
            r.rgb.at<cv::Vec3f>(y, x) = ink.at<cv::Vec3f>(y, x) * static_cast<float>(shade);
            r.nir.at<float>(y, x) = paper_nir(lum, y, x);
          }
      r.hair.setTo(0);
    }
    place_head(sc, r, session.distance);
    if (kind == "fake_head") sc.ret.setTo(0.6f, r.hair);  // a synthetic wig returns more than dark hair
  }
  return sc;
}

// ---- the sensor ---------------------------------------------------------------------------------

// One SR300-class camera: RGB, active NIR (a projector beside the lens) and coded-light depth.
//   NIR  projector return  P = nir * max(n_z, 0.05) * ret * (40 / z)^2, ambient A = a * nir * max(n . sun, 0)
//        (a: the session's sunlight, relative to the projector's return at the face), image =
//        clip(g (P + A) + noise), the exposure g set for frontal skin at the session's distance:
//        sunlight saturates it
//   depth valid where P > 0.25 and P / (P + A) > 0.5 (each + noise): weak returns (dark hair,
//        steep or glossy surfaces, screens, far faces) and sunlight drop readings; noise
//        0.08 cm (z / 40)^2
struct Captured {
  cv::Mat rgb, ir;  // CV_32FC3 / CV_32F in [0, 1]
  cv::Mat z;        // CV_32F cm, 0 = no reading
  cv::Mat person;   // CV_8U: near valid depth (background removal)
};

Captured capture(const Scene& sc, const DomainSpec& d, const Session& session, Rng& rng) {
  const double light_level = session.rgb_level;
  const int S = sc.rgb.rows;
  Captured c;
  // RGB: scene brightness and white balance, blur, noise (JPEG at write time)
  cv::Mat rgb = sc.rgb.mul(cv::Scalar(d.white_balance[0], d.white_balance[1], d.white_balance[2])) * light_level;
  if (d.rgb_blur > 0) cv::GaussianBlur(rgb, rgb, cv::Size(0, 0), d.rgb_blur);
  cv::Mat noise(S, S, CV_32FC3);
  fill_normal(noise, d.rgb_noise / std::max(0.5, light_level), rng);
  rgb += noise;
  cv::min(cv::max(rgb, 0.0), 1.0, c.rgb);
  // NIR and depth
  c.ir = cv::Mat(S, S, CV_32F);
  c.z = cv::Mat(S, S, CV_32F, cv::Scalar(0));
  cv::Mat ir_noise(S, S, CV_32F), depth_noise(S, S, CV_32F), threshold_noise(S, S, CV_32F);
  fill_normal(ir_noise, 0.015, rng);
  fill_normal(depth_noise, 1.0, rng);
  fill_normal(threshold_noise, 0.03, rng);
  // exposure set for the projector's return from frontal skin at the face's distance (about 0.55)
  const double face = session.distance - 8, at_face = (40.0 / face) * (40.0 / face), gain = 0.55 / (0.8 * at_face);
  const double sun_scale = at_face;  // the session's ambient is relative to the projector's return at the face
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const float z = sc.z.at<float>(y, x);
      const float nir = sc.nir.at<float>(y, x);
      const cv::Vec3d n(sc.normal.at<cv::Vec3f>(y, x));
      const double ambient = (session.ambient * nir * std::max(0.0, n.dot(session.sun)) + 0.02 * session.ambient) * sun_scale;
      double projector = 0;
      if (z > 0) projector = nir * std::max(n[2], 0.05) * sc.ret.at<float>(y, x) * (40.0 / z) * (40.0 / z);
      c.ir.at<float>(y, x) = static_cast<float>(std::clamp(gain * (projector + ambient) + ir_noise.at<float>(y, x), 0.0, 1.0));
      // the coded pattern must be strong (far or dark surfaces fail) and stand out of the ambient light
      if (z > 0 && z < 100 && projector > 0.25 + threshold_noise.at<float>(y, x) &&
          projector / (projector + ambient) > 0.5 + threshold_noise.at<float>(y, x))
        c.z.at<float>(y, x) = static_cast<float>(z + 0.08 * (z / 40.0) * (z / 40.0) * depth_noise.at<float>(y, x));
    }
  c.person = (c.z > 0) & (c.z < session.distance + 15);
  return c;
}

// The crop as a dataset exports it: C, S, W 8-bit depth normalized over the crop's valid readings
// (near = bright, no reading = 0); P every channel a float over the camera's bit depth (depth in
// mm / 65535); S with the background removed in every modality.
SynthSample export_sample(const Captured& c, const DomainSpec& d) {
  SynthSample s;
  s.rgb = c.rgb.clone();
  s.ir = c.ir.clone();
  const int S = c.z.rows;
  s.depth = cv::Mat(S, S, CV_32F, cv::Scalar(0));
  if (d.format == "npz") {
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x)
        if (c.z.at<float>(y, x) > 0) s.depth.at<float>(y, x) = c.z.at<float>(y, x) * 10.0f / 65535.0f;
  } else {
    double lo = 1e9, hi = 0;
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x)
        if (const float z = c.z.at<float>(y, x); z > 0) lo = std::min(lo, double(z)), hi = std::max(hi, double(z));
    const double range = std::max(hi - lo, 3.0);
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x)
        if (const float z = c.z.at<float>(y, x); z > 0)
          s.depth.at<float>(y, x) = static_cast<float>(std::round(255 * (0.15 + 0.85 * (1 - (z - lo) / range))) / 255);
  }
  if (d.background_removed) {
    cv::Mat keep;
    cv::dilate(c.person, keep, cv::Mat());
    const cv::Mat drop = keep == 0;
    s.rgb.setTo(cv::Scalar(0, 0, 0), drop);
    s.ir.setTo(0, drop);
    s.depth.setTo(0, drop);
  }
  return s;
}

cv::Mat to_8bit(const cv::Mat& f) {
  cv::Mat out;
  f.convertTo(out, f.channels() == 3 ? CV_8UC3 : CV_8U, 255.0);
  return out;
}

// The presentation of one video: its kind, and for the sources' prints (train and val splits),
// sheet or conformed by the planar share.
Presentation presentation_of(const SynthOptions& o, const std::string& kind, const std::string& split, Rng& rng) {
  Presentation p;
  p.kind = kind;
  if (kind == "print" || kind == "cutout_print") p.sheet = split == "test" || rng.chance(o.planar_share);
  return p;
}

SynthSample make_sample(const SynthOptions& o, char domain, const Identity& id, const Presentation& pr, const Session& session,
                        Rng& rng) {
  const DomainSpec& d = spec_of(domain);
  const std::string& kind = pr.kind;
  const Scene sc = render_scene(o, id, pr, session, rng);
  SynthSample s = export_sample(capture(sc, d, session, rng), d);
  s.domain = domain;
  s.kind = kind;
  s.label = kind == "live" ? 1 : 0;
  s.outdoor = session.outdoor;
  s.sheet = is_planar(kind) && pr.sheet;
  s.distance = session.distance;
  s.ambient = session.ambient;
  return s;
}


// OpenCV runs the kernels it compiled for the CPU it finds (AVX, AVX2, FMA3, AVX-512 ...), and
// their float rounding differs: the same seed wrote other files on another machine (on an AMD
// EPYC here, disabling AVX, AVX2 and FMA3 with OPENCV_CPU_DISABLE changed the files' hash). The
// benchmark and the proxy task are rendered with those dispatched kernels off, OpenCV's baseline
// code only, which is the same on every x86-64 machine. OpenCV's flag is global: set by the
// single-threaded entry points only.
class BaselineKernels {
 public:
  BaselineKernels() : was_(cv::useOptimized()) { cv::setUseOptimized(false); }
  ~BaselineKernels() { cv::setUseOptimized(was_); }
  BaselineKernels(const BaselineKernels&) = delete;
  BaselineKernels& operator=(const BaselineKernels&) = delete;

 private:
  bool was_;
};

}  // namespace

std::array<cv::Mat, 3> synth_images_8bit(const SynthSample& s) {
  std::array<cv::Mat, 3> images{cv::Mat(), to_8bit(s.depth), to_8bit(s.ir)};
  cv::cvtColor(to_8bit(s.rgb), images[0], cv::COLOR_RGB2BGR);
  return images;
}

void SynthOptions::validate() const {
  if (domains.empty()) throw UsageError("option domains: give at least one of C, P, S, W");
  for (char d : domains) spec_of(d);
  if (subjects < 3) throw UsageError("option subjects: at least 3 per domain (one each for train, val and test)");
  if (subjects > 100000) throw UsageError("option subjects: at most 100000");
  if (live_videos < 1 || live_videos > 1000) throw UsageError("option live_videos: must be in [1, 1000]");
  if (attack_videos < 1 || attack_videos > 1000) throw UsageError("option attack_videos: must be in [1, 1000]");
  if (frames < 1 || frames > 1000) throw UsageError("option frames: must be in [1, 1000]");
  if (image_size < 16 || image_size > 1024) throw UsageError("option image_size: must be in [16, 1024]");
  if (!(planar_share >= 0 && planar_share <= 1)) throw UsageError("option planar_share: must be in [0, 1]");
}

const std::vector<std::string>& synth_kinds() {
  static const std::vector<std::string> kinds = {"live",          "print",      "cutout_print", "replay",  "rigid_mask",
                                                 "flexible_mask", "paper_mask", "fake_head",    "glasses"};
  return kinds;
}

std::vector<std::string> domain_kinds(char domain) { return spec_of(domain).kinds; }

std::string split_of(int subject, int subjects) {
  const int val = std::max(1, static_cast<int>(std::round(subjects * 0.1)));
  const int test = std::clamp(static_cast<int>(std::round(subjects * 0.5)), 1, subjects - val - 1);
  const int train = subjects - val - test;
  if (subject < train) return "train";
  if (subject < train + val) return "val";
  return "test";
}

std::vector<std::string> video_kinds(const SynthOptions& o, char domain, int subject) {
  const auto kinds = domain_kinds(domain);
  std::vector<std::string> out(static_cast<std::size_t>(o.live_videos), "live");
  const std::size_t attacks = kinds.size() - 1;
  for (std::int64_t v = 0; v < o.attack_videos; ++v)
    out.push_back(kinds[1 + (static_cast<std::size_t>(subject) * static_cast<std::size_t>(o.attack_videos) + static_cast<std::size_t>(v)) % attacks]);
  return out;
}

std::vector<SynthSample> generate_domain(const SynthOptions& o, char domain) {
  o.validate();
  const DomainSpec& spec = spec_of(domain);
  std::vector<SynthSample> samples;
  for (int subject = 0; subject < o.subjects; ++subject) {
    Rng id_rng(seed_of(o.seed, domain, subject, -1, -1, 0));
    const Identity id = make_identity(id_rng);
    const auto kinds = video_kinds(o, domain, subject);
    const std::string split = split_of(subject, static_cast<int>(o.subjects));
    for (std::size_t video = 0; video < kinds.size(); ++video) {
      Rng video_rng(seed_of(o.seed, domain, subject, static_cast<int>(video), -1, 4));
      const Session session = make_session(spec, video_rng);
      const Presentation presentation = presentation_of(o, kinds[video], split, video_rng);
      for (int frame = 0; frame < o.frames; ++frame) {
        Rng rng(seed_of(o.seed, domain, subject, static_cast<int>(video), frame, 1));
        SynthSample s = make_sample(o, domain, id, presentation, session, rng);
        s.subject = subject;
        s.video = static_cast<int>(video);
        s.frame = frame;
        s.split = split;
        samples.push_back(std::move(s));
      }
    }
  }
  return samples;
}

std::string manifest_hash(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().filename() != "manifest.json")
      files.push_back(fs::relative(e.path(), root).generic_string());
  std::sort(files.begin(), files.end());
  std::uint64_t h = kFnv1aOffset;
  for (const auto& f : files) h = io::file_fnv1a((fs::path(root) / f).string(), fnv1a(f + '\0', h));
  return hex16(h);
}

SynthSummary write_synthetic_benchmark(const SynthOptions& o, const std::string& root) {
  o.validate();
  const BaselineKernels baseline;
  namespace fs = std::filesystem;
  SynthSummary summary;
  nlohmann::json counts = nlohmann::json::object();
  std::ostringstream conditions;
  conditions << "path,domain,split,subject,video,frame,kind,outdoor,sheet,distance_cm,ambient_nir\n";
  const auto condition_row = [&](const std::string& path, const SynthSample& s) {
    char numbers[64];
    std::snprintf(numbers, sizeof numbers, "%.1f,%.3f", s.distance, s.ambient);
    conditions << path << "," << s.domain << "," << s.split << "," << s.subject << "," << s.video << "," << s.frame << ","
               << s.kind << "," << s.outdoor << "," << s.sheet << "," << numbers << "\n";
  };
  for (char domain : o.domains) {
    const DomainSpec& spec = spec_of(domain);
    std::map<std::string, std::vector<ListEntry>> lines;  // split -> list entries
    std::set<std::string> used_names;
    for (const SynthSample& s : generate_domain(o, domain)) {
      if (s.frame == 0) {  // videos per domain, split and kind
        auto& n = counts[std::string(1, domain)][s.split][s.kind];
        n = n.is_null() ? 1 : n.get<int>() + 1;
      }
      char video_name[64];
      std::snprintf(video_name, sizeof video_name, "%s/%03d_%d_%s", s.split.c_str(), s.subject, s.video, s.kind.c_str());
      if (spec.format == "npz") {
        const int S = s.rgb.rows;
        const auto plane = [&](const cv::Mat& m) { return torch::from_blob(m.clone().data, {S, S}, torch::kFloat).clone(); };
        std::vector<cv::Mat> rgb;
        cv::split(s.rgb, rgb);
        // PADISI-like opaque names ("zc7db0ae.npz"), unique within the domain
        char name[64];
        std::uint64_t key = seed_of(o.seed, domain, s.subject, s.video, s.frame, 2);
        do {
          std::snprintf(name, sizeof name, "z%07llx.npz", static_cast<unsigned long long>(key & 0xfffffffull));
          key = key * 6364136223846793005ull + 1442695040888963407ull;
        } while (!used_names.insert(name).second);
        // as in the real PADISI lists, the .npz names carry no folder: they sit in the data root
        fs::create_directories(root);
        // one PADISI-Face .npz per frame (padisi_format.h)
        write_padisi_npz((fs::path(root) / name).string(), torch::stack({plane(rgb[0]), plane(rgb[1]), plane(rgb[2])}),
                         plane(s.depth), plane(s.ir));
        condition_row(name, s);
        ListEntry e = ListEntry::padisi(name, s.label);
        e.attack = s.label ? std::string(kBonafide) : s.kind;  // PADISI's names carry no attack type: the list's field
        lines[s.split].push_back(e);
        continue;
      }
      const std::string dir = std::string(1, domain) + "/" + video_name;
      std::string paths[3];
      const char* modality[3] = {"rgb", "depth", "ir"};
      const auto images = synth_images_8bit(s);
      for (int m = 0; m < 3; ++m) {
        fs::create_directories(fs::path(root) / dir / modality[m]);
        char file[32];
        std::snprintf(file, sizeof file, "%04d.%s", s.frame, spec.format.c_str());
        paths[m] = dir + "/" + modality[m] + "/" + file;
        write_image((fs::path(root) / paths[m]).string(), &images[m], spec.jpeg_quality);
      }
      condition_row(paths[0], s);
      lines[s.split].push_back(ListEntry::images(paths[0], paths[1], paths[2], s.label));
    }
    for (const char* split : {"train", "val", "test"}) {
      const std::string list = (fs::path(root) / (std::string(1, domain) + "-" + split + ".txt")).string();
      write_list(list, lines[split]);  // with the real lists' line ends
      summary.lists.push_back(list);
      summary.samples += static_cast<std::int64_t>(lines[split].size());
    }
  }
  // the manifest: what wrote the data, with which options, the videos per kind and a hash of the files
  nlohmann::json manifest = {{"generator", "mmdg synth"}, {"generator_version", kGeneratorVersion}, {"options", nlohmann::json::object()},
                             {"videos", counts}, {"samples", summary.samples}};
  SynthOptions copy = o;
  copy.visit([&](const char* name, const auto& value, const char*) { manifest["options"][name] = value; });
  io::write_file_atomically((fs::path(root) / "conditions.csv").string(), [&](std::ostream& f) { f << conditions.str(); });
  summary.hash = manifest_hash(root);
  manifest["files_hash"] = summary.hash;
  io::write_file_atomically((fs::path(root) / "manifest.json").string(), [&](std::ostream& f) { f << manifest.dump(1) << "\n"; });
  return summary;
}

std::vector<ProxySample> generate_proxy_task(std::int64_t count, std::int64_t image_size, std::int64_t seed) {
  if (count <= 0 || image_size < 16) throw Error("proxy task: count must be positive and image_size >= 16");
  const BaselineKernels baseline;
  SynthOptions o;
  o.image_size = image_size;
  std::vector<ProxySample> out;
  for (std::int64_t i = 0; i < count; ++i) {
    Rng rng(seed_of(seed, 'X', static_cast<int>(i), 0, 0, 7));
    // a generic indoor capture of a live face: no dataset's sensor, export or condition
    DomainSpec spec = spec_of('W');
    spec.distance_lo = 30;
    spec.distance_hi = 50;
    spec.light_spread = 0.8;
    const Identity id = make_identity(rng);
    const Session session = make_session(spec, rng);
    const int yaw_bin = rng.integer(0, 2), pitch_bin = rng.integer(0, 1);
    Frame fr = make_frame(rng, session.light_spread);
    fr.yaw = (yaw_bin - 1) * 0.45 + rng.normal(0, 0.06);
    fr.pitch = (pitch_bin - 0.5) * 0.4 + rng.normal(0, 0.04);
    const Render r = render_head(id, fr, Material(), static_cast<int>(image_size), rng);
    Scene sc = empty_scene(session, static_cast<int>(image_size), rng);
    place_head(sc, r, session.distance);
    SynthSample s = export_sample(capture(sc, spec, session, rng), spec);
    out.push_back({{s.rgb, s.depth, s.ir}, yaw_bin * 2 + pitch_bin});
  }
  return out;
}

cv::Mat synth_preview(const SynthOptions& o) {
  o.validate();
  const BaselineKernels baseline;
  const int S = static_cast<int>(o.image_size), label_w = 24, header_h = 14;
  const auto& kinds = synth_kinds();
  const int cell_w = 3 * S + 4;
  cv::Mat grid(header_h + static_cast<int>(o.domains.size()) * (S + 4), label_w + static_cast<int>(kinds.size()) * cell_w,
               CV_8UC3, cv::Scalar(40, 40, 40));
  for (std::size_t k = 0; k < kinds.size(); ++k)
    cv::putText(grid, kinds[k], cv::Point(label_w + static_cast<int>(k) * cell_w + 2, header_h - 3), cv::FONT_HERSHEY_PLAIN,
                0.8, cv::Scalar(230, 230, 230), 1);
  for (std::size_t d = 0; d < o.domains.size(); ++d) {
    const char domain = o.domains[d];
    const int y0 = header_h + static_cast<int>(d) * (S + 4);
    cv::putText(grid, std::string(1, domain), cv::Point(6, y0 + S / 2 + 5), cv::FONT_HERSHEY_PLAIN, 1.2, cv::Scalar(230, 230, 230), 1);
    const auto present = domain_kinds(domain);
    for (std::size_t k = 0; k < kinds.size(); ++k) {
      if (std::find(present.begin(), present.end(), kinds[k]) == present.end()) continue;
      Rng id_rng(seed_of(o.seed, domain, 0, -1, -1, 0));
      const Identity id = make_identity(id_rng);
      Rng rng(seed_of(o.seed, domain, 0, static_cast<int>(k), 0, 3));
      Session session = make_session(spec_of(domain), rng);
      session.outdoor = false;  // the preview shows the domain's indoor look
      session.ambient = 0.02;
      Presentation presentation;
      presentation.kind = kinds[k];
      const SynthSample s = make_sample(o, domain, id, presentation, session, rng);
      cv::Mat rgb, depth, ir;
      cv::cvtColor(to_8bit(s.rgb), rgb, cv::COLOR_RGB2BGR);
      cv::cvtColor(to_8bit(s.depth), depth, cv::COLOR_GRAY2BGR);
      cv::cvtColor(to_8bit(s.ir), ir, cv::COLOR_GRAY2BGR);
      const int x0 = label_w + static_cast<int>(k) * cell_w;
      rgb.copyTo(grid(cv::Rect(x0, y0, S, S)));
      depth.copyTo(grid(cv::Rect(x0 + S + 1, y0, S, S)));
      ir.copyTo(grid(cv::Rect(x0 + 2 * S + 2, y0, S, S)));
    }
  }
  return grid;
}

}  // namespace mmdg::data
