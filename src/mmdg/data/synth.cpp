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
#include "mmdg/util/error.h"

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

struct Sensor {
  cv::Vec3f white_balance;  // RGB gains
  double exposure, rgb_noise, rgb_blur;
  int jpeg_quality;         // 0: lossless
  double depth_near, depth_far, depth_noise, depth_holes;
  int depth_levels;
  double ir_gain, ir_offset, ir_noise, ir_vignette;
  cv::Vec3f background;     // RGB
  double light_spread;      // how far the key light wanders from frontal
  std::string format;       // "jpg", "png", "npz"
};

const Sensor& sensor_of(char domain) {
  static const std::map<char, Sensor> sensors = {
      // CeFA-like: warm white balance, JPEG, noisy low-gain IR
      {'C', {{1.06f, 1.0f, 0.90f}, 1.0, 0.020, 0.6, 85, 0.85, 0.25, 0.010, 0.02, 256, 0.65, 0.06, 0.06, 0.30,
             {0.55f, 0.50f, 0.45f}, 0.6, "jpg"}},
      // PADISI-like: float data in .npz, cool balance, clean sensors
      {'P', {{0.94f, 1.0f, 1.06f}, 0.9, 0.010, 0.3, 0, 0.90, 0.30, 0.005, 0.0, 0, 0.9, 0.02, 0.01, 0.10,
             {0.30f, 0.34f, 0.40f}, 0.5, "npz"}},
      // SURF-like: blurry, strong JPEG, degraded depth (noise, holes, coarse levels)
      {'S', {{1.0f, 1.0f, 1.0f}, 1.1, 0.030, 1.0, 70, 0.80, 0.35, 0.060, 0.12, 32, 0.90, 0.03, 0.02, 0.20,
             {0.70f, 0.70f, 0.68f}, 0.3, "jpg"}},
      // WMCA-like: lossless PNG (16-bit depth), strong side lights
      {'W', {{1.0f, 0.98f, 1.03f}, 1.0, 0.010, 0.2, 0, 0.95, 0.20, 0.004, 0.0, 65536, 0.95, 0.01, 0.01, 0.15,
             {0.20f, 0.25f, 0.22f}, 0.9, "png"}},
  };
  const auto it = sensors.find(domain);
  if (it == sensors.end()) throw Error(std::string("synthetic domain '") + domain + "': unknown (expected C, P, S or W)");
  return it->second;
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

Frame make_frame(Rng& rng, const Sensor& sensor) {
  Frame f;
  f.cx = 0.5 + rng.normal(0, 0.03);
  f.cy = 0.52 + rng.normal(0, 0.03);
  f.yaw = rng.normal(0, 0.18);
  f.pitch = rng.normal(0, 0.10);
  f.scale = rng.uniform(0.92, 1.08);
  f.mouth_open = std::max(0.0, rng.normal(0.1, 0.2));
  const double az = rng.uniform(-kPi, kPi), el = rng.uniform(0, sensor.light_spread) * kPi / 2.4;
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

struct Render {
  cv::Mat rgb, depth, ir, face;  // face: CV_8U mask of the head
};

// Renders a head (live or mask) over `background`. Depth in [0, 1] is height above the head's
// silhouette plane, 0 off the head.
Render render_head(const Identity& id, const Frame& fr, const Material& mat, int S, Rng& rng) {
  cv::Mat height(S, S, CV_32F, cv::Scalar(0)), albedo(S, S, CV_32FC3, cv::Scalar(0, 0, 0)), nir(S, S, CV_32F, cv::Scalar(0));
  cv::Mat face(S, S, CV_8U, cv::Scalar(0));
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
  out.rgb = cv::Mat(S, S, CV_32FC3);
  out.ir = cv::Mat(S, S, CV_32F);
  out.depth = height / 0.9;
  const double ks = mat.specular, shin = mat.shininess;
  const cv::Vec3d half = cv::normalize(fr.light + cv::Vec3d(0, 0, 1));
  for (int py = 0; py < S; ++py) {
    for (int px = 0; px < S; ++px) {
      if (!face.at<uchar>(py, px)) continue;
      const auto h = [&](int yy, int xx) { return height.at<float>(std::clamp(yy, 0, S - 1), std::clamp(xx, 0, S - 1)); };
      const double dzdx = (h(py, px + 1) - h(py, px - 1)) * 0.5 * a * 0.9, dzdy = (h(py + 1, px) - h(py - 1, px)) * 0.5 * b * 0.9;
      const cv::Vec3d normal = cv::normalize(cv::Vec3d(-dzdx / a * 2.5, -dzdy / b * 2.5, 1.0));
      const double diffuse = std::max(0.0, normal.dot(fr.light));
      const double spec = ks * std::pow(std::max(0.0, normal.dot(half)), shin);
      const cv::Vec3f alb = albedo.at<cv::Vec3f>(py, px) * (1.0f + grain.at<float>(py, px));
      const double shade = fr.ambient + (1 - fr.ambient) * diffuse;
      out.rgb.at<cv::Vec3f>(py, px) = alb * static_cast<float>(shade) + cv::Vec3f::all(static_cast<float>(spec));
      // active NIR: the illuminator sits at the camera, so shading follows the normal's z
      out.ir.at<float>(py, px) = static_cast<float>(nir.at<float>(py, px) * (0.25 + 0.75 * std::max(0.0, normal[2])));
    }
  }
  return out;
}

cv::Mat background_rgb(const Sensor& sensor, int S, Rng& rng) {
  cv::Mat bg(S, S, CV_32FC3);
  const double gx = rng.normal(0, 0.15), gy = rng.normal(0, 0.15);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const float g = static_cast<float>(1 + gx * (x / double(S) - 0.5) + gy * (y / double(S) - 0.5));
      bg.at<cv::Vec3f>(y, x) = sensor.background * g;
    }
  cv::Mat noise(S, S, CV_32FC3);
  fill_normal(noise, 0.03, rng);
  cv::GaussianBlur(noise, noise, cv::Size(0, 0), 2.0);
  return bg + noise;
}

// Composites a render over a background (RGB), far background depth 0, dim NIR background.
void composite(Render& r, const cv::Mat& bg, double bg_nir) {
  const int S = r.rgb.rows;
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x)
      if (!r.face.at<uchar>(y, x)) {
        r.rgb.at<cv::Vec3f>(y, x) = bg.at<cv::Vec3f>(y, x);
        r.depth.at<float>(y, x) = 0;
        r.ir.at<float>(y, x) = static_cast<float>(bg_nir);
      }
}

