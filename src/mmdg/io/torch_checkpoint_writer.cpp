// torch.save-compatible writer: archive/data.pkl (pickle protocol 2), archive/data/<key>,
// archive/version, archive/byteorder; entries stored uncompressed, as torch does.
#include <ATen/ATen.h>
#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/util/error.h"

namespace mmdg::io {
namespace {

std::string storage_class(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Double: return "DoubleStorage";
    case c10::ScalarType::Float: return "FloatStorage";
    case c10::ScalarType::Half: return "HalfStorage";
    case c10::ScalarType::BFloat16: return "BFloat16Storage";
    case c10::ScalarType::Long: return "LongStorage";
    case c10::ScalarType::Int: return "IntStorage";
    case c10::ScalarType::Short: return "ShortStorage";
    case c10::ScalarType::Char: return "CharStorage";
    case c10::ScalarType::Byte: return "ByteStorage";
    case c10::ScalarType::Bool: return "BoolStorage";
    default: throw Error(std::string("dtype ") + c10::toString(dtype) + " cannot be written to a .pth file");
  }
}

class PickleOut {
 public:
  std::string bytes = std::string("\x80\x02", 2);
  void op(char c) { bytes += c; }
  void text(const std::string& s) {
    op('X');
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>((s.size() >> (8 * i)) & 0xff);
    bytes += s;
  }
  void integer(std::int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      for (int i = 0; i < 4; ++i) bytes += static_cast<char>((static_cast<std::uint32_t>(v) >> (8 * i)) & 0xff);
    } else {
      bytes += "\x8a\x08";
      for (int i = 0; i < 8; ++i) bytes += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
    }
  }
  void global(const std::string& module, const std::string& name) { bytes += "c" + module + "\n" + name + "\n"; }
  void int_tuple(at::IntArrayRef values) {
    op('(');
    for (auto v : values) integer(v);
    op('t');
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }
};

}  // namespace

void write_torch_checkpoint(const std::string& path, const StateDict& tensors) {
  std::vector<at::Tensor> storages;
  PickleOut p;
  p.empty_ordered_dict();
  p.op('(');
  for (const auto& item : tensors) {
    const at::Tensor t = item.value().detach().to(at::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    p.text(item.key());
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id ('storage', type, key, location, numel)
    p.text("storage");
    p.global("torch", storage_class(t.scalar_type()));
    p.text(key);
    p.text("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.op('\x89');  // requires_grad = False
    p.empty_ordered_dict();  // backward hooks
    p.op('t');
    p.op('R');
    storages.push_back(t);
  }
  p.op('u');
  p.op('.');

  const std::filesystem::path target(path);
  std::random_device rd;
  const std::string tmp = (target.has_parent_path() ? target.parent_path() / "" : std::filesystem::path()).string() +
                          "." + target.filename().string() + ".tmp" + std::to_string(rd());
  int code = 0;
  zip_t* zip = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (zip == nullptr) throw Error(path + ": cannot create " + tmp);
  const std::string prefix = "archive/";
  const std::string version = "3\n", byteorder = "little";
  const auto add = [&](const std::string& name, const void* data, std::size_t size) {
    zip_source_t* source = zip_source_buffer(zip, data, size, 0);
    zip_int64_t index = source ? zip_file_add(zip, (prefix + name).c_str(), source, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (source) zip_source_free(source);
      const std::string message = zip_strerror(zip);
      zip_discard(zip);
      std::remove(tmp.c_str());
      throw Error(path + ": cannot add '" + name + "': " + message);
    }
    zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  };
  add("data.pkl", p.bytes.data(), p.bytes.size());
  add("byteorder", byteorder.data(), byteorder.size());
  for (std::size_t i = 0; i < storages.size(); ++i)
    add("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].numel() * storages[i].element_size());
  add("version", version.data(), version.size());
  if (zip_close(zip) != 0) {
    const std::string message = zip_strerror(zip);
    zip_discard(zip);
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write: " + message);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot replace: " + ec.message());
  }
}

}  // namespace mmdg::io
