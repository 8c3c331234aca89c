#include "mmdg/experiment/ablation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "mmdg/eval/bootstrap.h"
#include "mmdg/eval/metrics.h"
#include "mmdg/eval/report.h"
#include "mmdg/io/file_util.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"
#ifdef MMDG_HAVE_OPENCV
#include "mmdg/viz/plot.h"
#endif

namespace mmdg::experiment {
namespace fs = std::filesystem;
using eval::percent_text;

namespace {

const char* const kYes = "yes";
const char* const kNo = "no";

AblationRow row(std::string folder, std::vector<std::string> cells, std::string method, double paper_hter = NAN,
                double paper_auc = NAN, std::string title = "", std::function<void(ProtocolArgs&)> adjust = {}) {
  return {std::move(folder), std::move(title), std::move(cells), std::move(method), std::move(adjust), paper_hter, paper_auc};
}

const std::map<std::string, AblationTable>& tables() {
  static const std::map<std::string, AblationTable> all = [] {
    std::map<std::string, AblationTable> t;
    const auto regrad_variant = [](train::ReGradVariant v) { return [v](ProtocolArgs& a) { a.train.regrad = v; }; };
    const auto uncertainty = [](bool in_adapter, bool in_regrad) {
      return [=](ProtocolArgs& a) {
        a.model.adapter_uncertainty = in_adapter;
        a.train.regrad_uncertainty = in_regrad;
      };
    };
    t["4"] = {"4",
              "Table 4: ablation of ReGrad (average HTER and AUC over Protocol 1's sub-protocols)",
              {"Backbone", "Method"},
              {row("vit+ce", {"ViT", "-"}, "vit+ce", 31.14, 74.81),
               row("vit+regrad", {"ViT", "ReGrad"}, "vit+regrad", 30.59, 75.94),
               row("vit-uadapter+ssdg", {"ViT + U-Adapter", "SSDG"}, "vit-uadapter+ssdg", 26.13, 80.31),
               row("vit-uadapter+ssan", {"ViT + U-Adapter", "SSAN"}, "vit-uadapter+ssan", 26.94, 79.52),
               row("vit-uadapter+iadg", {"ViT + U-Adapter", "IADG"}, "vit-uadapter+iadg", 24.23, 82.54),
               row("vit-uadapter+pmr", {"ViT + U-Adapter", "PMR"}, "vit-uadapter+pmr", 24.54, 83.14),
               row("vit-uadapter+ogm-ge", {"ViT + U-Adapter", "OGM-GE"}, "vit-uadapter+ogm-ge", 29.32, 76.54),
               row("vit-uadapter+ce", {"ViT + U-Adapter", "-"}, "vit-uadapter+ce", 27.38, 78.88),
               row("mmdg-regrad-conflicted-only", {"ViT + U-Adapter", "ReGrad (Conflicted-only)"}, "mmdg", 21.91, 85.65,
                   "ViT + U-Adapter / ReGrad (Conflicted-only)", regrad_variant(train::ReGradVariant::ConflictedOnly)),
               row("mmdg-regrad-unconflicted-only", {"ViT + U-Adapter", "ReGrad (Unconflicted-only)"}, "mmdg", 21.23, 85.51,
                   "ViT + U-Adapter / ReGrad (Unconflicted-only)", regrad_variant(train::ReGradVariant::UnconflictedOnly)),
               // not in the paper: ReGrad on the tensors the released regrad.py reaches (class tokens and
               // position embeddings; the rest CE only), to ask whether the paper's numbers needed it on the adapters
               row("mmdg-regrad-as-released", {"ViT + U-Adapter", "ReGrad (as released)"}, "mmdg", NAN, NAN,
                   "ViT + U-Adapter / ReGrad as released",
                   [](ProtocolArgs& a) { a.train.regrad_scope = train::ReGradScope::AsReleased; }),
               row(train::kPaperMethod, {"ViT + U-Adapter", "ReGrad"}, train::kPaperMethod, 19.48, 87.48)}};
    t["5"] = {"5",
              "Table 5: uncertainty in the U-Adapters (Eq. 4) and in ReGrad (Eq. 5) (average HTER and AUC over Protocol 1's "
              "sub-protocols)",
              {"U-Adapter: Eq. (4)", "ReGrad: Eq. (5)"},
              {row("mmdg-no-uncertainty", {kNo, kNo}, "mmdg", 28.40, 78.65, "MMDG without uncertainty", uncertainty(false, false)),
               row("mmdg-no-adapter-uncertainty", {kNo, kYes}, "mmdg", 26.13, 81.60, "MMDG without uncertainty in the U-Adapters",
                   uncertainty(false, true)),
               row("mmdg-no-regrad-uncertainty", {kYes, kNo}, "mmdg", 22.75, 84.84, "MMDG without uncertainty in ReGrad",
                   uncertainty(true, false)),
               row(train::kPaperMethod, {kYes, kYes}, train::kPaperMethod, 19.48, 87.48)}};
    // Fig. 5 gives its values only as bars: no paper numbers here
    AblationTable fig5{"fig5",
                       "Fig. 5: ViT vs ViT + U-Adapter as the backbone of DG and multi-modal strategies (average HTER and AUC "
                       "over Protocol 1's sub-protocols)",
                       {"Method", "Backbone"},
                       {}};
    for (const auto& [strategy, label] : std::vector<std::pair<std::string, std::string>>{
             {"ssdg", "SSDG"}, {"ssan", "SSAN"}, {"iadg", "IADG"}, {"cmfl", "CMFL"}, {"ce", "-"}, {"regrad", "ReGrad"}}) {
      for (const std::string network : {"vit", "vit-uadapter"}) {
        const auto preset = train::resolve_method(network + "+" + strategy);
        model::NetworkOptions n;
        n.network = preset.network;
        const std::string folder = train::method_name(n, preset.strategy);  // "cmfl", "mmdg", "vit+ssdg", ...
        fig5.rows.push_back(row(folder, {label, network == "vit" ? "ViT" : "ViT + U-Adapter"}, folder));
      }
    }
    t["fig5"] = fig5;
    t["pretrain"] = {"pretrain",
                     "MMDG from the pretrained backbone vs from a random initialization (not in the paper; average HTER and "
                     "AUC over the Protocol 1 sub-protocols run)",
                     {"Method", "Backbone initialization"},
                     {row(train::kPaperMethod, {"MMDG", "pretrained (--pretrained)"}, train::kPaperMethod),
                      row("mmdg-random-init", {"MMDG", "random"}, "mmdg", NAN, NAN, "MMDG from a random initialization",
                          [](ProtocolArgs& a) { a.pretrained.clear(); })}};
    return t;
  }();
  return all;
}

struct Spread {
  double mean = 0, std = 0;
  std::size_t n = 0;
};

Spread spread_of(const std::vector<double>& v) {
  Spread s;
  s.n = v.size();
  for (double x : v) s.mean += x / static_cast<double>(v.size());
  if (v.size() > 1) {
    for (double x : v) s.std += (x - s.mean) * (x - s.mean) / static_cast<double>(v.size() - 1);
    s.std = std::sqrt(s.std);
  }
  return s;
}

std::string paper_text(double v) {
  if (std::isnan(v)) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// One row's measured values: per seed, the average over the subs of HTER and AUC (only seeds
// holding every sub count), and the per-sub per-seed scores for the bootstrap.
struct RowResult {
  bool found = false;
  std::vector<std::int64_t> seeds;         // seeds with every sub
  std::vector<double> hter, auc;           // per seed: averages over the subs
  std::vector<std::vector<eval::Scores>> scores;  // [sub][seed]
  std::map<std::string, std::pair<std::size_t, std::size_t>> counts;  // sub -> live, spoof test samples
};

RowResult result_of(const std::string& out, const AblationRow& row, const std::vector<std::string>& subs) {
  RowResult r;
  // a multi-seed result when there is one, else the single run
  const auto all = read_method_results(out, row.folder, 1);
  if (all.empty()) return r;
  const MethodResults& m = all.back();
  r.scores.resize(subs.size());
  for (const auto& seed_json : m.seeds) {
    bool complete = true;
    for (const auto& s : subs) complete = complete && seed_json.contains(s);
    if (!complete) continue;
    double hter = 0, auc = 0;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      const auto& sub = seed_json[subs[i]];
      hter += target_eer_hter_of(sub) / static_cast<double>(subs.size());
      auc += sub["auc"].get<double>() / static_cast<double>(subs.size());
      if (sub.contains("live")) r.counts[subs[i]] = {sub["live"].get<std::size_t>(), sub["spoof"].get<std::size_t>()};
      if (sub.contains("scores")) r.scores[i].push_back(eval::read_scores_csv(stored_scores_path(out, sub)));
    }
    r.seeds.push_back(seed_json.contains("method") ? seed_json["method"].value("seed", std::int64_t{-1}) : -1);
    r.hter.push_back(hter);
    r.auc.push_back(auc);
  }
  r.found = !r.seeds.empty();
  return r;
}

// The row's scores restricted to the seeds both rows have, in the same order: [sub][seed].
bool paired_scores(const RowResult& x, const RowResult& y, std::vector<std::vector<eval::Scores>>& a,
                   std::vector<std::vector<eval::Scores>>& b) {
  a.assign(x.scores.size(), {});
  b.assign(x.scores.size(), {});
  for (std::size_t i = 0; i < x.seeds.size(); ++i)
    for (std::size_t j = 0; j < y.seeds.size(); ++j)
      if (x.seeds[i] == y.seeds[j])
        for (std::size_t s = 0; s < x.scores.size(); ++s) {
          if (x.scores[s].size() != x.seeds.size() || y.scores[s].size() != y.seeds.size()) return false;
          a[s].push_back(x.scores[s][i]);
          b[s].push_back(y.scores[s][j]);
        }
  return !a.empty() && !a[0].empty();
}

}  // namespace

std::vector<std::string> ablation_table_names() {
  std::vector<std::string> names;
  for (const auto& [name, table] : tables()) names.push_back(name);
  return names;
}

const AblationTable& ablation_table(const std::string& name) {
  const auto it = tables().find(name);
  if (it == tables().end()) {
    std::string known;
    for (const auto& n : ablation_table_names()) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("option --table: unknown table '" + name + "' (expected one of: " + known + ")");
  }
  return it->second;
}

ProtocolArgs ablation_row_args(const ProtocolArgs& base, const AblationRow& row) {
  ProtocolArgs a = base;
  a.protocol = 1;
  const auto preset = train::resolve_method(row.method);
  a.model.network = preset.network;
  a.train.strategy = preset.strategy;
  // the varied options at the paper's values, then the row's
  a.train.regrad = train::ReGradVariant::Full;
  a.train.regrad_scope = train::ReGradScope::All;
  a.train.regrad_uncertainty = true;
  a.model.adapter_uncertainty = true;
  if (row.adjust) row.adjust(a);
  a.method_name = row.folder;
  a.method_title = row.title.empty() ? train::method_title(a.model, a.train.strategy) : row.title;
  a.model.validate();
  a.train.validate();
  return a;
}

std::string run_ablation(const AblateArgs& args) {
  const AblationTable& table = ablation_table(args.table);
  for (const auto& folder : args.rows) {
    const bool known = std::any_of(table.rows.begin(), table.rows.end(), [&](const AblationRow& r) { return r.folder == folder; });
    if (!known) {
      std::string names;
      for (const auto& r : table.rows) names += (names.empty() ? "" : ", ") + r.folder;
      throw UsageError("option --rows: table " + table.name + " has no row '" + folder + "' (its rows: " + names + ")");
    }
  }
  std::vector<std::string> subs;
  for (const auto& sub : protocol_subs(1))
    if (args.base.sub.empty() || args.base.sub == sub.name || args.base.sub == sub.model) subs.push_back(sub.name);
  if (subs.empty()) throw UsageError("option --sub: '" + args.base.sub + "' is not a sub-protocol of protocol 1");
  std::size_t index = 0;
  for (const auto& row : table.rows) {
    ++index;
    if (!args.rows.empty() && std::find(args.rows.begin(), args.rows.end(), row.folder) == args.rows.end()) continue;
    const ProtocolArgs a = ablation_row_args(args.base, row);
    log::info("== table " + table.name + " row " + std::to_string(index) + "/" + std::to_string(table.rows.size()) + ": " +
              a.method_title + " -> " + (fs::path(a.out) / a.method_name).string());
    if (!args.dry_run) run_protocol(a);
  }
  return write_ablation_table(args.base.out, table, subs);
}

std::string write_ablation_table(const std::string& out, const AblationTable& table, const std::vector<std::string>& subs) {
  fs::create_directories(out);
  std::vector<RowResult> results;
  for (const auto& row : table.rows) results.push_back(result_of(out, row, subs));
  // MMDG's result for the differences: its row when the table has one (score files read once)
  const auto mmdg_row = std::find_if(table.rows.begin(), table.rows.end(),
                                     [](const AblationRow& r) { return r.folder == train::kPaperMethod; });
  RowResult outside_table;
  const RowResult& mmdg =
      mmdg_row != table.rows.end()
          ? results[static_cast<std::size_t>(mmdg_row - table.rows.begin())]
          : (outside_table = result_of(out, AblationRow{train::kPaperMethod, "", {}, train::kPaperMethod, {}, NAN, NAN}, subs));
  std::string sub_list;
  for (const auto& s : subs) sub_list += (sub_list.empty() ? "" : ", ") + s;
  std::ostringstream md, csv;
  nlohmann::json json = {{"table", table.name}, {"caption", table.caption}, {"sub_protocols", subs}, {"rows", nlohmann::json::array()}};
  md << table.caption << ". Sub-protocols averaged: " << sub_list
     << ". Threshold policy target-eer (each target set's EER threshold, as the paper's tables). Several seeds: mean +- std "
        "over seeds of the average. HTER - MMDG: the average HTER difference to MMDG in percentage points, observed [95 % "
        "CI], paired stratified bootstrap over the test videos (2000 resamples, each sub-protocol resampled on its own, "
        "seeds pooled); an interval containing 0 is a difference inside the noise. Paper: the paper's numbers on the real "
        "datasets (ViT-B/16), for reference only.\n\n|";
  for (const auto& c : table.columns) {
    md << " " << c << " |";
    csv << eval::csv_cell(c) << ",";
  }
  md << " seeds | HTER (%) | AUC (%) | HTER - MMDG [95 % CI] | paper HTER | paper AUC |\n|";
  csv << "seeds,HTER,HTER std,AUC,AUC std,HTER - MMDG,CI low,CI high,paper HTER,paper AUC\n";
  for (std::size_t i = 0; i < table.columns.size() + 6; ++i) md << "---|";
  md << "\n";
  std::map<std::string, std::pair<std::size_t, std::size_t>> counts;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    const auto& r = results[i];
    nlohmann::json j = {{"folder", row.folder}, {"cells", row.cells}, {"seeds", r.seeds}, {"hter", r.hter}, {"auc", r.auc}};
    if (!std::isnan(row.paper_hter)) j["paper"] = {{"hter", row.paper_hter}, {"auc", row.paper_auc}};
    md << "|";
    for (const auto& c : row.cells) {
      md << " " << c << " |";
      csv << eval::csv_cell(c) << ",";
    }
    std::string difference = "-";
    double diff = NAN, low = NAN, high = NAN;
    if (r.found && row.folder != train::kPaperMethod && mmdg.found) {
      std::vector<std::vector<eval::Scores>> a, b;
      if (paired_scores(r, mmdg, a, b)) {
        const auto ci = eval::paired_hter_difference_over_sets(a, b);
        diff = ci.difference, low = ci.low, high = ci.high;
        difference = percent_text(diff) + " [" + percent_text(low) + ", " + percent_text(high) + "]";
        j["hter_difference_to_mmdg"] = {{"observed", diff}, {"low", low}, {"high", high}, {"seeds", a[0].size()},
                                        {"units", ci.units}, {"live_units", ci.live_units}, {"spoof_units", ci.spoof_units}};
      }
    }
    const Spread h = spread_of(r.hter), u = spread_of(r.auc);
    md << " " << r.seeds.size() << " | " << (r.found ? mean_and_spread(r.hter) : "-") << " | " << (r.found ? mean_and_spread(r.auc) : "-") << " | "
       << difference << " | " << paper_text(row.paper_hter) << " | " << paper_text(row.paper_auc) << " |\n";
    const auto number = [](bool ok, double v) { return ok && !std::isnan(v) ? percent_text(v) : std::string(); };
    csv << r.seeds.size() << "," << number(r.found, h.mean) << "," << number(r.found && h.n > 1, h.std) << ","
        << number(r.found, u.mean) << "," << number(r.found && u.n > 1, u.std) << "," << number(true, diff) << ","
        << number(true, low) << "," << number(true, high) << "," << (std::isnan(row.paper_hter) ? "" : paper_text(row.paper_hter))
        << "," << (std::isnan(row.paper_auc) ? "" : paper_text(row.paper_auc)) << "\n";
    json["rows"].push_back(j);
    for (const auto& [sub, c] : r.counts) counts[sub] = c;
  }
  if (!counts.empty()) {
    md << "\nTest sets (samples):";
    for (const auto& [sub, c] : counts) md << " " << sub << " " << c.first + c.second << " (" << c.first << " live, " << c.second << " spoof);";
    md << "\n";
  }
#ifdef MMDG_HAVE_OPENCV
  if (table.name == "fig5") {  // grouped bars: one group per strategy, one bar per backbone
    std::vector<std::string> groups, series;
    for (const auto& row : table.rows) {
      if (std::find(groups.begin(), groups.end(), row.cells[0]) == groups.end()) groups.push_back(row.cells[0]);
      if (std::find(series.begin(), series.end(), row.cells[1]) == series.end()) series.push_back(row.cells[1]);
    }
    viz::BarPanel hter{"Fig. 5 (synthetic data): average HTER (%)", "HTER (%)", groups, {}};
    viz::BarPanel auc{"Fig. 5 (synthetic data): average AUC (%)", "AUC (%)", groups, {}};
    for (const auto& name : series) {
      viz::BarSeries h{name, std::vector<double>(groups.size(), NAN), std::vector<double>(groups.size(), 0)};
      viz::BarSeries u = h;
      for (std::size_t i = 0; i < table.rows.size(); ++i) {
        if (table.rows[i].cells[1] != name || !results[i].found) continue;
        const auto g = static_cast<std::size_t>(std::find(groups.begin(), groups.end(), table.rows[i].cells[0]) - groups.begin());
        const Spread hs = spread_of(results[i].hter), us = spread_of(results[i].auc);
        h.values[g] = 100 * hs.mean, h.errors[g] = 100 * hs.std;
        u.values[g] = 100 * us.mean, u.errors[g] = 100 * us.std;
      }
      hter.series.push_back(h);
      auc.series.push_back(u);
    }
    viz::Figure figure{{hter, auc}, 2};
    figure.panel_height = 420;
    viz::write_figure((fs::path(out) / "ablation_fig5.png").string(), figure);
    md << "\nFigure: ablation_fig5.png (also .svg, .pdf; its numbers in ablation_fig5.csv; bars: mean over seeds, whiskers: std).\n";
  }
#endif
  return write_table_files((fs::path(out) / ("ablation_" + table.name)).string(), md.str(), csv.str(), json);
}

}  // namespace mmdg::experiment