cv::Mat luminance(const cv::Mat& rgb) {
  cv::Mat gray;
  cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  return gray;
}

// A flat or bent sheet facing the camera: height field over the whole image (depth units).
cv::Mat sheet_depth(int S, double level, double tilt_x, double tilt_y, double bend) {
  cv::Mat d(S, S, CV_32F);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const double u = x / double(S) - 0.5, v = y / double(S) - 0.5;
      d.at<float>(y, x) = static_cast<float>(level + tilt_x * u + tilt_y * v - bend * u * u);
    }
  return d;
}

// Shading of a sheet's height field under the frame's key light.
cv::Mat sheet_shading(const cv::Mat& d, const Frame& fr) {
  const int S = d.rows;
  cv::Mat s(S, S, CV_32F);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const double dx = (d.at<float>(y, std::min(x + 1, S - 1)) - d.at<float>(y, std::max(x - 1, 0))) * S * 0.5;
      const double dy = (d.at<float>(std::min(y + 1, S - 1), x) - d.at<float>(std::max(y - 1, 0), x)) * S * 0.5;
      const cv::Vec3d n = cv::normalize(cv::Vec3d(-dx, -dy, 1.0));
      s.at<float>(y, x) = static_cast<float>(fr.ambient + (1 - fr.ambient) * std::max(0.0, n.dot(fr.light)));
    }
  return s;
}

// A live-face photo (another frame of the same person) as the content of a print or a replay.
Render live_photo(const Identity& id, const Sensor& sensor, int S, Rng& rng) {
  Frame photo = make_frame(rng, sensor);
  photo.light = cv::Vec3d(0, 0, 1);  // photos are usually frontally lit
  Render r = render_head(id, photo, Material(), S, rng);
  cv::Mat bg(S, S, CV_32FC3, cv::Scalar(rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.9)));
  composite(r, bg, 0.3);
  return r;
}

