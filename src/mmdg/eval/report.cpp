#include "mmdg/eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"

namespace mmdg::eval {
namespace {

// The cells of one CSV line, trimmed of spaces (and a CR); a cell starting with '"' is quoted
// (RFC 4180: "" is a quote, commas inside are text). A comma at the end starts no new cell.
std::vector<std::string> split_csv_line(const std::string& text) {
  std::vector<std::string> cells;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    std::string quoted;
    bool is_quoted = false;
    if (i < text.size() && text[i] == '"') {
      is_quoted = true;
      for (++i; i < text.size(); ++i) {
        if (text[i] != '"') quoted += text[i];
        else if (i + 1 < text.size() && text[i + 1] == '"') quoted += text[++i];
        else break;
      }
      ++i;  // the closing quote
    }
    const std::size_t comma = std::min(text.find(',', std::min(i, text.size())), text.size());
    std::string rest = i < comma ? text.substr(i, comma - i) : std::string();
    while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' ')) rest.pop_back();
    cells.push_back(is_quoted ? quoted + rest : rest);
    i = comma + 1;
  }
  return cells;
}

}  // namespace

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"") == std::string::npos && (text.empty() || (text.front() != ' ' && text.back() != ' ')))
    return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

Report make_report(const Scores& s, const std::optional<Scores>& source_val, double fixed_threshold,
                   const std::optional<double>& checkpoint_threshold) {
  Report r;
  for (int l : s.labels) (l == 1 ? r.live : r.spoof)++;
  r.auc = auc(s.live_probability, s.labels);
  const auto target = equal_error_rate(s.live_probability, s.labels);
  r.eer = target.eer;
  r.tpr_at_fpr_01 = tpr_at_fpr(s.live_probability, s.labels, 0.001);
  r.tpr_at_fpr_1 = tpr_at_fpr(s.live_probability, s.labels, 0.01);
  r.tpr_at_fpr_5 = tpr_at_fpr(s.live_probability, s.labels, 0.05);
  r.policies.push_back({"target-eer", at_threshold(s.live_probability, s.labels, target.threshold)});
  if (source_val) {
    const auto val = equal_error_rate(source_val->live_probability, source_val->labels);
    r.policies.push_back({"source-val", at_threshold(s.live_probability, s.labels, val.threshold)});
  }
  if (checkpoint_threshold)
    r.policies.push_back({"checkpoint", at_threshold(s.live_probability, s.labels, *checkpoint_threshold)});
  r.policies.push_back({"fixed", at_threshold(s.live_probability, s.labels, fixed_threshold)});
  if (!s.attacks.empty()) {
    Report::PerAttack a;
    for (const auto& p : r.policies)
      a.policies.push_back(attack_metrics(s.live_probability, s.labels, s.attacks, p.metrics.threshold));
    a.bpcer_at_apcer_1 = bpcer_at_apcer(s.live_probability, s.labels, s.attacks, 0.01);
    a.bpcer_at_apcer_5 = bpcer_at_apcer(s.live_probability, s.labels, s.attacks, 0.05);
    a.bpcer_at_apcer_10 = bpcer_at_apcer(s.live_probability, s.labels, s.attacks, 0.10);
    r.per_attack = a;
  }
  return r;
}

nlohmann::json report_json(const Report& r) {
  nlohmann::json policies = nlohmann::json::object();
  for (const auto& p : r.policies)
    policies[p.policy] = {{"threshold", p.metrics.threshold}, {"hter", p.metrics.hter}, {"apcer", p.metrics.apcer},
                          {"bpcer", p.metrics.bpcer}, {"acer", p.metrics.acer}};
  nlohmann::json j = {{"live", r.live}, {"spoof", r.spoof}, {"auc", r.auc}, {"eer", r.eer},
                      {"tpr_at_fpr", {{"0.1%", r.tpr_at_fpr_01}, {"1%", r.tpr_at_fpr_1}, {"5%", r.tpr_at_fpr_5}}},
                      {"policies", policies}};
  if (r.per_attack) {
    nlohmann::json per_policy = nlohmann::json::object();
    for (std::size_t p = 0; p < r.policies.size(); ++p) {
      const auto& m = r.per_attack->policies[p];
      nlohmann::json species = nlohmann::json::object();
      for (const auto& e : m.species) species[e.species] = {{"attacks", e.attacks}, {"apcer", e.apcer}};
      per_policy[r.policies[p].policy] = {{"threshold", m.threshold}, {"apcer", species},   {"apcer_pais", m.apcer_pais},
                                          {"worst", m.worst},         {"bpcer", m.bpcer},   {"acer", m.acer}};
    }
    j["per_attack"] = {{"policies", per_policy},
                       {"bpcer_at_apcer", {{"1%", r.per_attack->bpcer_at_apcer_1}, {"5%", r.per_attack->bpcer_at_apcer_5},
                                           {"10%", r.per_attack->bpcer_at_apcer_10}}}};
  }
  return j;
}

