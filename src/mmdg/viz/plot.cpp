#include "mmdg/viz/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"

#ifdef MMDG_HAVE_PLPLOT
#include <plplot/plplot.h>
#endif

namespace mmdg::viz {
namespace {

// The plot area inside a panel, in pixels from the panel's edges.
constexpr double kLeft = 72, kRight = 18, kTop = 36, kBottom = 56;
// A bar chart's y axis ends this far above its highest whisker (room for the legend).
constexpr double kBarHeadroom = 1.3;

std::size_t rows_of(const Figure& f) {
  const auto cols = static_cast<std::size_t>(std::max(1, f.columns));
  return (f.panels.size() + cols - 1) / cols;
}

// A panel's plot area as fractions of the page (PLplot's normalized device coordinates, y up).
struct Box {
  double x0, x1, y0, y1;
};
Box plot_area(const Figure& f, int panel) {
  const int cols = std::max(1, f.columns);
  const double page_w = static_cast<double>(cols) * f.panel_width;
  const double page_h = static_cast<double>(rows_of(f)) * f.panel_height;
  const double px = (panel % cols) * static_cast<double>(f.panel_width);
  const double py = (panel / cols) * static_cast<double>(f.panel_height);  // from the top
  return {(px + kLeft) / page_w, (px + f.panel_width - kRight) / page_w, 1 - (py + f.panel_height - kBottom) / page_h,
          1 - (py + kTop) / page_h};
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(double v) {
  if (std::isnan(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string panel_name(const Panel& p, std::size_t i) {
  const std::string& title = std::visit([](const auto& q) -> const std::string& { return q.title; }, p);
  return "panel " + std::to_string(i + 1) + (title.empty() ? "" : " ('" + title + "')");
}

std::string stem_of(const std::string& path) {
  for (const auto& ext : figure_formats())
    if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
      return path.substr(0, path.size() - ext.size());
  return path;
}

#ifdef MMDG_HAVE_PLPLOT
// PLplot keeps global state: one figure at a time in the process.
std::mutex& plplot_mutex() {
  static std::mutex m;
  return m;
}

// PLplot calls exit() on an error unless a handler returns non-zero; the message is kept and
// turned into an Error once the stream is closed.
std::string& plplot_error() {
  static std::string message;
  return message;
}
int keep_plplot_error(const char* message) {
  if (plplot_error().empty()) plplot_error() = message ? message : "unknown PLplot error";
  return 1;
}

// PLplot's text escape character is '#'.
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '#' ? std::string("##") : std::string(1, c);
  return out;
}

// Colour map 0: 0 white (background), 1 ink, 2 grid, 3 grey (reference lines), 4 the band
// scratch colour (set with alpha before each band), 5.. the palette.
constexpr int kInk = 1, kGrid = 2, kGrey = 3, kScratch = 4, kPalette = 5, kPaletteSize = 10;

void set_colour(int index, unsigned rgb, double alpha = 1) {
  plscol0a(index, static_cast<PLINT>((rgb >> 16) & 255), static_cast<PLINT>((rgb >> 8) & 255),
           static_cast<PLINT>(rgb & 255), alpha);
}

void start_panel(const Figure& f, int panel, double x0, double x1, double y0, double y1) {
  const Box b = plot_area(f, panel);
  plvpor(b.x0, b.x1, b.y0, b.y1);
  plwind(x0, x1, y0, y1);
  plcol0(kGrid);
  plwidth(0.5);
  pllsty(1);
  plbox("g", 0, 0, "g", 0, 0);
  plcol0(kInk);
  plwidth(1);
}

void finish_panel(const std::string& title, const std::string& x_label, const std::string& y_label, const char* xopt) {
  plcol0(kInk);
  plwidth(1);
  pllsty(1);
  plbox(xopt, 0, 0, "bcnstv", 0, 0);
  plmtex("t", 1.2, 0.5, 0.5, escaped(title).c_str());
  if (!x_label.empty()) plmtex("b", 2.8, 0.5, 0.5, escaped(x_label).c_str());
  if (!y_label.empty()) plmtex("l", 4.0, 0.5, 0.5, escaped(y_label).c_str());
}

struct LegendEntry {
  std::string text;
  int colour;
  bool line, dashed, box;
};

void legend(const std::vector<LegendEntry>& entries, PLINT position) {
  if (entries.empty()) return;
  const auto n = static_cast<PLINT>(entries.size());
  std::vector<PLINT> opt, text_colors, box_colors, box_patterns, line_colors, line_styles, symbol_colors, symbol_numbers;
  std::vector<PLFLT> box_scales, box_line_widths, line_widths, symbol_scales;
  std::vector<std::string> texts, symbols;
  for (const auto& e : entries) {
    opt.push_back(e.box ? PL_LEGEND_COLOR_BOX : PL_LEGEND_LINE);
    text_colors.push_back(kInk);
    box_colors.push_back(e.colour);
    box_patterns.push_back(0);
    box_scales.push_back(0.8);
    box_line_widths.push_back(1);
    line_colors.push_back(e.colour);
    line_styles.push_back(e.dashed ? 2 : 1);
    line_widths.push_back(2);
    symbol_colors.push_back(e.colour);
    symbol_scales.push_back(1);
    symbol_numbers.push_back(0);
    texts.push_back(escaped(e.text));
    symbols.push_back("");
  }
  std::vector<const char*> text_ptrs, symbol_ptrs;
  for (const auto& t : texts) text_ptrs.push_back(t.c_str());
  for (const auto& s : symbols) symbol_ptrs.push_back(s.c_str());
  PLFLT width = 0, height = 0;
  plcol0(kInk);
  pllegend(&width, &height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position | PL_POSITION_INSIDE, 0.02, 0.02, 0.08,
           0, kGrey, 1, 0, 0, n, opt.data(), 0.6, 0.7, 1.6, 0, text_colors.data(), text_ptrs.data(), box_colors.data(),
           box_patterns.data(), box_scales.data(), box_line_widths.data(), line_colors.data(), line_styles.data(),
           line_widths.data(), symbol_colors.data(), symbol_scales.data(), symbol_numbers.data(), symbol_ptrs.data());
}

PLINT legend_position(LegendAt at) {
  switch (at) {
    case LegendAt::top_right: return PL_POSITION_TOP | PL_POSITION_RIGHT;
    case LegendAt::bottom_right: return PL_POSITION_BOTTOM | PL_POSITION_RIGHT;
    case LegendAt::top_left: return PL_POSITION_TOP | PL_POSITION_LEFT;
    case LegendAt::bottom_left: return PL_POSITION_BOTTOM | PL_POSITION_LEFT;
    case LegendAt::none: break;
  }
  return 0;
}

int colour_of(int colour, std::size_t position) {
  const int i = colour >= 0 ? colour : static_cast<int>(position);
  return kPalette + i % kPaletteSize;
}

// Runs of finite points (a NaN in y or in a band breaks the curve).
template <class F>
void for_each_run(const Series& s, bool with_band, F&& draw) {
  std::size_t start = 0;
  const auto finite = [&](std::size_t i) {
    return std::isfinite(s.x[i]) && std::isfinite(s.y[i]) &&
           (!with_band || (std::isfinite(s.y_low[i]) && std::isfinite(s.y_high[i])));
  };
  while (start < s.x.size()) {
    while (start < s.x.size() && !finite(start)) ++start;
    std::size_t end = start;
    while (end < s.x.size() && finite(end)) ++end;
    if (end > start) draw(start, end);
    start = end;
  }
}

void draw_line_panel(const Figure& f, int index, const LinePanel& p) {
  const auto [xr, yr] = resolved_ranges(p);
  start_panel(f, index, xr.first, xr.second, yr.first, yr.second);
  // bands first, under every line
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const Series& s = p.series[i];
    if (s.y_low.empty()) continue;
    const unsigned rgb = series_colour(colour_of(s.colour, i) - kPalette);
    set_colour(kScratch, rgb, 0.18);
    plcol0(kScratch);
    for_each_run(s, true, [&](std::size_t a, std::size_t b) {
      std::vector<PLFLT> x, y;
      for (std::size_t k = a; k < b; ++k) x.push_back(s.x[k]), y.push_back(s.y_low[k]);
      for (std::size_t k = b; k-- > a;) x.push_back(s.x[k]), y.push_back(s.y_high[k]);
      plfill(static_cast<PLINT>(x.size()), x.data(), y.data());
    });
  }
  std::vector<LegendEntry> entries;
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const Series& s = p.series[i];
    const int c = colour_of(s.colour, i);
    plcol0(c);
    plwidth(2);
    pllsty(s.dashed ? 2 : 1);
    for_each_run(s, false, [&](std::size_t a, std::size_t b) {
      const auto n = static_cast<PLINT>(b - a);
      plline(n, s.x.data() + a, s.y.data() + a);
      if (s.markers) plpoin(n, s.x.data() + a, s.y.data() + a, 17);
    });
    if (!s.name.empty()) entries.push_back({s.name, c, true, s.dashed, false});
  }
  finish_panel(p.title, p.x_label, p.y_label, "bcnst");
  if (p.legend != LegendAt::none) legend(entries, legend_position(p.legend));
}

void draw_bar_panel(const Figure& f, int index, const BarPanel& p) {
  double top = 0;
  for (const auto& s : p.series)
    for (std::size_t g = 0; g < s.values.size(); ++g)
      if (std::isfinite(s.values[g]))
        top = std::max(top, s.values[g] + (s.errors.empty() || !std::isfinite(s.errors[g]) ? 0 : s.errors[g]));
  if (top <= 0) top = 1;
  const double groups = static_cast<double>(p.groups.size());
  start_panel(f, index, 0, groups, 0, top * kBarHeadroom);
  const double n = static_cast<double>(std::max<std::size_t>(1, p.series.size()));
  const double bar = 0.8 / n;
  std::vector<LegendEntry> entries;
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const BarSeries& s = p.series[i];
    const int c = colour_of(-1, i);
    for (std::size_t g = 0; g < s.values.size(); ++g) {
      if (!std::isfinite(s.values[g])) continue;
      const double x0 = static_cast<double>(g) + 0.1 + bar * static_cast<double>(i), x1 = x0 + bar * 0.92;
      PLFLT xs[4] = {x0, x1, x1, x0}, ys[4] = {0, 0, s.values[g], s.values[g]};
      plcol0(c);
      plfill(4, xs, ys);
      if (!s.errors.empty() && std::isfinite(s.errors[g]) && s.errors[g] > 0) {
        PLFLT xm = (x0 + x1) / 2, lo = s.values[g] - s.errors[g], hi = s.values[g] + s.errors[g];
        plcol0(kInk);
        plwidth(1);
        plerry(1, &xm, &lo, &hi);
      }
    }
    entries.push_back({s.name, c, false, false, true});
  }
  finish_panel(p.title, "", p.y_label, "bc");
  plcol0(kInk);
  for (std::size_t g = 0; g < p.groups.size(); ++g)
    plmtex("b", 1.4, (static_cast<double>(g) + 0.5) / groups, 0.5, escaped(p.groups[g]).c_str());
  legend(entries, PL_POSITION_TOP | PL_POSITION_RIGHT);
}

void render(const Figure& f, const std::string& device, const std::string& file) {
  const int cols = std::max(1, f.columns);
  plplot_error().clear();
  PLINT stream = 0;
  plmkstrm(&stream);
  if (stream < 0) throw Error(file + ": PLplot has no free stream");
  plsexit(keep_plplot_error);
  plsdev(device.c_str());
  plsfnam(file.c_str());
  plspage(0, 0, cols * f.panel_width, static_cast<PLINT>(rows_of(f)) * f.panel_height, 0, 0);
  plscmap0n(kPalette + kPaletteSize);
  plscolbg(255, 255, 255);
  set_colour(kInk, 0x262626);
  set_colour(kGrid, 0xe3e3e3);
  set_colour(kGrey, 0x9a9a9a);
  for (int i = 0; i < kPaletteSize; ++i) set_colour(kPalette + i, series_colour(i));
  plinit();
  if (plplot_error().empty()) {
    pladv(0);
    plschr(0, 0.75);
    for (std::size_t i = 0; i < f.panels.size(); ++i) {
      if (const auto* line = std::get_if<LinePanel>(&f.panels[i])) draw_line_panel(f, static_cast<int>(i), *line);
      else draw_bar_panel(f, static_cast<int>(i), std::get<BarPanel>(f.panels[i]));
    }
  }
  plend1();
  if (!plplot_error().empty()) throw Error(file + ": PLplot (" + device + "): " + plplot_error());
}
#endif

}  // namespace

bool draws_images() {
#ifdef MMDG_HAVE_PLPLOT
  return true;
#else
  return false;
#endif
}

unsigned series_colour(int index) {
  static const unsigned palette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  const int n = static_cast<int>(std::size(palette));
  return palette[((index % n) + n) % n];
}

std::pair<std::pair<double, double>, std::pair<double, double>> resolved_ranges(const LinePanel& p) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : p.series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (std::isfinite(s.x[i])) x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      for (const auto* v : {&s.y, &s.y_low, &s.y_high})
        if (i < v->size() && std::isfinite((*v)[i])) y0 = std::min(y0, (*v)[i]), y1 = std::max(y1, (*v)[i]);
    }
  const auto widened = [](double a, double b) {
    if (!std::isfinite(a)) return std::make_pair(0.0, 1.0);
    if (a == b) return std::make_pair(a - std::max(1.0, std::abs(a) * 0.1), b + std::max(1.0, std::abs(b) * 0.1));
    const double pad = 0.05 * (b - a);
    return std::make_pair(a - pad, b + pad);
  };
  return {p.x_range ? *p.x_range : widened(x0, x1), p.y_range ? *p.y_range : widened(y0, y1)};
}