SynthSample render_sample(const SynthOptions& o, char domain, const Identity& id, const std::string& kind, Rng& rng) {
  const int S = static_cast<int>(o.image_size);
  const Sensor& sensor = sensor_of(domain);
  const Frame fr = make_frame(rng, sensor);
  const cv::Mat bg = background_rgb(sensor, S, rng);
  const double bg_nir = rng.uniform(0.05, 0.15);
  SynthSample s;
  s.domain = domain;
  s.kind = kind;
  s.label = kind == "live" ? 1 : 0;
  Render r;
  if (kind == "live" || kind == "partial") {
    r = render_head(id, fr, Material(), S, rng);
    composite(r, bg, bg_nir);
    if (kind == "partial") {
      const double cy = (fr.cy + id.eye_y * id.b * fr.scale) * S, half_h = 0.09 * S, half_w = id.a * fr.scale * S * 1.1;
      const cv::Rect band(std::max(0, int(fr.cx * S - half_w)), std::max(0, int(cy - half_h)), int(2 * half_w), int(2 * half_h));
      const cv::Rect roi = band & cv::Rect(0, 0, S, S);
      if (rng.chance(0.5)) {  // dark glasses: lenses dark in RGB and NIR, frame in front of the face
        r.rgb(roi) *= 0.15;
        r.ir(roi) *= 0.2;
        r.depth(roi) += 0.08;
      } else {  // a paper strip printed with someone's eyes: flat, halftoned, weak NIR contrast
        Rng other(rng.bits());
        const Render photo = live_photo(make_identity(other), sensor, S, other);
        const cv::Mat lum = luminance(photo.rgb);
        for (int y = roi.y; y < roi.y + roi.height; ++y)
          for (int x = roi.x; x < roi.x + roi.width; ++x) {
            const float dots = static_cast<float>(0.85 + 0.15 * std::cos(2 * kPi * x / 3.0) * std::cos(2 * kPi * y / 3.0));
            r.rgb.at<cv::Vec3f>(y, x) = (photo.rgb.at<cv::Vec3f>(y, x) * 0.7f + cv::Vec3f::all(0.15f)) * dots;
            r.ir.at<float>(y, x) = 0.7f - 0.15f * (1 - lum.at<float>(y, x));
          }
        const double level = cv::mean(r.depth(roi))[0] + 0.1;
        r.depth(roi).setTo(level);
      }
    }
  } else if (kind == "print" || kind == "replay") {
    const Render photo = live_photo(id, sensor, S, rng);
    const bool bent = kind == "print" && rng.chance(0.5);
    const cv::Mat depth = sheet_depth(S, rng.uniform(0.35, 0.6), rng.normal(0, 0.15), rng.normal(0, 0.1), bent ? rng.uniform(0.6, 1.2) : 0.0);
    const int margin = rng.integer(0, S / 10);
    const cv::Rect sheet(margin, margin, S - 2 * margin, S - 2 * margin);
    r.rgb = bg.clone();
    r.depth = cv::Mat(S, S, CV_32F, cv::Scalar(0));
    r.ir = cv::Mat(S, S, CV_32F, cv::Scalar(bg_nir));
    const cv::Mat lum = luminance(photo.rgb);
    if (kind == "print") {
      const cv::Mat shade = sheet_shading(depth, fr);
      const double period = rng.uniform(2.5, 4.0);
      for (int y = sheet.y; y < sheet.y + sheet.height; ++y)
        for (int x = sheet.x; x < sheet.x + sheet.width; ++x) {
          const cv::Vec3f c = photo.rgb.at<cv::Vec3f>(y, x);
          const float gray = lum.at<float>(y, x);
          const cv::Vec3f gamut = (c * 0.7f + cv::Vec3f::all(gray * 0.3f)) * 0.75f + cv::Vec3f::all(0.12f);  // gamut loss
          const float dots = static_cast<float>(0.82 + 0.18 * std::cos(2 * kPi * x / period) * std::cos(2 * kPi * y / period));
          r.rgb.at<cv::Vec3f>(y, x) = gamut * dots * shade.at<float>(y, x);
          r.ir.at<float>(y, x) = (0.75f - 0.18f * (1 - gray)) * (0.3f + 0.7f * shade.at<float>(y, x));  // paper white, faint ink
        }
    } else {
      const double fx = rng.uniform(0.25, 0.45), fy = rng.uniform(0.05, 0.2), gamma = rng.uniform(0.7, 0.85);
      const cv::Vec3f tint(0.92f, 0.98f, 1.08f);
      for (int y = sheet.y; y < sheet.y + sheet.height; ++y)
        for (int x = sheet.x; x < sheet.x + sheet.width; ++x) {
          const bool bezel = x < sheet.x + 2 || y < sheet.y + 2 || x >= sheet.x + sheet.width - 2 || y >= sheet.y + sheet.height - 2;
          if (bezel) {
            r.rgb.at<cv::Vec3f>(y, x) = cv::Vec3f::all(0.05f);
            r.ir.at<float>(y, x) = 0.12f;
            continue;
          }
          cv::Vec3f c = photo.rgb.at<cv::Vec3f>(y, x);
          for (int k = 0; k < 3; ++k) c[k] = static_cast<float>(std::pow(std::max(0.0f, c[k]), gamma)) * tint[k];
          const float moire = static_cast<float>(1 + 0.12 * std::sin(2 * kPi * (fx * x + fy * y)) * std::sin(2 * kPi * (0.5 * fy * x - fx * y)));
          r.rgb.at<cv::Vec3f>(y, x) = c * moire;  // emitted light: no scene shading
          r.ir.at<float>(y, x) = 0.04f + 0.03f * lum.at<float>(y, x);  // LCDs emit and reflect little NIR
        }
    }
    depth(sheet).copyTo(r.depth(sheet));
  } else {  // masks
    Material m;
    if (kind == "rigid_mask") {
      m.relief = rng.uniform(0.4, 0.6);
      m.smooth = S / 40.0;
      m.specular = rng.uniform(0.25, 0.4);
      m.shininess = 35;
      m.uniform_albedo = rng.uniform(0.6, 0.85);
      const float t = static_cast<float>(rng.uniform(0.95, 1.1));
      m.tint = cv::Vec3f(t, 1.0f, 1.0f / t);
      m.nir_reflectance = rng.uniform(0.35, 0.5);
      m.nir_feature_contrast = 0.3;
    } else {  // flexible_mask (silicone)
      m.relief = rng.uniform(0.75, 0.9);
      m.smooth = S / 90.0;
      m.specular = 0.18;
      m.shininess = 8;
      m.uniform_albedo = 0.3;
      m.tint = cv::Vec3f(1.08f, 0.97f, 0.88f);
      m.nir_reflectance = rng.uniform(0.5, 0.62);
      m.nir_feature_contrast = 0.5;
    }
    r = render_head(id, fr, m, S, rng);
    composite(r, bg, bg_nir);
  }
  s.rgb = r.rgb;
  s.depth = r.depth;
  s.ir = r.ir;
  return s;
}