std::string report_text(const Report& r) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%zu live, %zu spoof\nAUC %.2f %%   EER %.2f %%   TPR@FPR=0.1%% %.2f %%   TPR@FPR=1%% %.2f %%   TPR@FPR=5%% %.2f %%\n",
                r.live, r.spoof, 100 * r.auc, 100 * r.eer, 100 * r.tpr_at_fpr_01, 100 * r.tpr_at_fpr_1, 100 * r.tpr_at_fpr_5);
  out << line;
  std::snprintf(line, sizeof line, "%-11s %10s %9s %9s %9s %9s\n", "policy", "threshold", "HTER %", "APCER %", "BPCER %", "ACER %");
  out << line;
  for (const auto& p : r.policies) {
    std::snprintf(line, sizeof line, "%-11s %10.4f %9.2f %9.2f %9.2f %9.2f\n", p.policy.c_str(), p.metrics.threshold,
                  100 * p.metrics.hter, 100 * p.metrics.apcer, 100 * p.metrics.bpcer, 100 * p.metrics.acer);
    out << line;
  }
  if (r.per_attack) {
    const auto& a = *r.per_attack;
    out << "\nper attack type (ISO/IEC 30107-3): APCER % at each policy's threshold\n";
    std::snprintf(line, sizeof line, "%-28s %8s", "attack type", "attacks");
    out << line;
    for (const auto& p : r.policies) {
      std::snprintf(line, sizeof line, " %11s", p.policy.c_str());
      out << line;
    }
    out << "\n";
    const auto row = [&](const std::string& name, const std::string& count, auto value) {
      std::snprintf(line, sizeof line, "%-28s %8s", name.c_str(), count.c_str());
      out << line;
      for (const auto& m : a.policies) {
        std::snprintf(line, sizeof line, " %11.2f", 100 * value(m));
        out << line;
      }
      out << "\n";
    };
    for (std::size_t k = 0; k < a.policies.front().species.size(); ++k)
      row(a.policies.front().species[k].species, std::to_string(a.policies.front().species[k].attacks),
          [&](const AttackMetrics& m) { return m.species[k].apcer; });
    row("APCER_PAIS (max)", "", [](const AttackMetrics& m) { return m.apcer_pais; });
    row("BPCER", std::to_string(r.live), [](const AttackMetrics& m) { return m.bpcer; });
    row("ACER (APCER_PAIS+BPCER)/2", "", [](const AttackMetrics& m) { return m.acer; });
    std::snprintf(line, sizeof line, "BPCER at APCER_PAIS <= 1 %% / 5 %% / 10 %%: %.2f / %.2f / %.2f %%\n",
                  100 * a.bpcer_at_apcer_1, 100 * a.bpcer_at_apcer_5, 100 * a.bpcer_at_apcer_10);
    out << line;
  }
  return out.str();
}

Scores read_scores_csv(const std::string& path) {
  std::istringstream in(io::read_file(path));
  std::string line;
  if (!std::getline(in, line)) throw Error(path + ": empty file (expected a header with score,label)");
  const auto header = split_csv_line(line);
  int score_col = -1, label_col = -1, video_col = -1, attack_col = -1, path_col = -1;
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (std::find(header.begin(), header.begin() + c, header[c]) != header.begin() + c && !header[c].empty())
      throw Error(path + ":1: column '" + header[c] + "' appears twice");
    if (header[c] == "path") path_col = static_cast<int>(c);
    if (header[c] == "score") score_col = static_cast<int>(c);
    if (header[c] == "label") label_col = static_cast<int>(c);
    if (header[c] == "video") video_col = static_cast<int>(c);
    if (header[c] == "attack") attack_col = static_cast<int>(c);
  }
  if (score_col < 0 || label_col < 0) throw Error(path + ":1: the header needs the columns 'score' and 'label'");
  Scores scores;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    const auto cells = split_csv_line(line);
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (cells.size() != header.size())
      throw Error(where + std::to_string(cells.size()) + " cells, the header has " + std::to_string(header.size()) +
                  " (a cell holding a comma must be quoted)");
    try {
      std::size_t used = 0;
      const double score = std::stod(cells[score_col], &used);
      if (used != cells[score_col].size()) throw std::invalid_argument("trailing text");
      scores.live_probability.push_back(score);
    } catch (const std::exception&) {
      throw Error(where + "score '" + cells[score_col] + "' is not a number");
    }
    if (!std::isfinite(scores.live_probability.back())) throw Error(where + "score '" + cells[score_col] + "' is not finite");
    if (cells[label_col] != "0" && cells[label_col] != "1")
      throw Error(where + "label must be 0 (spoof) or 1 (live), got '" + cells[label_col] + "'");
    scores.labels.push_back(cells[label_col] == "1" ? 1 : 0);
    if (video_col >= 0 || path_col >= 0) {  // the video: its column, else the path's (video_key)
      const int col = video_col >= 0 ? video_col : path_col;
      scores.videos.push_back(video_col >= 0 ? cells[col] : video_key(cells[col]));
    }
    if (attack_col >= 0) {
      if (cells[attack_col].empty()) throw Error(where + "empty attack type");
      scores.attacks.push_back(cells[attack_col]);
    }
  }
  try {
    check_scores(scores.live_probability, scores.labels);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  return scores;
}