PixelPoint to_pixel(const Figure& f, int panel, const std::pair<double, double>& xr, const std::pair<double, double>& yr,
                    double x, double y) {
  const Box b = plot_area(f, panel);
  const double page_w = static_cast<double>(std::max(1, f.columns)) * f.panel_width;
  const double page_h = static_cast<double>(rows_of(f)) * f.panel_height;
  const double u = b.x0 + (x - xr.first) / (xr.second - xr.first) * (b.x1 - b.x0);
  const double v = b.y0 + (y - yr.first) / (yr.second - yr.first) * (b.y1 - b.y0);
  return {u * page_w, (1 - v) * page_h};
}

void validate(const Figure& f) {
  if (f.panels.empty()) throw Error("figure: no panels");
  if (f.panel_width < 100 || f.panel_height < 100) throw Error("figure: panels must be at least 100 x 100");
  for (std::size_t i = 0; i < f.panels.size(); ++i) {
    const std::string where = panel_name(f.panels[i], i);
    if (const auto* p = std::get_if<LinePanel>(&f.panels[i])) {
      for (const auto& s : p->series) {
        if (s.x.size() != s.y.size())
          throw Error(where + ", series '" + s.name + "': x and y have different lengths (" + std::to_string(s.x.size()) +
                      ", " + std::to_string(s.y.size()) + ")");
        if (s.y_low.size() != s.y_high.size() || (!s.y_low.empty() && s.y_low.size() != s.x.size()))
          throw Error(where + ", series '" + s.name + "': the band needs one low and one high value per point");
      }
      for (const auto* r : {&p->x_range, &p->y_range})
        if (*r && !((*r)->first < (*r)->second)) throw Error(where + ": an axis range must have low < high");
    } else {
      const auto& b = std::get<BarPanel>(f.panels[i]);
      if (b.groups.empty()) throw Error(where + ": a bar chart needs at least one group");
      for (const auto& s : b.series) {
        if (s.values.size() != b.groups.size())
          throw Error(where + ", series '" + s.name + "': needs one value per group (" + std::to_string(b.groups.size()) +
                      "), has " + std::to_string(s.values.size()));
        if (!s.errors.empty() && s.errors.size() != b.groups.size())
          throw Error(where + ", series '" + s.name + "': needs one error per group or none");
      }
    }
  }
}

