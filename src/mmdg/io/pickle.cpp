#include "mmdg/io/pickle.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include "mmdg/io/dtype.h"
#include "mmdg/util/error.h"

namespace mmdg::io::pickle {
namespace {

// Bounds on a pickle's working memory (a state dict's pickle stays far below both).
constexpr std::size_t kMaxOpenMarks = 10000;
constexpr std::size_t kMaxStack = 1000000;

// Opcodes of the pickle protocols 0-5 that a state dict uses.
enum Op : unsigned char {
  MARK = '(', STOP = '.', BININT = 'J', BININT1 = 'K', BININT2 = 'M', NONE = 'N',
  BINPERSID = 'Q', REDUCE = 'R', BINSTRING = 'T', SHORT_BINSTRING = 'U', BINUNICODE = 'X',
  APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e',
  BINGET = 'h', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', BINPUT = 'q', LONG_BINPUT = 'r',
  SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
  BINBYTES = 'B', SHORT_BINBYTES = 'C',
  PROTO = 0x80, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89,
  LONG1 = 0x8a, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e,
  STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
};

const std::set<std::string>& allowed_functions() {
  static const std::set<std::string> names = {
      "collections.OrderedDict",
      "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state",
  };
  return names;
}

ValuePtr make(Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

// Moves a value's children out (its containers become empty).
void take_children(Value& v, std::vector<ValuePtr>& into) {
  for (auto& item : v.items) into.push_back(std::move(item));
  for (auto& [key, value] : v.entries) {
    into.push_back(std::move(key));
    into.push_back(std::move(value));
  }
  v.items.clear();
  v.entries.clear();
}

class Unpickler {
 public:
  Unpickler(const std::string& bytes, const StorageLoader& load, const std::string& context)
      : data_(bytes), load_(load), context_(context) {}

  // Every value built that is not part of the returned result loses its children: this breaks
  // the reference cycles a hostile pickle can build through the memo (which would otherwise
  // never be freed).
  ~Unpickler() {
    std::vector<ValuePtr> work(stack_.begin(), stack_.end());
    for (auto& [key, value] : memo_) work.push_back(value);
    std::set<const Value*> seen;
    while (!work.empty()) {
      ValuePtr v = std::move(work.back());
      work.pop_back();
      if (!v || height_.count(v.get()) || !seen.insert(v.get()).second) continue;
      take_children(*v, work);
    }
  }

  ValuePtr run() {
    while (true) {
      if (pos_ >= data_.size()) fail("unexpected end of pickle data (truncated file?)");
      const std::size_t op_pos = pos_;
      const auto op = static_cast<unsigned char>(data_[pos_++]);
      switch (op) {
        case PROTO: {
          const auto version = read_uint(1);
          if (version > 5) fail("unsupported pickle protocol " + std::to_string(version));
          break;
        }
        case FRAME: read_uint(8); break;
        case STOP: {
          if (stack_.size() != 1 || !marks_.empty()) fail("malformed pickle: stack not balanced at STOP");
          check_tree(stack_.back());
          return stack_.back();
        }
        case MARK:
          // a state dict's pickle keeps a few MARKs open (its nesting depth): a long run of them is
          // a memory bomb (8 bytes each), as is a stack of a million values
          if (marks_.size() >= kMaxOpenMarks) fail("malformed pickle: more than " + std::to_string(kMaxOpenMarks) + " open MARKs");
          marks_.push_back(stack_.size());
          break;
        case NONE: push(make(Kind::None)); break;
        case NEWTRUE: case NEWFALSE: {
          auto v = make(Kind::Bool);
          v->boolean = op == NEWTRUE;
          push(v);
          break;
        }
        case BININT: push_int(static_cast<std::int32_t>(read_uint(4))); break;
        case BININT1: push_int(static_cast<std::int64_t>(read_uint(1))); break;
        case BININT2: push_int(static_cast<std::int64_t>(read_uint(2))); break;
        case LONG1: {
          const auto n = read_uint(1);
          if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit in 64 bits");
          std::uint64_t u = n ? read_uint(n) : 0;
          if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1u) u |= ~std::uint64_t{0} << (8 * n);  // sign-extend
          push_int(static_cast<std::int64_t>(u));
          break;
        }
        case BINFLOAT: {
          std::uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(take(1)[0]);
          auto v = make(Kind::Float);
          std::memcpy(&v->real, &bits, sizeof bits);
          push(v);
          break;
        }
        case SHORT_BINUNICODE: push_text(Kind::String, read_uint(1)); break;
        case BINUNICODE: push_text(Kind::String, read_uint(4)); break;
        case BINUNICODE8: push_text(Kind::String, read_uint(8)); break;
        case SHORT_BINSTRING: push_text(Kind::String, read_uint(1)); break;
        case BINSTRING: {
          const auto n = static_cast<std::int32_t>(read_uint(4));
          if (n < 0) fail("negative string length");
          push_text(Kind::String, static_cast<std::uint64_t>(n));
          break;
        }
        case SHORT_BINBYTES: push_text(Kind::Bytes, read_uint(1)); break;
        case BINBYTES: push_text(Kind::Bytes, read_uint(4)); break;
        case BINBYTES8: push_text(Kind::Bytes, read_uint(8)); break;
        case EMPTY_TUPLE: push(make(Kind::Tuple)); break;
        case EMPTY_LIST: push(make(Kind::List)); break;
        case EMPTY_DICT: push(make(Kind::Dict)); break;
        case TUPLE: case LIST: {
          auto v = make(op == TUPLE ? Kind::Tuple : Kind::List);
          v->items = pop_to_mark();
          push(v);
          break;
        }
        case DICT: {
          auto v = make(Kind::Dict);
          set_items(v, pop_to_mark());
          push(v);
          break;
        }
        case TUPLE1: case TUPLE2: case TUPLE3: {
          const std::size_t n = op - TUPLE1 + 1;
          auto v = make(Kind::Tuple);
          v->items.resize(n);
          for (std::size_t i = n; i-- > 0;) v->items[i] = pop();
          push(v);
          break;
        }
        case BINPUT: memo_[read_uint(1)] = top(); break;
        case LONG_BINPUT: memo_[read_uint(4)] = top(); break;
        case MEMOIZE: {
          const auto key = memo_.size();
          memo_[key] = top();
          break;
        }
        case BINGET: push(memo_get(read_uint(1))); break;
        case LONG_BINGET: push(memo_get(read_uint(4))); break;
        case APPEND: {
          auto item = pop();
          expect(top(), Kind::List, "APPEND target")->items.push_back(item);
          break;
        }
        case APPENDS: {
          auto items = pop_to_mark();
          auto list = expect(top(), Kind::List, "APPENDS target");
          list->items.insert(list->items.end(), items.begin(), items.end());
          break;
        }
        case SETITEM: {
          auto value = pop();
          auto key = pop();
          set_items(expect(top(), Kind::Dict, "SETITEM target"), {key, value});
          break;
        }
        case SETITEMS: {
          auto items = pop_to_mark();
          set_items(expect(top(), Kind::Dict, "SETITEMS target"), items);
          break;
        }
        case GLOBAL: {
          const std::string module = read_line();
          const std::string name = read_line();
          push(global(module, name));
          break;
        }
        case STACK_GLOBAL: {
          auto name = expect(pop(), Kind::String, "STACK_GLOBAL name");
          auto module = expect(pop(), Kind::String, "STACK_GLOBAL module");
          push(global(module->text, name->text));
          break;
        }
        case REDUCE: {
          auto args = expect(pop(), Kind::Tuple, "REDUCE arguments");
          auto callable = pop();
          push(call(callable, args->items));
          break;
        }
        case BUILD: {
          pop();  // state: OrderedDict `_metadata` or a parameter's state; not needed
          const auto target = top()->kind;
          if (target != Kind::Dict && target != Kind::Tensor)
            fail(std::string("BUILD on a ") + kind_name(target) + " is not part of a state dict");
          break;
        }
        case BINPERSID: push(persistent_load(pop())); break;
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(std::string("unsupported pickle opcode ") + hex + " at byte " +
               std::to_string(op_pos) + " (not part of a plain state dict)");
        }
      }
    }
  }