// The domain's sensors: what every sample of the domain goes through.
void apply_sensor(SynthSample& s, const Sensor& sensor, Rng& rng) {
  const int S = s.rgb.rows;
  // RGB: white balance, exposure, blur, noise (JPEG at write time, or here for in-memory use)
  cv::Mat rgb = s.rgb.mul(cv::Scalar(sensor.white_balance[0], sensor.white_balance[1], sensor.white_balance[2])) * sensor.exposure;
  if (sensor.rgb_blur > 0) cv::GaussianBlur(rgb, rgb, cv::Size(0, 0), sensor.rgb_blur);
  cv::Mat noise(S, S, CV_32FC3);
  fill_normal(noise, sensor.rgb_noise, rng);
  rgb += noise;
  cv::min(cv::max(rgb, 0.0), 1.0, s.rgb);
  // depth: range mapping (nearer = brighter), noise, holes, quantization
  cv::Mat depth = s.depth.clone();
  cv::Mat valid = depth > 0;
  depth = sensor.depth_far + (sensor.depth_near - sensor.depth_far) * depth;
  cv::Mat dn(S, S, CV_32F);
  fill_normal(dn, sensor.depth_noise, rng);
  depth += dn;
  depth.setTo(0, ~valid);
  if (sensor.depth_holes > 0) {
    // missing readings: blobs whose count does not depend on the resolution (radius scales with it)
    const int holes = static_cast<int>(std::round(sensor.depth_holes * 150));
    for (int k = 0; k < holes; ++k)
      cv::circle(depth, cv::Point(rng.integer(0, S - 1), rng.integer(0, S - 1)),
                 rng.integer(std::max(1, S / 40), std::max(1, S / 15)), cv::Scalar(0), -1);
  }
  if (sensor.depth_levels > 0) depth = cv::Mat(cv::min(cv::max(depth, 0.0), 1.0));
  if (sensor.depth_levels > 1 && sensor.depth_levels < 65536) {
    const double L = sensor.depth_levels - 1;
    depth.forEach<float>([&](float& v, const int*) { v = static_cast<float>(std::round(v * L) / L); });
  }
  cv::min(cv::max(depth, 0.0), 1.0, s.depth);
  // IR: gain, offset, vignetting, noise
  cv::Mat ir = s.ir * sensor.ir_gain + sensor.ir_offset;
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const double u = x / double(S) - 0.5, v = y / double(S) - 0.5;
      ir.at<float>(y, x) *= static_cast<float>(1 - sensor.ir_vignette * 2 * (u * u + v * v));
    }
  cv::Mat irn(S, S, CV_32F);
  fill_normal(irn, sensor.ir_noise, rng);
  ir += irn;
  cv::min(cv::max(ir, 0.0), 1.0, s.ir);
}

