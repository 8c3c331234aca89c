#include "mmdg/io/pickle.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "mmdg/io/zip_archive.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::io::pickle {
namespace {

// A loader that hands out zero storages (refusing absurd sizes, as a real archive would).
at::Tensor zeros_loader(const std::string&, c10::ScalarType dtype, std::int64_t numel) {
  if (numel > (1 << 20)) throw Error("storage too large");
  return torch::zeros({numel}, torch::TensorOptions().dtype(dtype));
}

// Builds protocol-2 pickles opcode by opcode.
struct PickleWriter {
  std::string bytes = "\x80\x02";
  PickleWriter& op(char c) { bytes += c; return *this; }
  PickleWriter& op(unsigned char c) { bytes += static_cast<char>(c); return *this; }
  PickleWriter& str(const std::string& s) {
    bytes += 'X';
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>((s.size() >> (8 * i)) & 0xff);
    bytes += s;
    return *this;
  }
  PickleWriter& int1(unsigned char v) { bytes += 'K'; bytes += static_cast<char>(v); return *this; }
  PickleWriter& global(const std::string& module, const std::string& name) {
    bytes += 'c' + module + "\n" + name + "\n";
    return *this;
  }
  // _rebuild_tensor_v2(storage('0', FloatStorage, numel), offset, (size,), (1,), False, OrderedDict())
  PickleWriter& tensor(unsigned char numel, unsigned char offset, unsigned char size) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").int1(numel).op('t').op('Q');
    int1(offset).int1(size).op(static_cast<unsigned char>(0x85)).int1(1).op(static_cast<unsigned char>(0x85));
    op(static_cast<unsigned char>(0x89)).global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
  std::string done() { return bytes + "."; }
};

ValuePtr run(const std::string& bytes) { return unpickle(bytes, zeros_loader, "test.pkl"); }

TEST(Pickle, ScalarsStringsAndContainers) {
  // {'a': 5, 'b': -3, 'c': [2.5, True, None], 'd': (70000,)} through memo puts and gets
  PickleWriter w;
  w.op('}').op('q').op('\0').op('(');
  w.str("a").int1(5);
  w.str("b").op(static_cast<unsigned char>(0x8a)).op('\x01').op(static_cast<unsigned char>(0xfd));
  w.str("c").op(']').op('(').op('G');
  const unsigned char two_and_half[8] = {0x40, 0x04, 0, 0, 0, 0, 0, 0};  // 2.5, big-endian IEEE
  for (unsigned char c : two_and_half) w.op(c);
  w.op(static_cast<unsigned char>(0x88)).op('N').op('e');
  w.str("d").op('J').op('\x70').op('\x11').op('\x01').op('\0').op(static_cast<unsigned char>(0x85));
  w.op('u');
  const auto v = run(w.done());
  ASSERT_EQ(v->kind, Kind::Dict);
  ASSERT_EQ(v->entries.size(), 4u);
  EXPECT_EQ(v->entries[0].first->text, "a");
  EXPECT_EQ(v->entries[0].second->integer, 5);
  EXPECT_EQ(v->entries[1].second->integer, -3);
  const auto& list = v->entries[2].second;
  ASSERT_EQ(list->kind, Kind::List);
  ASSERT_EQ(list->items.size(), 3u);
  EXPECT_EQ(list->items[0]->real, 2.5);
  EXPECT_TRUE(list->items[1]->boolean);
  EXPECT_EQ(list->items[2]->kind, Kind::None);
  EXPECT_EQ(v->entries[3].second->items[0]->integer, 70000);
}

TEST(Pickle, RebuildsTensorsFromStorages) {
  PickleWriter w;
  const auto v = run(w.tensor(/*numel=*/6, /*offset=*/2, /*size=*/4).done());
  ASSERT_EQ(v->kind, Kind::Tensor);
  EXPECT_EQ(v->tensor.sizes().vec(), std::vector<std::int64_t>{4});
  EXPECT_EQ(v->tensor.storage_offset(), 2);
}

TEST(Pickle, TensorOutsideItsStorageIsRefused) {
  PickleWriter w;
  EXPECT_MMDG_ERROR(run(w.tensor(/*numel=*/4, /*offset=*/2, /*size=*/5).done()), "outside its storage");
}

// Found by fuzzing: an empty tensor (a size 0) with another size of 2^62 passed the storage bound
// and reached LibTorch's own error.
TEST(Pickle, HugeSizeBesideAZeroIsRefused) {
  using B = unsigned char;
  PickleWriter w;
  w.global("torch._utils", "_rebuild_tensor_v2").op('(');
  w.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").int1(4).op('t').op('Q');
  w.int1(0).int1(0).op(B{0x8a}).op(B{8});  // offset 0, size (0, 2^62): LONG1 of 8 little-endian bytes
  for (int i = 0; i < 7; ++i) w.op(B{0});
  w.op(B{0x40}).op(B{0x86}).int1(1).int1(1).op(B{0x86});
  w.op(B{0x89}).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  EXPECT_MMDG_ERROR(run(w.done()), "test.pkl: tensor size or stride entry 4611686018427387904 out of range");
}

TEST(Pickle, ForbiddenGlobalsAreRefused) {
  for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"torch", "load"},
           {"subprocess", "Popen"}, {"torch._utils", "_rebuild_device_tensor_from_numpy"}}) {
    PickleWriter w;
    w.global(module, name).op('(').str("echo hi").op('t').op('R');
    EXPECT_MMDG_ERROR(run(w.done()), "refusing to load: the pickle references '" + module + "." + name + "'");
  }
}

