#include "mmdg/io/dtype.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "mmdg/io/file_util.h"
#include "mmdg/io/npy.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/io/zip_archive.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::io {
namespace {

// A small tensor of `type` with distinct values (negative ones where the type has them).
at::Tensor sample_of(c10::ScalarType type) {
  if (type == c10::ScalarType::Bool) return torch::tensor({true, false, false, true}).view({2, 2});
  const bool is_unsigned = type == c10::ScalarType::Byte;
  return torch::arange(is_unsigned ? 250 : -3, is_unsigned ? 256 : 3, torch::kLong).view({2, 3}).to(type);
}

TEST(Dtype, TableAgreesWithLibTorchAndItsLookups) {
  for (const auto& row : kDtypes) {
    SCOPED_TRACE(std::string(row.python));
    EXPECT_EQ(row.element_size, c10::elementSize(row.type));
    EXPECT_EQ(find_dtype(row.type), &row);
    EXPECT_EQ(dtype_name(row.type), row.python);
    EXPECT_EQ(find_dtype_by_storage_class(row.storage_class), &row);
    EXPECT_EQ(find_dtype_by_safetensors(row.safetensors), &row);
    if (row.numpy_kind != 0) {
      EXPECT_EQ(find_dtype_by_numpy(numpy_code(row)), &row);
      EXPECT_EQ(numpy_code(row).size(), 2u);
    } else {
      EXPECT_EQ(numpy_code(row), "");
    }
  }
  EXPECT_EQ(numpy_code(*find_dtype(c10::ScalarType::Float)), "f4");
  EXPECT_EQ(find_dtype_by_numpy("u2"), nullptr);  // no uint16 in LibTorch 1.13 (npy widens it itself)
  EXPECT_EQ(find_dtype_by_numpy("f"), nullptr);
  EXPECT_EQ(find_dtype_by_safetensors("F8_E4M3"), nullptr);
  EXPECT_EQ(find_dtype_by_storage_class("ComplexFloatStorage"), nullptr);
  EXPECT_EQ(find_dtype(c10::ScalarType::ComplexFloat), nullptr);
  EXPECT_EQ(dtype_name(c10::ScalarType::ComplexFloat), "ComplexFloat");  // LibTorch's name outside the table
}

// dtypes.pth (written by Python's torch.save) holds every dtype of the table, under the names
// Python gives them (expected.json).
TEST(Dtype, EveryRowIsInAPythonWrittenCheckpoint) {
  const auto sd = read_torch_checkpoint(test::golden("dtypes.pth"));
  const auto& want = test::expected()["files"]["dtypes.pth"];
  std::set<c10::ScalarType> seen;
  for (const auto& item : sd) {
    EXPECT_EQ(dtype_name(item.value().scalar_type()), want[item.key()]["dtype"].get<std::string>()) << item.key();
    seen.insert(item.value().scalar_type());
  }
  for (const auto& row : kDtypes) EXPECT_TRUE(seen.count(row.type)) << row.python;
}

// Each row through every format: the names each file holds come from the table, and the
// tensor comes back with its dtype and values.
TEST(Dtype, EveryDtypeRoundTripsThroughEveryFormat) {
  test::TempDir dir;
  for (const auto& row : kDtypes) {
    const std::string name(row.python);
    SCOPED_TRACE(name);
    StateDict sd;
    sd.insert("t", sample_of(row.type));
    const auto expect_same = [&](const StateDict& back) {
      ASSERT_TRUE(back.contains("t"));
      EXPECT_EQ(back["t"].scalar_type(), row.type);
      EXPECT_TRUE(torch::equal(back["t"], sd["t"]));
    };

    const std::string pth = dir.file(name + ".pth");
    write_torch_checkpoint(pth, sd);
    expect_same(read_torch_checkpoint(pth));
    const std::string pickle = ZipArchive(pth).read("archive/data.pkl");
    EXPECT_NE(pickle.find("ctorch\n" + std::string(row.storage_class) + "\n"), std::string::npos);
    const auto info = weights_info(pth);
    ASSERT_EQ(info.tensors.size(), 1u);
    EXPECT_EQ(info.tensors[0].dtype, row.python);

    const std::string st = dir.file(name + ".safetensors");
    write_safetensors(st, sd);
    expect_same(read_safetensors(st));
    EXPECT_NE(read_file(st).find("\"dtype\":\"" + std::string(row.safetensors) + "\""), std::string::npos);
    EXPECT_EQ(weights_info(st).tensors[0].dtype, row.python);

    if (row.numpy_kind == 0) {
      EXPECT_MMDG_ERROR(make_npy(sd["t"]), "dtype " + std::string(c10::toString(row.type)) + " cannot be written to .npy");
      continue;
    }
    const std::string descr = (row.element_size == 1 ? "|" : "<") + numpy_code(row);
    const std::string npy = make_npy(sd["t"]);
    EXPECT_NE(npy.find("'descr': '" + descr + "'"), std::string::npos) << npy.substr(0, 64);
    const std::string npz = dir.file(name + ".npz");
    write_npz(npz, sd, /*compress=*/true);
    expect_same(read_npz(npz));
    // the byte-order-free spellings of the same type read too
    for (const char* order : {"|", "="}) {
      std::string other = npy;
      other.replace(other.find(descr), 1, order);
      EXPECT_TRUE(torch::equal(parse_npy(other, "x.npy"), sd["t"])) << order;
    }
  }
}

TEST(Dtype, TypesOutsideAFormatAreNamedErrors) {
  test::TempDir dir;
  StateDict complex;
  complex.insert("c", torch::ones({2}, torch::kComplexFloat));
  EXPECT_MMDG_ERROR(write_torch_checkpoint(dir.file("c.pth"), complex), "dtype ComplexFloat cannot be written to a .pth file");
  EXPECT_MMDG_ERROR(write_safetensors(dir.file("c.safetensors"), complex), "dtype ComplexFloat cannot be stored in safetensors");
  EXPECT_MMDG_ERROR(safetensors_dtype(c10::ScalarType::ComplexFloat), "cannot be stored in safetensors");
  EXPECT_MMDG_ERROR(write_npz(dir.file("c.npz"), complex, false), "dtype ComplexFloat cannot be written to .npy");
  EXPECT_MMDG_ERROR(make_npy(torch::ones({2}, torch::kBFloat16)), "dtype BFloat16 cannot be written to .npy");
}

}  // namespace
}  // namespace mmdg::io
