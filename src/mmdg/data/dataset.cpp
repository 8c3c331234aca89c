#include "mmdg/data/dataset.h"

#include <system_error>

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "mmdg/data/sample.h"
#include "mmdg/util/error.h"
#include "mmdg/util/runtime.h"

namespace mmdg::data {

MultiDomainDataset::MultiDomainDataset(const std::vector<std::string>& lists, std::string data_root,
                                       std::int64_t image_size, Normalization normalization, bool cache,
                                       std::array<bool, 3> missing)
    : lists_(lists), root_(std::move(data_root)), size_(image_size), normalization_(normalization), cache_(cache),
      missing_(missing) {
  if (lists.empty()) throw Error("dataset: give at least one list file");
  if (missing[0]) throw Error("dataset: RGB cannot be missing (Protocol 2 drops depth and/or IR)");
  for (std::size_t d = 0; d < lists.size(); ++d)
    for (const auto& e : read_list(lists[d]).entries) entries_.push_back({e, static_cast<int>(d)});
}

void MultiDomainDataset::check_files() const {
  std::vector<std::string> missing;
  for (std::size_t d = 0; d < lists_.size(); ++d) {
    std::vector<ListEntry> of_list;
    for (const auto& item : entries_)
      if (item.domain == static_cast<int>(d)) of_list.push_back(item.entry);
    for (auto& m : missing_files(of_list, lists_[d], root_)) missing.push_back(std::move(m));
  }
  if (missing.empty()) return;
  std::string text;
  for (const auto& m : missing) text += "\n  " + m;
  throw Error("listed files not found (checked before reading any; is --data-root right?):" + text);
}

std::array<at::Tensor, 3> MultiDomainDataset::resized(std::size_t i) const {
  if (cache_) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cached_.find(i);
    if (it != cached_.end()) return it->second;
  }
  const Item& item = entries_.at(i);
  auto images = load_raw_images(item.entry, lists_[static_cast<std::size_t>(item.domain)], root_);
  for (auto& x : images) x = resize_image(x, size_).contiguous();
  if (cache_) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    cached_.emplace(i, images);
  }
  return images;
}

Example MultiDomainDataset::get(std::size_t i, const AugmentOptions* augment_options, std::uint64_t seed) const {
  Example ex;
  ex.label = label(i);
  ex.domain = domain(i);
  auto images = resized(i);
  if (augment_options) augment(images, *augment_options, seed);
  for (int m = 0; m < 3; ++m) {
    ex.present[m] = !missing_[m];
    ex.inputs[m] = missing_[m] ? torch::zeros({3, size_, size_}) : normalize(images[m], normalization_);
  }
  return ex;
}

// ---- samplers -------------------------------------------------------------------------------------

ShuffledSampler::ShuffledSampler(std::size_t size, std::size_t batch_size, bool shuffle, bool drop_last)
    : size_(size), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last) {
  if (batch_size == 0) throw UsageError("option batch_size: must be positive");
}