std::string figure_csv(const Figure& f) {
  std::ostringstream csv;
  csv << "panel,series,x,y,y_low,y_high\n";
  for (std::size_t i = 0; i < f.panels.size(); ++i) {
    const std::string panel = csv_cell(std::visit([](const auto& q) { return q.title; }, f.panels[i]));
    if (const auto* p = std::get_if<LinePanel>(&f.panels[i])) {
      for (const auto& s : p->series)
        for (std::size_t k = 0; k < s.x.size(); ++k)
          csv << panel << "," << csv_cell(s.name) << "," << number(s.x[k]) << "," << number(s.y[k]) << ","
              << (s.y_low.empty() ? "" : number(s.y_low[k])) << "," << (s.y_high.empty() ? "" : number(s.y_high[k]))
              << "\n";
    } else {
      const auto& b = std::get<BarPanel>(f.panels[i]);
      for (const auto& s : b.series)
        for (std::size_t g = 0; g < b.groups.size(); ++g) {
          const bool whisker = !s.errors.empty() && std::isfinite(s.errors[g]) && s.errors[g] > 0 && std::isfinite(s.values[g]);
          csv << panel << "," << csv_cell(s.name) << "," << csv_cell(b.groups[g]) << "," << number(s.values[g]) << ","
              << (whisker ? number(s.values[g] - s.errors[g]) : "") << ","
              << (whisker ? number(s.values[g] + s.errors[g]) : "") << "\n";
        }
    }
  }
  return csv.str();
}

