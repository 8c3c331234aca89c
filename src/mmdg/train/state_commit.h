// The resumable state of a run is two files, last.safetensors (weights) and resume.pt (counters,
// optimizer, RNG, strategy state), committed together so that a kill at any moment leaves either
// the previous pair or the new one, never a mix:
//   1. both are written under staged names (last.safetensors.commit<N>, resume.pt.commit<N>);
//   2. commit.json is replaced atomically: the commit point, naming commit N, the run's identity,
//      its position (epoch, step, global step) and each file's size and CRC-32;
//   3. the staged files are renamed into place.
// On resume, recover_state() completes a commit that passed its commit point, drops staged files
// of one that did not, and checks both files against the record: a bit flip, a truncated file or a
// file copied in from another run or another moment is an Error naming it.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "mmdg/train/run_dir.h"

namespace mmdg::train {

struct CommittedFile {
  std::uint64_t size = 0;
  std::uint32_t crc32 = 0;
};

struct CommitRecord {
  std::int64_t sequence = 0;  // 1 for the run's first commit
  std::string run_id;         // random, fixed at the first commit
  std::int64_t epoch = 0, step_in_epoch = 0, global_step = 0;
  CommittedFile last, resume;
};

// Commits the state (steps 1-3 above). `previous` is the run's last commit (none: a new run gets a
// new run id); `write_last(path)` and `write_resume(path)` write the two files at the staged paths
// given. Returns the new record.
CommitRecord commit_state(const RunDir& dir, const std::optional<CommitRecord>& previous, std::int64_t epoch,
                          std::int64_t step_in_epoch, std::int64_t global_step,
                          const std::function<void(const std::string& path)>& write_last,
                          const std::function<void(const std::string& path)>& write_resume);

// Completes or rolls back an interrupted commit and verifies the files (above). Returns the record;
// none when the run has no commit.json (nothing committed yet, or a run of an older version: then
// the files are used unchecked).
std::optional<CommitRecord> recover_state(const RunDir& dir);

// Checks a checkpoint that is a run's committed weights (RUN/last.safetensors beside RUN/commit.json)
// against the record, reading only: a flipped bit or a file from another run or moment is an Error
// naming it (so `mmdg eval` / `predict` do not score it silently). A commit in progress is an Error
// saying so; any other file passes unchecked.
void verify_committed_checkpoint(const std::string& checkpoint);

// A testing aid: after `skip` more commits, the next one throws CommitFault once it has done
// `operation` of its five file operations (1: staged weights written, 2: staged state written,
// 3: commit.json replaced, 4: weights renamed into place, 5: state renamed), as a kill there would
// stop it. Fires once; operation 0 turns it off.
struct CommitFault : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void inject_commit_fault(int operation, int skip = 0);

}  // namespace mmdg::train