cv::Mat to_8bit(const cv::Mat& f) {
  cv::Mat out;
  f.convertTo(out, f.channels() == 3 ? CV_8UC3 : CV_8U, 255.0);
  return out;
}

}  // namespace

void SynthOptions::validate() const {
  if (domains.empty()) throw UsageError("option domains: give at least one of C, P, S, W");
  for (char d : domains) sensor_of(d);
  if (subjects < 3) throw UsageError("option subjects: at least 3 per domain (one each for train, val and test)");
  if (subjects > 100000) throw UsageError("option subjects: at most 100000");
  if (live_videos < 1 || live_videos > 1000) throw UsageError("option live_videos: must be in [1, 1000]");
  if (attack_videos < 1 || attack_videos > 1000) throw UsageError("option attack_videos: must be in [1, 1000]");
  if (frames < 1 || frames > 1000) throw UsageError("option frames: must be in [1, 1000]");
  if (image_size < 16 || image_size > 1024) throw UsageError("option image_size: must be in [16, 1024]");
}

const std::vector<std::string>& synth_kinds() {
  static const std::vector<std::string> kinds = {"live", "print", "replay", "rigid_mask", "flexible_mask", "partial"};
  return kinds;
}

std::vector<std::string> domain_kinds(char domain) {
  switch (domain) {
    case 'C': return {"live", "print", "replay", "rigid_mask"};
    case 'P': return {"live", "print", "replay", "rigid_mask", "partial"};
    case 'S': return {"live", "print"};
    case 'W': return {"live", "print", "replay", "rigid_mask", "flexible_mask", "partial"};
    default: sensor_of(domain);
  }
  return {};
}

std::string split_of(int subject, int subjects) {
  const int val = std::max(1, static_cast<int>(std::round(subjects * 0.2)));
  const int test = std::max(1, static_cast<int>(std::round(subjects * 0.3)));
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
    out.push_back(kinds[1 + (static_cast<std::size_t>(subject) + static_cast<std::size_t>(v)) % attacks]);
  return out;
}

std::vector<SynthSample> generate_domain(const SynthOptions& o, char domain) {
  o.validate();
  const Sensor& sensor = sensor_of(domain);
  std::vector<SynthSample> samples;
  for (int subject = 0; subject < o.subjects; ++subject) {
    Rng id_rng(seed_of(o.seed, domain, subject, -1, -1, 0));
    const Identity id = make_identity(id_rng);
    const auto kinds = video_kinds(o, domain, subject);
    for (std::size_t video = 0; video < kinds.size(); ++video) {
      for (int frame = 0; frame < o.frames; ++frame) {
        Rng rng(seed_of(o.seed, domain, subject, static_cast<int>(video), frame, 1));
        SynthSample s = render_sample(o, domain, id, kinds[video], rng);
        apply_sensor(s, sensor, rng);
        s.subject = subject;
        s.video = static_cast<int>(video);
        s.frame = frame;
        s.split = split_of(subject, static_cast<int>(o.subjects));
        samples.push_back(std::move(s));
      }
    }
  }
  return samples;
}

