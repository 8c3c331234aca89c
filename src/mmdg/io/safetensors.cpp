#include "mmdg/io/safetensors.h"

#include <algorithm>
#include <tuple>

#include <ATen/ATen.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mmdg/io/dtype.h"
#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/json_text.h"

namespace mmdg::io {
namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit

std::uint64_t get_u64(const nlohmann::json& j, const std::string& context) {
  if (!j.is_number_unsigned()) throw Error(context + " must be a non-negative integer");
  return j.get<std::uint64_t>();
}

struct Entry {
  std::string name;
  c10::ScalarType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin, end;
};

struct Header {
  std::uint64_t data_start = 0;
  std::vector<Entry> entries;
};

// Reads and validates the header: every entry's offsets inside the data, byte counts matching
// dtype and shape. `in` is left open for reading the data.
Header read_header(const std::string& path, std::ifstream& in, Metadata* metadata) {
  const std::uint64_t size = file_size(path);
  if (size < 8) throw Error(path + ": " + std::to_string(size) + " bytes is too short for a safetensors file (truncated?)");
  in.open(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > size - 8)
    throw Error(path + ": safetensors header length " + std::to_string(header_len) +
                " runs past the end of the " + std::to_string(size) + "-byte file (truncated or not a safetensors file)");
  if (header_len > kMaxHeaderBytes)
    throw Error(path + ": safetensors header of " + std::to_string(header_len) + " bytes is larger than 100 MiB");
  std::string header_text(header_len, '\0');
  in.read(header_text.data(), static_cast<std::streamsize>(header_len));
  if (static_cast<std::uint64_t>(in.gcount()) != header_len) throw Error(path + ": short read of the header");
  const nlohmann::json header = parse_json(header_text, path + ": safetensors header is not valid JSON");
  if (!header.is_object()) throw Error(path + ": safetensors header is not a JSON object");
  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_size = size - data_start;

  Header result;
  result.data_start = data_start;
  auto& entries = result.entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error(path + ": __metadata__ is not an object");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) throw Error(path + ": __metadata__ value '" + k + "' is not a string (" + json_excerpt(v) + ")");
        if (metadata) (*metadata)[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string ctx = path + ": tensor '" + name + "'";
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
        !info.contains("data_offsets"))
      throw Error(ctx + ": needs 'dtype', 'shape' and 'data_offsets'");
    if (!info["dtype"].is_string()) throw Error(ctx + ": dtype is not a string");
    const auto code = info["dtype"].get<std::string>();
    const DtypeInfo* dt = find_dtype_by_safetensors(code);  // every dtype in the table that has a code
    if (!dt) throw Error(ctx + ": unsupported dtype '" + code + "'");
    Entry e{name, dt->type, {}, 0, 0};
    if (!info["shape"].is_array()) throw Error(ctx + ": shape is not an array");
    unsigned __int128 numel = 1, nonzero = 1;
    for (const auto& d : info["shape"]) {
      const std::uint64_t n = get_u64(d, ctx + ": shape entry");
      if (n > (std::uint64_t{1} << 40)) throw Error(ctx + ": shape entry " + std::to_string(n) + " too large");
      e.shape.push_back(static_cast<std::int64_t>(n));
      numel *= n;
      // the entries other than 0 too: after a 0 the count stays 0, but LibTorch multiplies the
      // sizes of an empty tensor as well and refuses an overflow with its own error
      nonzero *= std::max<std::uint64_t>(n, 1);
      if (numel > (static_cast<unsigned __int128>(1) << 62) || nonzero > (static_cast<unsigned __int128>(1) << 62))
        throw Error(ctx + ": shape too large");
    }
    const auto& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) throw Error(ctx + ": data_offsets must be [begin, end]");
    e.begin = get_u64(offsets[0], ctx + ": data_offsets");
    e.end = get_u64(offsets[1], ctx + ": data_offsets");
    if (e.begin > e.end || e.end > data_size)
      throw Error(ctx + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  "] lie outside the " + std::to_string(data_size) + " data bytes (truncated file?)");
    const unsigned __int128 bytes = numel * c10::elementSize(e.dtype);
    if (bytes != e.end - e.begin)
      throw Error(ctx + ": " + code + " shape " + json_excerpt(info["shape"]) + " needs " +
                  std::to_string(static_cast<std::uint64_t>(bytes)) + " bytes but data_offsets give " +
                  std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }
  // As the reference implementation: the tensors tile the data section, in offset order, with no
  // gap, no overlap or shared bytes, and no unindexed bytes at the end.
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return std::tie(a->begin, a->end) < std::tie(b->begin, b->end); });
  std::uint64_t expected = 0;
  for (const Entry* e : by_offset) {
    if (e->begin != expected)
      throw Error(path + ": tensor '" + e->name + "' starts at data byte " + std::to_string(e->begin) + ", expected " +
                  std::to_string(expected) + " (" + (e->begin < expected ? "overlapping" : "a gap between") +
                  " tensors; a safetensors file's tensors are contiguous)");
    expected = e->end;
  }
  if (expected != data_size)
    throw Error(path + ": " + std::to_string(data_size - expected) + " data bytes after the last tensor are not indexed by the header");
  return result;
}

}  // namespace

std::string safetensors_dtype(c10::ScalarType dtype) {
  const DtypeInfo* row = find_dtype(dtype);
  if (!row || row->safetensors.empty())
    throw Error(std::string("dtype ") + c10::toString(dtype) + " cannot be stored in safetensors");
  return std::string(row->safetensors);
}

StateDict read_safetensors(const std::string& path, Metadata* metadata) {
  std::ifstream in;
  const Header header = read_header(path, in, metadata);
  const auto data_start = header.data_start;
  const auto& entries = header.entries;
  // The file keeps tensors in header (= sorted name) order only by convention; read by offset.
  StateDict out;
  for (const auto& e : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype));
    in.seekg(static_cast<std::streamoff>(data_start + e.begin));
    in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin));
    if (!in) throw Error(path + ": tensor '" + e.name + "': short read");
    out.insert(e.name, t);
  }
  return out;
}

Metadata read_safetensors_metadata(const std::string& path) {
  std::ifstream in;
  Metadata metadata;
  read_header(path, in, &metadata);
  return metadata;
}

void write_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  std::uint64_t offset = 0;
  for (const auto& item : tensors) {
    at::Tensor t = item.value().detach().to(at::kCPU).contiguous();
    const std::uint64_t bytes = t.numel() * t.element_size();
    header[item.key()] = {{"dtype", safetensors_dtype(t.scalar_type())},
                          {"shape", t.sizes().vec()},
                          {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  write_file_atomically(path, [&](std::ostream& out) {
    std::uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : data)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
  });
}

}  // namespace mmdg::io