std::vector<std::vector<std::size_t>> ShuffledSampler::epoch(std::uint64_t seed) const {
  std::vector<std::size_t> order(size_);
  std::iota(order.begin(), order.end(), 0);
  if (shuffle_) {
    std::mt19937_64 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
  }
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t start = 0; start < size_; start += batch_size_) {
    const std::size_t end = std::min(size_, start + batch_size_);
    if (drop_last_ && end - start < batch_size_) break;
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

BalancedSampler::BalancedSampler(const MultiDomainDataset& dataset, std::size_t batch_size)
    : size_(dataset.size()), batch_size_(batch_size) {
  if (batch_size == 0) throw UsageError("option batch_size: must be positive");
  std::map<std::pair<int, int>, std::vector<std::size_t>> by_group;
  for (std::size_t i = 0; i < dataset.size(); ++i) by_group[{dataset.domain(i), dataset.label(i)}].push_back(i);
  for (auto& [key, members] : by_group) groups_.push_back(std::move(members));
  if (batch_size < groups_.size())
    throw UsageError("option batch_size: " + std::to_string(batch_size) + " is smaller than the " +
                std::to_string(groups_.size()) + " (domain x live/spoof) groups a balanced batch draws from");
}

std::vector<std::vector<std::size_t>> BalancedSampler::epoch(std::uint64_t seed) const {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::size_t>> queues(groups_.size());
  std::vector<std::size_t> cursor(groups_.size(), 0);
  const auto draw = [&](std::size_t g) {
    if (cursor[g] == queues[g].size()) {  // exhausted: a fresh shuffled pass over the group
      queues[g] = groups_[g];
      std::shuffle(queues[g].begin(), queues[g].end(), rng);
      cursor[g] = 0;
    }
    return queues[g][cursor[g]++];
  };
  const std::size_t num_batches = (size_ + batch_size_ - 1) / batch_size_;
  std::vector<std::vector<std::size_t>> batches(num_batches);
  std::size_t rotate = 0;  // which groups get the remainder slots, in turn
  for (auto& batch : batches) {
    const std::size_t G = groups_.size(), per = batch_size_ / G, extra = batch_size_ % G;
    for (std::size_t g = 0; g < G; ++g) {
      const std::size_t count = per + (((g + G - rotate % G) % G) < extra ? 1 : 0);
      for (std::size_t k = 0; k < count; ++k) batch.push_back(draw(g));
    }
    rotate += extra;
    std::shuffle(batch.begin(), batch.end(), rng);
  }
  return batches;
}

// ---- loader -------------------------------------------------------------------------------------

DataLoader::DataLoader(const MultiDomainDataset& dataset, std::vector<std::vector<std::size_t>> batches, int workers,
                       std::optional<AugmentOptions> augment, std::uint64_t seed, int prefetch, std::size_t first_batch,
                       bool pin_memory, std::size_t first_slot)
    : dataset_(dataset), batches_(std::move(batches)), augment_(augment), seed_(seed), pin_memory_(pin_memory),
      first_slot_(first_slot),
      prefetch_(static_cast<std::size_t>(std::max(1, prefetch))), next_to_make_(first_batch), next_to_give_(first_batch) {
  try {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
  } catch (const std::system_error& e) {  // no thread could be started: stop the ones running, then say so
    const std::size_t started = threads_.size();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    throw Error("data loader: cannot start worker thread " + std::to_string(started + 1) + " of " + std::to_string(workers) +
                " (" + e.what() + "). HINT: lower --workers, or raise the process / memory limits (ulimit -u, -v)");
  }
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Batch DataLoader::make_batch(std::size_t b) const {
  const auto& indices = batches_[b];
  std::array<std::vector<at::Tensor>, 3> inputs;
  std::vector<std::int64_t> labels, domains;
  std::vector<std::uint8_t> present;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    // a per-(epoch seed, batch, slot) augmentation seed: results do not depend on thread timing
    const std::uint64_t seed = seed_ * 1000003ull + b * 4099ull + first_slot_ + k;
    const Example ex = dataset_.get(indices[k], augment_ ? &*augment_ : nullptr, seed);
    for (int m = 0; m < 3; ++m) {
      inputs[m].push_back(ex.inputs[m]);
      present.push_back(ex.present[m]);
    }
    labels.push_back(ex.label);
    domains.push_back(ex.domain);
  }
  Batch batch;
  batch.rgb = torch::stack(inputs[0]);
  batch.depth = torch::stack(inputs[1]);
  batch.ir = torch::stack(inputs[2]);
  batch.label = torch::tensor(labels, torch::kLong);
  batch.domain = torch::tensor(domains, torch::kLong);
  batch.present = torch::tensor(std::vector<std::int64_t>(present.begin(), present.end()), torch::kLong)
                      .view({static_cast<std::int64_t>(indices.size()), 3})
                      .to(torch::kBool);
  batch.indices = indices;
  if (pin_memory_) {  // page-locked: the copy to the GPU runs asynchronously (non_blocking)
    for (auto* t : {&batch.rgb, &batch.depth, &batch.ir, &batch.label, &batch.domain}) *t = t->pin_memory();
  }
  return batch;
}

void DataLoader::work() {
  use_one_intra_op_thread_here();  // W workers x the full intra-op team would oversubscribe the cores
  while (true) {
    std::size_t b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || (next_to_make_ < batches_.size() && next_to_make_ < next_to_give_ + prefetch_); });
      if (stop_) return;
      b = next_to_make_++;
    }
    try {
      Batch batch = make_batch(b);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(b, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      errors_.emplace(b, std::current_exception());  // raised when batch b is due, so in batch order
    }
    cv_.notify_all();
  }
}

std::optional<Batch> DataLoader::next() {
  if (next_to_give_ >= batches_.size()) return std::nullopt;
  if (threads_.empty()) return make_batch(next_to_give_++);
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return errors_.count(next_to_give_) > 0 || ready_.count(next_to_give_) > 0; });
  if (const auto failed = errors_.find(next_to_give_); failed != errors_.end()) std::rethrow_exception(failed->second);
  Batch batch = std::move(ready_.at(next_to_give_));
  ready_.erase(next_to_give_);
  ++next_to_give_;
  lock.unlock();
  cv_.notify_all();
  return batch;
}

}  // namespace mmdg::data