SynthSummary write_synthetic_benchmark(const SynthOptions& o, const std::string& root) {
  o.validate();
  namespace fs = std::filesystem;
  SynthSummary summary;
  for (char domain : o.domains) {
    const Sensor& sensor = sensor_of(domain);
    std::map<std::string, std::vector<ListEntry>> lines;  // split -> list entries
    std::set<std::string> used_names;
    for (const SynthSample& s : generate_domain(o, domain)) {
      char video_name[64];
      std::snprintf(video_name, sizeof video_name, "%s/%03d_%d_%s", s.split.c_str(), s.subject, s.video, s.kind.c_str());
      if (sensor.format == "npz") {
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
        lines[s.split].push_back(ListEntry::padisi(name, s.label));
        continue;
      }
      const std::string dir = std::string(1, domain) + "/" + video_name;
      std::string paths[3];
      const char* modality[3] = {"rgb", "depth", "ir"};
      for (int m = 0; m < 3; ++m) {
        fs::create_directories(fs::path(root) / dir / modality[m]);
        char file[32];
        const bool depth16 = m == 1 && sensor.format == "png" && sensor.depth_levels >= 65536;
        std::snprintf(file, sizeof file, "%04d.%s", s.frame, sensor.format.c_str());
        paths[m] = dir + "/" + modality[m] + "/" + file;
        cv::Mat out;
        if (m == 0) cv::cvtColor(to_8bit(s.rgb), out, cv::COLOR_RGB2BGR);
        else if (depth16) s.depth.convertTo(out, CV_16U, 65535.0);
        else out = to_8bit(m == 1 ? s.depth : s.ir);
        write_image((fs::path(root) / paths[m]).string(), &out, sensor.jpeg_quality);
      }
      lines[s.split].push_back(ListEntry::images(paths[0], paths[1], paths[2], s.label));
    }
    for (const char* split : {"train", "val", "test"}) {
      const std::string list = (fs::path(root) / (std::string(1, domain) + "-" + split + ".txt")).string();
      write_list(list, lines[split]);  // with the real lists' line ends
      summary.lists.push_back(list);
      summary.samples += static_cast<std::int64_t>(lines[split].size());
    }
  }
  return summary;
}

std::vector<std::pair<cv::Mat, int>> generate_proxy_task(std::int64_t count, std::int64_t image_size, std::int64_t seed) {
  if (count <= 0 || image_size < 16) throw Error("proxy task: count must be positive and image_size >= 16");
  const int S = static_cast<int>(image_size);
  const Sensor& sensor = sensor_of('W');
  std::vector<std::pair<cv::Mat, int>> out;
  for (std::int64_t i = 0; i < count; ++i) {
    Rng rng(seed_of(seed, 'X', static_cast<int>(i), 0, 0, 7));
    const Identity id = make_identity(rng);
    Frame fr = make_frame(rng, sensor);
    const int yaw_bin = rng.integer(0, 2), quadrant = rng.integer(0, 3);
    fr.yaw = (yaw_bin - 1) * 0.45 + rng.normal(0, 0.06);
    const double az = (quadrant + rng.uniform(0.15, 0.85)) * kPi / 2, el = rng.uniform(0.5, 0.9);
    fr.light = cv::normalize(cv::Vec3d(std::sin(el) * std::cos(az), std::sin(el) * std::sin(az), std::cos(el)));
    Render r = render_head(id, fr, Material(), S, rng);
    composite(r, background_rgb(sensor, S, rng), 0.1);
    SynthSample s;
    s.rgb = r.rgb;
    s.depth = r.depth;
    s.ir = r.ir;
    apply_sensor(s, sensor, rng);
    out.emplace_back(s.rgb, yaw_bin * 4 + quadrant);
  }
  return out;
}

cv::Mat synth_preview(const SynthOptions& o) {
  o.validate();
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
    const Sensor& sensor = sensor_of(domain);
    for (std::size_t k = 0; k < kinds.size(); ++k) {
      if (std::find(present.begin(), present.end(), kinds[k]) == present.end()) continue;
      Rng id_rng(seed_of(o.seed, domain, 0, -1, -1, 0));
      const Identity id = make_identity(id_rng);
      Rng rng(seed_of(o.seed, domain, 0, static_cast<int>(k), 0, 3));
      SynthSample s = render_sample(o, domain, id, kinds[k], rng);
      apply_sensor(s, sensor, rng);
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