void write_scores_csv(const std::string& path, const Scores& scores, const ScoresCsvColumns& extra) {
  const std::size_t rows = scores.live_probability.size();
  if (scores.labels.size() != rows)
    throw Error(path + ": cannot write " + std::to_string(rows) + " scores with " + std::to_string(scores.labels.size()) +
                " labels");
  std::vector<std::string> names{"label", "score"};
  const auto check_column = [&](const std::string& name, std::size_t size) {
    if (name.empty()) throw Error(path + ": a scores CSV column needs a name");
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw Error(path + ": column '" + name + "' appears twice (label and score are always written)");
    if (name.find_first_of("\r\n") != std::string::npos) throw Error(path + ": column name '" + name + "' holds a line break");
    if (size != rows)
      throw Error(path + ": column '" + name + "' has " + std::to_string(size) + " cells for " + std::to_string(rows) +
                  " scores");
    names.push_back(name);
  };
  for (const auto& c : extra.text) {
    check_column(c.name, c.cells.size());
    for (std::size_t i = 0; i < rows; ++i)
      if (c.cells[i].find_first_of("\r\n") != std::string::npos)
        throw Error(path + ": column '" + c.name + "', row " + std::to_string(i + 1) +
                    ": a line break cannot be written to a scores CSV");
  }
  for (const auto& c : extra.numbers) check_column(c.name, c.values.size());

  std::ostringstream csv;
  csv << std::setprecision(8);
  const auto header = [&](const std::string& name, bool first) { csv << (first ? "" : ",") << csv_cell(name); };
  for (std::size_t k = 0; k < extra.text.size(); ++k) header(extra.text[k].name, k == 0);
  csv << (extra.text.empty() ? "" : ",") << "label,score";
  for (const auto& c : extra.numbers) header(c.name, false);
  csv << "\n";
  for (std::size_t i = 0; i < rows; ++i) {
    for (const auto& c : extra.text) csv << csv_cell(c.cells[i]) << ",";
    csv << scores.labels[i] << "," << scores.live_probability[i];
    for (const auto& c : extra.numbers) csv << "," << c.values[i];
    csv << "\n";
  }
  const std::string text = csv.str();
  if (path == "-") std::cout << text << std::flush;  // standard output
  else io::write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

std::string video_key(const std::string& path) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npz") == 0) return path;  // one sample per file
  const auto last = path.find_last_of('/');
  if (last == std::string::npos || last == 0) return path;
  const auto second = path.find_last_of('/', last - 1);
  if (second == std::string::npos) return path;
  return path.substr(0, second);
}

Scores average_by_video(const Scores& s, const std::vector<std::string>& keys) {
  if (keys.size() != s.live_probability.size()) throw Error("per-video averaging: one key per score needed");
  std::map<std::string, std::pair<double, int>> sums;
  std::map<std::string, int> label;
  std::map<std::string, std::string> attack;
  std::vector<std::string> order;
  const bool attacks = !s.attacks.empty();
  if (attacks && s.attacks.size() != keys.size()) throw Error("per-video averaging: one attack type per score needed");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto [it, fresh] = sums.try_emplace(keys[i], 0.0, 0);
    if (fresh) {
      order.push_back(keys[i]);
      label[keys[i]] = s.labels[i];
      if (attacks) attack[keys[i]] = s.attacks[i];
    } else if (label[keys[i]] != s.labels[i]) {
      throw Error("per-video averaging: video '" + keys[i] + "' has frames with both labels");
    } else if (attacks && attack[keys[i]] != s.attacks[i]) {
      throw Error("per-video averaging: video '" + keys[i] + "' has frames of two attack types");
    }
    it->second.first += s.live_probability[i];
    it->second.second += 1;
  }
  Scores out;
  for (const auto& k : order) {
    out.live_probability.push_back(sums[k].first / sums[k].second);
    out.labels.push_back(label[k]);
    if (attacks) out.attacks.push_back(attack[k]);
  }
  return out;
}

}  // namespace mmdg::eval