std::vector<std::string> write_figure(const std::string& path, const Figure& figure) {
  validate(figure);
  const std::string stem = stem_of(path);
  const auto parent = std::filesystem::path(stem).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  std::vector<std::string> written;
#ifdef MMDG_HAVE_PLPLOT
  const std::pair<const char*, const char*> devices[] = {{".png", "pngcairo"}, {".svg", "svgcairo"}, {".pdf", "pdfcairo"}};
  for (const auto& [ext, device] : devices) {
    const std::string file = stem + ext;
    // PLplot writes the file itself: into a temporary name in the same folder, then renamed.
    const std::string tmp = stem + ".tmp" + ext;
    try {
      const std::lock_guard<std::mutex> lock(plplot_mutex());
      render(figure, device, tmp);
      if (!std::filesystem::exists(tmp) || std::filesystem::file_size(tmp) == 0)
        throw Error(file + ": PLplot (" + device + ") wrote nothing");
      std::filesystem::rename(tmp, file);
    } catch (...) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw;
    }
    written.push_back(file);
  }
#else
  log::warning("built without PLplot (Debian: libplplot-dev plplot-driver-cairo): " + stem + ": only the CSV is written");
#endif
  const std::string csv = stem + ".csv";
  const std::string text = figure_csv(figure);
  io::write_file_atomically(csv, [&](std::ostream& out) { out << text; });
  written.push_back(csv);
  return written;
}

}  // namespace mmdg::viz
