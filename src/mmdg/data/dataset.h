// Training / evaluation data: several benchmark lists (one per source domain) as one dataset,
// batch samplers (balanced over source domain x live/spoof, or plainly shuffled) and a loader
// that decodes batches on background threads, in a deterministic order.
#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mmdg/data/augment.h"
#include "mmdg/data/image.h"
#include "mmdg/data/list_file.h"

namespace mmdg::data {

struct Example {
  std::array<at::Tensor, 3> inputs;  // rgb, depth, ir: (3, S, S), normalized; zeros when missing
  std::array<bool, 3> present{true, true, true};
  int label = 0;   // 1 live
  int domain = 0;  // index of the source list
};

struct Batch {
  at::Tensor rgb, depth, ir;  // (B, 3, S, S)
  at::Tensor label;           // (B) int64
  at::Tensor domain;          // (B) int64
  at::Tensor present;         // (B, 3) bool
  std::vector<std::size_t> indices;
};

class MultiDomainDataset {
 public:
  // lists[d] is domain d. `missing` marks modalities absent from every sample (Protocol 2).
  // `cache` keeps decoded, resized images in memory (for small data).
  MultiDomainDataset(const std::vector<std::string>& lists, std::string data_root, std::int64_t image_size,
                     Normalization normalization, bool cache = false, std::array<bool, 3> missing = {false, false, false});

  std::size_t size() const { return entries_.size(); }
  int label(std::size_t i) const { return entries_.at(i).entry.label; }
  int domain(std::size_t i) const { return entries_.at(i).domain; }
  const std::vector<std::string>& domain_lists() const { return lists_; }
  const data::ListEntry& entry(std::size_t i) const { return entries_.at(i).entry; }

  // Checks that every listed file exists and stays inside the data root, before any is read (file
  // metadata only: seconds for the real benchmark's lists); an Error naming list, line and path of
  // the missing ones (the first 10, and a count).
  void check_files() const;

  // Example i; augmented (same draw for the three modalities) when `augment` is given.
  Example get(std::size_t i, const AugmentOptions* augment = nullptr, std::uint64_t seed = 0) const;

 private:
  struct Item {
    ListEntry entry;
    int domain;
  };
  std::array<at::Tensor, 3> resized(std::size_t i) const;

  std::vector<std::string> lists_;
  std::string root_;
  std::int64_t size_;
  Normalization normalization_;
  bool cache_;
  std::array<bool, 3> missing_;
  std::vector<Item> entries_;
  mutable std::mutex cache_mutex_;
  mutable std::map<std::size_t, std::array<at::Tensor, 3>> cached_;
};

// The batches (lists of example indices) of one epoch.
class BatchSampler {
 public:
  virtual ~BatchSampler() = default;
  virtual std::vector<std::vector<std::size_t>> epoch(std::uint64_t seed) const = 0;
};

// A shuffled pass over all examples (no shuffle: in order, for evaluation).
class ShuffledSampler : public BatchSampler {
 public:
  ShuffledSampler(std::size_t size, std::size_t batch_size, bool shuffle = true, bool drop_last = false);
  std::vector<std::vector<std::size_t>> epoch(std::uint64_t seed) const override;

 private:
  std::size_t size_, batch_size_;
  bool shuffle_, drop_last_;
};

// Every batch draws equally from each (source domain x live/spoof) group (the SSDG convention):
// small groups are re-sampled (reshuffled when exhausted) so small datasets are not drowned. An
// epoch has ceil(N / batch_size) batches.
class BalancedSampler : public BatchSampler {
 public:
  BalancedSampler(const MultiDomainDataset& dataset, std::size_t batch_size);
  std::vector<std::vector<std::size_t>> epoch(std::uint64_t seed) const override;
  std::size_t num_groups() const { return groups_.size(); }

 private:
  std::vector<std::vector<std::size_t>> groups_;
  std::size_t size_, batch_size_;
};

// Decodes batches on `workers` background threads (0: in the caller's thread), at most
// `prefetch` batches ahead, and hands them out in order. Worker errors are rethrown by next().
class DataLoader {
 public:
  // `first_batch` skips the epoch's first batches (resuming mid-epoch) while keeping each batch's
  // augmentation draws those of its position in the full epoch. `pin_memory` (for a CUDA run; needs
  // a LibTorch with CUDA) makes the workers hand out batches in page-locked memory, so that their
  // copies to the GPU can be non-blocking and overlap the computation. Workers run LibTorch's
  // operations single-threaded (use_one_intra_op_thread_here). `first_slot`: the batches are slices
  // of larger ones starting at this position (one process's share of a global batch), so each
  // sample's augmentation draws are those of its slot in the global batch.
  DataLoader(const MultiDomainDataset& dataset, std::vector<std::vector<std::size_t>> batches, int workers,
             std::optional<AugmentOptions> augment = std::nullopt, std::uint64_t seed = 0, int prefetch = 4,
             std::size_t first_batch = 0, bool pin_memory = false, std::size_t first_slot = 0);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  std::size_t num_batches() const { return batches_.size(); }
  // The next batch, or nullopt at the end of the epoch.
  std::optional<Batch> next();

 private:
  Batch make_batch(std::size_t b) const;
  void work();

  const MultiDomainDataset& dataset_;
  std::vector<std::vector<std::size_t>> batches_;
  std::optional<AugmentOptions> augment_;
  std::uint64_t seed_;
  bool pin_memory_;
  std::size_t first_slot_;
  std::size_t prefetch_;
  std::size_t next_to_make_ = 0, next_to_give_ = 0;
  bool stop_ = false;
  std::map<std::size_t, std::exception_ptr> errors_;  // per batch: what making it threw
  std::map<std::size_t, Batch> ready_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

}  // namespace mmdg::data