 private:
  // The result must be acyclic and at most kMaxNesting deep (the longest path, shared values
  // counted on every path): an iterative post-order walk that refuses a container reached again
  // on its own path (a cycle) and computes each value's height once.
  void check_tree(const ValuePtr& root) {
    struct Frame {
      const Value* value;
      std::size_t next;  // index of the next child to visit
      int height;        // 1 + the highest child finished so far
    };
    const auto child = [](const Value* v, std::size_t i) -> const Value* {
      if (i < v->items.size()) return v->items[i].get();
      i -= v->items.size();
      if (i < 2 * v->entries.size()) return (i % 2 ? v->entries[i / 2].second : v->entries[i / 2].first).get();
      return nullptr;
    };
    const auto too_deep = [&](int height) {
      if (height > kMaxNesting)
        fail("malformed pickle: containers nested deeper than " + std::to_string(kMaxNesting) + " levels (not a state dict)");
    };
    std::set<const Value*> on_path{root.get()};
    std::vector<Frame> path{{root.get(), 0, 1}};
    while (!path.empty()) {
      const Value* next = child(path.back().value, path.back().next++);
      if (!next) {  // finished: record the height, hand it to the parent
        const Frame done = path.back();
        path.pop_back();
        on_path.erase(done.value);
        height_[done.value] = done.height;
        if (!path.empty()) too_deep(path.back().height = std::max(path.back().height, done.height + 1));
        continue;
      }
      if (on_path.count(next)) fail("malformed pickle: a container contains itself (not a state dict)");
      const auto known = height_.find(next);
      if (known != height_.end()) {  // shared, already measured
        too_deep(path.back().height = std::max(path.back().height, known->second + 1));
        continue;
      }
      too_deep(static_cast<int>(path.size()) + 1);
      on_path.insert(next);
      path.push_back({next, 0, 1});
    }
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw Error(context_ + ": " + message);
  }

