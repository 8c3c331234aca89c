#include "mmdg/io/hdf5_file.h"

#ifdef MMDG_HAVE_HDF5
#include <hdf5.h>
#endif
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "mmdg/util/error.h"

namespace mmdg::io {

#ifndef MMDG_HAVE_HDF5
bool hdf5_available() { return false; }
namespace {
[[noreturn]] void no_hdf5(const std::string& name) {
  throw Error(name + ": this build reads no HDF5 (built without libhdf5). HINT: install libhdf5-dev and rebuild");
}
}  // namespace
Hdf5File::Hdf5File(const std::string& path) : name_(path) { no_hdf5(path); }
Hdf5File Hdf5File::from_bytes(const std::string&, const std::string& name) { no_hdf5(name); }
Hdf5File::~Hdf5File() = default;
Hdf5File::Hdf5File(Hdf5File&& other) noexcept = default;
Hdf5File& Hdf5File::operator=(Hdf5File&& other) noexcept = default;
std::vector<std::string> Hdf5File::members(const std::string&) const { no_hdf5(name_); }
bool Hdf5File::has_dataset(const std::string&) const { no_hdf5(name_); }
at::Tensor Hdf5File::read_uint8(const std::string&, std::int64_t) const { no_hdf5(name_); }
#else
bool hdf5_available() { return true; }

namespace {

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

// Silences HDF5's automatic error printing once; our errors carry its innermost message instead.
void quiet_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

herr_t keep_first_message(unsigned n, const H5E_error2_t* e, void* out) {
  auto* text = static_cast<std::string*>(out);
  if (n == 0 && e && e->desc) *text = e->desc;
  return 0;
}

// HDF5's description of the current error (its innermost frame), cleared afterwards.
std::string hdf5_message() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_first_message, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "HDF5 error" : text;
}

// Closes an HDF5 identifier with its own close function when it leaves scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

}  // namespace

Hdf5File::Hdf5File(const std::string& path) : name_(path) {
  const std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  quiet_hdf5();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": file not found");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(path + ": not an HDF5 file (or not readable)");
  }
  id_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id_ < 0) throw Error(path + ": cannot open the HDF5 file: " + hdf5_message());
}

Hdf5File Hdf5File::from_bytes(const std::string& bytes, const std::string& name) {
  const std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  quiet_hdf5();
  Hdf5File f;
  f.name_ = name;
  if (bytes.size() < 8) throw Error(name + ": not an HDF5 file (" + std::to_string(bytes.size()) + " bytes)");
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // The core driver reads from memory; the image is copied (HDF5 may write to its copy), never
  // back to a file.
  if (!access.ok() || H5Pset_fapl_core(access.get(), 1 << 16, 0) < 0 ||
      H5Pset_file_image(access.get(), const_cast<char*>(bytes.data()), bytes.size()) < 0)
    throw Error(name + ": cannot set up an in-memory HDF5 file: " + hdf5_message());
  f.id_ = H5Fopen(name.c_str(), H5F_ACC_RDONLY, access.get());
  if (f.id_ < 0) throw Error(name + ": cannot open the HDF5 file: " + hdf5_message());
  return f;
}

Hdf5File::~Hdf5File() {
  if (id_ >= 0) {
    const std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    H5Fclose(id_);
  }
}

Hdf5File::Hdf5File(Hdf5File&& other) noexcept : id_(other.id_), name_(std::move(other.name_)) { other.id_ = -1; }

Hdf5File& Hdf5File::operator=(Hdf5File&& other) noexcept {
  std::swap(id_, other.id_);
  std::swap(name_, other.name_);
  return *this;
}

std::vector<std::string> Hdf5File::members(const std::string& group) const {
  const std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  Handle g(H5Gopen2(id_, group.c_str(), H5P_DEFAULT), H5Gclose);
  if (!g.ok()) throw Error(name_ + ": " + group + ": not a group: " + hdf5_message());
  std::vector<std::string> names;
  if (H5Literate(g.get(), H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, collect_name, &names) < 0)
    throw Error(name_ + ": " + group + ": cannot list its members: " + hdf5_message());
  std::sort(names.begin(), names.end());
  return names;
}

bool Hdf5File::has_dataset(const std::string& path) const {
  const std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  // Each link along the path must exist before the next is asked for (H5Lexists' rule).
  std::string prefix = path.rfind('/', 0) == 0 ? "/" : "";
  std::size_t start = prefix.size();
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty()) return false;  // "a//b", a trailing '/', or ""
    prefix += (prefix.empty() || prefix == "/" ? "" : "/") + part;
    if (H5Lexists(id_, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  Handle object(H5Oopen(id_, path.c_str(), H5P_DEFAULT), H5Oclose);
  if (!object.ok()) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return H5Iget_type(object.get()) == H5I_DATASET;
}

at::Tensor Hdf5File::read_uint8(const std::string& path, std::int64_t max_elements) const {
  const std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  const std::string where = name_ + ": " + path;
  if (!has_dataset(path)) throw Error(where + ": no such dataset");
  Handle set(H5Dopen2(id_, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!set.ok()) throw Error(where + ": cannot open the dataset: " + hdf5_message());
  Handle type(H5Dget_type(set.get()), H5Tclose);
  if (!type.ok()) throw Error(where + ": cannot read its type: " + hdf5_message());
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 1 || H5Tget_sign(type.get()) != H5T_SGN_NONE)
    throw Error(where + ": expected unsigned 8-bit integers");
  Handle space(H5Dget_space(set.get()), H5Sclose);
  if (!space.ok()) throw Error(where + ": cannot read its shape: " + hdf5_message());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 8) throw Error(where + ": expected a simple array of at most 8 dimensions");
  hsize_t dims[8] = {0};
  if (H5Sget_simple_extent_dims(space.get(), dims, nullptr) != rank) throw Error(where + ": cannot read its shape: " + hdf5_message());
  std::vector<std::int64_t> shape;
  std::int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    if (dims[d] > static_cast<hsize_t>(max_elements)) throw Error(where + ": dimension of " + std::to_string(dims[d]) + " is too large");
    shape.push_back(static_cast<std::int64_t>(dims[d]));
    count *= std::max<std::int64_t>(1, shape.back());
    if (count > max_elements) throw Error(where + ": more than " + std::to_string(max_elements) + " values");
  }
  at::Tensor out = torch::empty(shape, torch::kUInt8);
  if (out.numel() > 0 && H5Dread(set.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr()) < 0)
    throw Error(where + ": cannot read the data: " + hdf5_message());
  return out;
}

#endif

}  // namespace mmdg::io