TEST(Pickle, MalformedPicklesAreCleanErrors) {
  EXPECT_MMDG_ERROR(run(PickleWriter().op('s').done()), "empty stack");
  EXPECT_MMDG_ERROR(run(PickleWriter().op('i').done()), "unsupported pickle opcode 0x69");
  EXPECT_MMDG_ERROR(run(PickleWriter().op('h').op('\x09').done()), "memo key 9");
  EXPECT_MMDG_ERROR(run(PickleWriter().int1(1).int1(2).done()), "not balanced");
  EXPECT_MMDG_ERROR(run(PickleWriter().str("abc").bytes.substr(0, 6)), "unexpected end");
  EXPECT_MMDG_ERROR(run(PickleWriter().op('e').done()), "no MARK");
}

// Truncations and random byte flips of a real torchvision data.pkl: errors, never crashes
// (the AddressSanitizer build checks that no read goes out of bounds).
// Hostile shapes (issue: resource bombs): a dict that contains itself through the memo, directly
// and via an OrderedDict; nesting far past any state dict, built by nested EMPTY_LIST + APPEND
// (300000 deep) and by TUPLE1 (10^6 deep), and a deep chain whose recorded depths are stale
// (children appended after the parent was nested). Each is a clean error, and every value built
// is freed (no recursion as deep as the nesting, no cycle left behind).
TEST(Pickle, CyclesAndDeepNestingAreRefusedAndFreed) {
  {  // d = {}; d['x'] = d
    PickleWriter w;
    w.op('}').op('q').op('\0').str("x").op('h').op('\0').op('s');
    EXPECT_MMDG_ERROR(run(w.done()), "contains itself");
  }
  {  // the same through an OrderedDict: o = OrderedDict(); o['x'] = [o]
    PickleWriter w;
    w.global("collections", "OrderedDict").op(')').op('R').op('q').op('\x01').str("x").op(']').op('h').op('\x01').op('a').op('s');
    EXPECT_MMDG_ERROR(run(w.done()), "contains itself");
  }
  {  // a value reachable twice (a DAG, not a cycle) is fine
    PickleWriter w;
    w.op('}').str("a").op('}').op('q').op('\x02').op('s').str("b").op('h').op('\x02').op('s');
    EXPECT_NO_THROW(run(w.done()));
  }
  {  // 300000 nested lists
    PickleWriter w;
    for (int i = 0; i < 300000; ++i) w.op(']');
    for (int i = 0; i < 299999; ++i) w.op('a');
    EXPECT_MMDG_ERROR(run(w.done()), "nested deeper than 100 levels");
  }
  {  // 10^6 nested 1-tuples
    PickleWriter w;
    w.op('N');
    for (int i = 0; i < 1000000; ++i) w.op(static_cast<unsigned char>(0x85));
    EXPECT_MMDG_ERROR(run(w.done()), "nested deeper than 100 levels");
  }
  {  // a chain nested in reverse: L[k] is appended into L[k+1] after L[k+1] went into L[k+2]
    PickleWriter w;
    const int n = 200000;
    const auto key = [&](int k) {
      for (int i = 0; i < 4; ++i) w.op(static_cast<char>((k >> (8 * i)) & 0xff));
    };
    w.op('(');
    for (int k = 0; k < n; ++k) {
      w.op(']').op('r');  // L[k] = [], memo k
      key(k);
    }
    w.op('l').op('(');  // A = [L...]
    for (int k = n - 2; k >= 0; --k) {
      w.op('j');
      key(k + 1);
      w.op('j');
      key(k);
      w.op('a');  // L[k+1].append(L[k]), L[k+1] stays on the stack
    }
    w.op('l').op('a');  // A.append([L[n-1], ..., L[1]])
    EXPECT_MMDG_ERROR(run(w.done()), "nested deeper than 100 levels");
  }
}

// Working memory is bounded: a run of MARKs (a deflate bomb of '(' reached 3.2 GB) or a million
// pushed values stops with a clean error.
TEST(Pickle, OpenMarksAndTheStackAreBounded) {
  EXPECT_MMDG_ERROR(run("\x80\x02" + std::string(20000, '(') + "."), "more than 10000 open MARKs");
  std::string ints = "\x80\x02";
  for (int i = 0; i < 1000001; ++i) ints += "K\x01";  // BININT1 1
  EXPECT_MMDG_ERROR(run(ints + "."), "more than 1000000 values on the stack");
}

TEST(Pickle, FuzzedRealPickleNeverCrashes) {
  ZipArchive zip(test::golden("vit_tiny_torchvision.pth"));
  std::string name;
  for (const auto& n : zip.entry_names())
    if (n.size() > 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0) name = n;
  const std::string pkl = zip.read(name);
  const auto original = run(pkl);
  ASSERT_EQ(original->kind, Kind::Dict);
  for (std::size_t len = 0; len < pkl.size(); ++len) EXPECT_THROW(run(pkl.substr(0, len)), Error);
  std::mt19937 rng(11);
  int ok = 0, errors = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string mutated = pkl;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng());
    try {
      run(mutated);
      ++ok;
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 100);
  EXPECT_EQ(ok + errors, 3000);
}

}  // namespace
}  // namespace mmdg::io::pickle