  const char* take(std::uint64_t n) {
    if (n > data_.size() - pos_) fail("unexpected end of pickle data (truncated file?)");
    const char* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::uint64_t read_uint(unsigned n) {  // little-endian
    const char* p = take(n);
    std::uint64_t u = 0;
    for (unsigned i = 0; i < n; ++i) u |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
    return u;
  }
  std::string read_line() {
    const auto end = data_.find('\n', pos_);
    if (end == std::string::npos) fail("unterminated GLOBAL name");
    std::string line = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }

  void push(ValuePtr v) {
    if (stack_.size() >= kMaxStack) fail("malformed pickle: more than " + std::to_string(kMaxStack) + " values on the stack");
    stack_.push_back(std::move(v));
  }
  void push_int(std::int64_t i) {
    auto v = make(Kind::Int);
    v->integer = i;
    push(v);
  }
  void push_text(Kind kind, std::uint64_t n) {
    auto v = make(kind);
    const char* p = take(n);
    v->text.assign(p, n);
    push(v);
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  ValuePtr pop() {
    if (stack_.size() <= floor()) fail("malformed pickle: pop from an empty stack");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr top() const {
    if (stack_.size() <= floor()) fail("malformed pickle: empty stack");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) fail("malformed pickle: no MARK");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  ValuePtr memo_get(std::uint64_t key) const {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("malformed pickle: memo key " + std::to_string(key) + " unset");
    return it->second;
  }
  ValuePtr expect(const ValuePtr& v, Kind kind, const char* what) const {
    if (v->kind != kind)
      fail(std::string("malformed pickle: ") + what + " is a " + kind_name(v->kind) + ", expected a " +
           kind_name(kind));
    return v;
  }
  void set_items(const ValuePtr& dict, const std::vector<ValuePtr>& flat) {
    if (flat.size() % 2) fail("malformed pickle: odd number of dict items");
    for (std::size_t i = 0; i < flat.size(); i += 2) {
      const auto& key = flat[i];
      if (key->kind != Kind::String && key->kind != Kind::Int)
        fail(std::string("dict key of type ") + kind_name(key->kind) + " is not supported");
      bool replaced = false;
      for (auto& entry : dict->entries) {
        if (entry.first->kind == key->kind && entry.first->text == key->text &&
            entry.first->integer == key->integer) {
          entry.second = flat[i + 1];
          replaced = true;
          break;
        }
      }
      if (!replaced) dict->entries.emplace_back(key, flat[i + 1]);
    }
  }

  ValuePtr global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (module == "torch") {  // a storage class, e.g. torch.FloatStorage: any in the dtype table
      if (const DtypeInfo* row = find_dtype_by_storage_class(name)) {
        auto v = make(Kind::StorageType);
        v->text = full;
        v->dtype = row->type;
        return v;
      }
    }
    if (!allowed_functions().count(full))
      fail("refusing to load: the pickle references '" + full +
           "', which is not part of a state dict (only tensors, numbers, strings and containers "
           "are accepted; loading a weights file never runs code). HINT: save the weights with "
           "torch.save(model.state_dict(), path)");
    auto v = make(Kind::Global);
    v->text = full;
    return v;
  }

  ValuePtr call(const ValuePtr& callable, const std::vector<ValuePtr>& args) {
    if (callable->kind != Kind::Global)
      fail(std::string("malformed pickle: REDUCE on a ") + kind_name(callable->kind));
    const std::string& fn = callable->text;
    if (fn == "collections.OrderedDict") {
      auto dict = make(Kind::Dict);
      if (args.size() == 1 && (args[0]->kind == Kind::List || args[0]->kind == Kind::Tuple)) {
        for (const auto& pair : args[0]->items) {
          if (pair->kind != Kind::Tuple || pair->items.size() != 2) fail("malformed OrderedDict items");
          set_items(dict, pair->items);
        }
      } else if (!args.empty()) {
        fail("unsupported OrderedDict arguments");
      }
      return dict;
    }
    if (fn == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args);
    // _rebuild_parameter(data, requires_grad, backward_hooks[, state])
    if (args.empty() || args[0]->kind != Kind::Tensor) fail(fn + ": expected a tensor argument");
    return args[0];
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args) {
    if (args.size() < 4) fail("_rebuild_tensor_v2: expected at least 4 arguments");
    const auto& storage = expect(args[0], Kind::Storage, "tensor storage");
    const std::int64_t offset = expect(args[1], Kind::Int, "storage offset")->integer;
    const auto& size = expect(args[2], Kind::Tuple, "tensor size")->items;
    const auto& stride = expect(args[3], Kind::Tuple, "tensor stride")->items;
    if (size.size() != stride.size()) fail("tensor size and stride have different lengths");
    std::vector<std::int64_t> sizes, strides;
    __int128 last = offset;  // index of the last element reached
    __int128 nonzero = 1;    // the product of the sizes other than 0 (LibTorch refuses an overflow)
    bool empty = false;
    for (std::size_t d = 0; d < size.size(); ++d) {
      const std::int64_t n = expect(size[d], Kind::Int, "tensor size entry")->integer;
      const std::int64_t s = expect(stride[d], Kind::Int, "tensor stride entry")->integer;
      if (n < 0 || s < 0) fail("negative tensor size or stride");
      // bounded on their own: after a size 0 nothing else bounds them (LibTorch refuses sizes
      // above 2^62 with its own error), and the sum below stays far inside 128 bits
      if (n > (std::int64_t{1} << 40) || s > (std::int64_t{1} << 40))
        fail("tensor size or stride entry " + std::to_string(std::max(n, s)) + " out of range");
      sizes.push_back(n);
      strides.push_back(s);
      if (n == 0) empty = true;
      else last += static_cast<__int128>(n - 1) * s;
      nonzero *= std::max<std::int64_t>(n, 1);
      if (nonzero > (static_cast<__int128>(1) << 40)) fail("tensor size " + c10::str(c10::IntArrayRef(sizes)) + "... too large");
    }
    const std::int64_t numel = storage->tensor.numel();
    if (offset < 0 || (!empty && last >= numel) || (empty && offset > numel))
      fail("tensor of size " + c10::str(c10::IntArrayRef(sizes)) + ", stride " + c10::str(c10::IntArrayRef(strides)) + ", offset " +
           std::to_string(offset) + " reaches outside its storage of " + std::to_string(numel) +
           " elements (corrupt file?)");
    auto v = make(Kind::Tensor);
    v->tensor = storage->tensor.as_strided(sizes, strides, offset);
    return v;
  }

  // persistent id: ('storage', storage_type, key, location, numel)
  ValuePtr persistent_load(const ValuePtr& pid) {
    const auto& t = expect(pid, Kind::Tuple, "persistent id")->items;
    if (t.size() != 5 || t[0]->kind != Kind::String || t[0]->text != "storage")
      fail("unsupported persistent id (expected ('storage', type, key, location, numel))");
    const auto& type = expect(t[1], Kind::StorageType, "storage type");
    const std::string key = expect(t[2], Kind::String, "storage key")->text;
    const std::int64_t numel = expect(t[4], Kind::Int, "storage size")->integer;
    if (numel < 0) fail("negative storage size");
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      auto v = make(Kind::Storage);
      v->dtype = type->dtype;
      v->tensor = load_(key, type->dtype, numel);
      if (v->tensor.numel() != numel || v->tensor.scalar_type() != type->dtype)
        fail("storage '" + key + "' was loaded with the wrong size or dtype");
      it = storages_.emplace(key, v).first;
    } else if (it->second->dtype != type->dtype || it->second->tensor.numel() != numel) {
      fail("storage '" + key + "' is referenced with two different dtypes or sizes");
    }
    return it->second;
  }

  const std::string& data_;
  const StorageLoader& load_;
  const std::string& context_;
  std::size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, ValuePtr> memo_;
  std::map<std::string, ValuePtr> storages_;
  std::unordered_map<const Value*, int> height_;  // the returned value's nodes (kept intact) and their heights
};

}  // namespace

Value::~Value() {
  std::vector<ValuePtr> pending;
  take_children(*this, pending);
  while (!pending.empty()) {
    ValuePtr v = std::move(pending.back());
    pending.pop_back();
    // the last owner: empty it first, so its destruction at the end of this iteration is flat
    if (v && v.use_count() == 1) take_children(*v, pending);
  }
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::StorageType: return "storage type";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

ValuePtr unpickle(const std::string& bytes, const StorageLoader& load_storage,
                  const std::string& context) {
  return Unpickler(bytes, load_storage, context).run();
}

}  // namespace mmdg::io::pickle
