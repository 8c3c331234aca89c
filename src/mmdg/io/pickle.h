// A restricted unpickler for the pickles inside torch.save checkpoints (data.pkl).
//
// It understands only what a state dict needs: None, bools, ints, floats, strings, bytes, tuples,
// lists, dicts, collections.OrderedDict (with its `_metadata`), storages (persistent ids) and the
// tensor rebuild functions torch._utils._rebuild_tensor_v2 / _rebuild_parameter. Any other global
// (e.g. os.system) or opcode is refused with an mmdg::Error: loading a weights file never runs
// code. Every read is bounds-checked, so corrupt input is an error, never a crash: the result is
// checked to be a tree (no container holding itself, through the memo) nested at most
// kMaxNesting levels deep, and every value built is freed without recursion.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mmdg::io::pickle {

enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, StorageType, Storage, Tensor };
const char* kind_name(Kind kind);

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  // Releases nested containers iteratively: a hostile pickle nesting 10^6 tuples frees without
  // a recursion as deep as the nesting.
  ~Value();

  Kind kind = Kind::None;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0.0;
  std::string text;                                  // String, Bytes; Global: "module.name"
  std::vector<ValuePtr> items;                       // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict, in insertion order
  at::Tensor tensor;                                 // Storage (flat, 1-D), Tensor
  c10::ScalarType dtype = c10::ScalarType::Undefined;  // StorageType, Storage
};

// Loads the storage with the given archive key, dtype and element count. Returns a 1-D tensor
// holding `numel` elements. Called once per distinct key (shared storages are loaded once).
using StorageLoader =
    std::function<at::Tensor(const std::string& key, c10::ScalarType dtype, std::int64_t numel)>;

constexpr int kMaxNesting = 100;  // a state dict nests about 4 levels

// Runs the restricted unpickler over `bytes`. `context` (a file name) prefixes error messages.
ValuePtr unpickle(const std::string& bytes, const StorageLoader& load_storage,
                  const std::string& context);

}  // namespace mmdg::io::pickle
