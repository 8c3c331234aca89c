#include "mmdg/train/state_commit.h"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/json_text.h"
#include "mmdg/util/log.h"

namespace mmdg::train {
namespace fs = std::filesystem;
namespace {

std::atomic<int> fault_operation{0}, fault_skip{0};

// One file operation of a commit done: fails here when a fault is injected at this point.
void operation_done(int& done) {
  ++done;
  const int at = fault_operation.load();
  if (at == 0 || done != at) return;
  if (fault_skip > 0) return;
  fault_operation = 0;
  throw CommitFault("injected fault after commit operation " + std::to_string(done));
}

// A commit finished without an injected fault: one fewer to skip.
void commit_done() {
  if (fault_operation.load() > 0 && fault_skip > 0) --fault_skip;
}

void move(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) throw Error(to + ": cannot replace with " + from + ": " + ec.message());
}

std::string staged(const std::string& path, std::int64_t sequence) { return path + ".commit" + std::to_string(sequence); }

CommittedFile describe(const std::string& path) { return {io::file_size(path), io::file_crc32(path)}; }

std::string new_run_id() {
  std::random_device rd;
  const std::uint64_t id = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(id));
  return text;
}

nlohmann::json to_json(const CommitRecord& r) {
  const auto file = [](const CommittedFile& f) { return nlohmann::json{{"size", f.size}, {"crc32", f.crc32}}; };
  return {{"sequence", r.sequence},       {"run_id", r.run_id},
          {"epoch", r.epoch},             {"step_in_epoch", r.step_in_epoch},
          {"global_step", r.global_step}, {"files", {{"last.safetensors", file(r.last)}, {"resume.pt", file(r.resume)}}}};
}

CommitRecord read_record(const std::string& path) {
  const auto j = parse_json(io::read_file(path), path);
  try {
    CommitRecord r;
    r.sequence = j.at("sequence").get<std::int64_t>();
    r.run_id = j.at("run_id").get<std::string>();
    r.epoch = j.at("epoch").get<std::int64_t>();
    r.step_in_epoch = j.at("step_in_epoch").get<std::int64_t>();
    r.global_step = j.at("global_step").get<std::int64_t>();
    const auto file = [&](const char* name) {
      const auto& f = j.at("files").at(name);
      return CommittedFile{f.at("size").get<std::uint64_t>(), f.at("crc32").get<std::uint32_t>()};
    };
    r.last = file("last.safetensors");
    r.resume = file("resume.pt");
    if (r.sequence < 1) throw Error("sequence " + std::to_string(r.sequence) + " is not positive");
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not a commit record of this version (" + e.what() + ")");
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

void check_file(const std::string& path, const CommittedFile& expected, const CommitRecord& r, const std::string& record_path) {
  if (!fs::exists(path))
    throw Error(path + ": missing, but " + record_path + " records commit " + std::to_string(r.sequence) + " (run " + r.run_id + ")");
  const auto found = describe(path);
  if (found.size != expected.size || found.crc32 != expected.crc32)
    throw Error(path + ": does not match commit " + std::to_string(r.sequence) + " of run " + r.run_id + " in " + record_path +
                " (size " + std::to_string(found.size) + ", CRC-32 " + std::to_string(found.crc32) + "; recorded " +
                std::to_string(expected.size) + ", " + std::to_string(expected.crc32) +
                "): corrupted, or copied in from another run or another moment. HINT: restore the run folder, or "
                "start the run again with another --out");
}

}  // namespace

void inject_commit_fault(int operation, int skip) {
  fault_skip = skip;
  fault_operation = operation;
}

CommitRecord commit_state(const RunDir& dir, const std::optional<CommitRecord>& previous, std::int64_t epoch,
                          std::int64_t step_in_epoch, std::int64_t global_step,
                          const std::function<void(const std::string& path)>& write_last,
                          const std::function<void(const std::string& path)>& write_resume) {
  CommitRecord r;
  r.sequence = previous ? previous->sequence + 1 : 1;
  r.run_id = previous ? previous->run_id : new_run_id();
  r.epoch = epoch;
  r.step_in_epoch = step_in_epoch;
  r.global_step = global_step;
  const std::string last = staged(dir.last(), r.sequence), resume = staged(dir.resume_state(), r.sequence);
  int done = 0;
  // 1. the staged files (each written atomically by its writer, and synced to the disk)
  write_last(last);
  operation_done(done);
  write_resume(resume);
  operation_done(done);
  r.last = describe(last);
  r.resume = describe(resume);
  // 2. the commit point
  const nlohmann::json record = to_json(r);
  io::write_file_atomically(dir.commit(), [&](std::ostream& out) { out << record.dump(1) << "\n"; });
  operation_done(done);
  // 3. into place
  move(last, dir.last());
  operation_done(done);
  move(resume, dir.resume_state());
  operation_done(done);
  io::sync_to_disk(dir.path());  // the renames
  commit_done();
  return r;
}

void verify_committed_checkpoint(const std::string& checkpoint) {
  const fs::path path(checkpoint);
  if (path.filename() != "last.safetensors") return;
  const RunDir dir(path.parent_path().string());
  if (!fs::exists(dir.commit())) return;
  const CommitRecord r = read_record(dir.commit());
  if (fs::exists(staged(dir.last(), r.sequence)))
    throw Error(checkpoint + ": the run is committing a new state (commit " + std::to_string(r.sequence) +
                " is half done); try again in a moment, or resume the run to complete it");
  check_file(checkpoint, r.last, r, dir.commit());
}

std::optional<CommitRecord> recover_state(const RunDir& dir) {
  std::optional<CommitRecord> r;
  if (fs::exists(dir.commit())) r = read_record(dir.commit());
  // staged files: those of the recorded commit are moved into place, any other is dropped
  if (fs::is_directory(dir.path()))
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      const std::string path = entry.path().string();
      for (const std::string& target : {dir.last(), dir.resume_state()}) {
        const std::string prefix = target + ".commit";
        if (path.rfind(prefix, 0) != 0) continue;
        if (r && path == staged(target, r->sequence)) {
          move(path, target);
          log::info(dir.path() + ": completed commit " + std::to_string(r->sequence) + " that an interruption left half done (" +
                    fs::path(target).filename().string() + ")");
        } else {
          fs::remove(path);
          log::info(dir.path() + ": dropped " + entry.path().filename().string() + " (a commit that did not finish)");
        }
      }
    }
  if (!r) return r;
  check_file(dir.last(), r->last, *r, dir.commit());
  check_file(dir.resume_state(), r->resume, *r, dir.commit());
  return r;
}

}  // namespace mmdg::train
