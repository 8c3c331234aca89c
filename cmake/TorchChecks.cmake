# Checks of a LibTorch package that stop the configuration with a message saying what to do,
# instead of a link error later (old ABI) or Caffe2's own error deep inside find_package (CUDA).
# Usable in script mode (cmake -P) by the tests: tests/cmake/torch_checks_test.cmake.

# The root of the LibTorch package find_package(Torch) would load (the folder holding lib/ and
# share/cmake/Torch), or "" when it is not found here (find_package then reports it).
function(mmdg_find_torch_root out_var)
  find_file(_mmdg_torch_config TorchConfig.cmake
            HINTS ${Torch_DIR} ENV Torch_DIR
            PATH_SUFFIXES share/cmake/Torch lib/cmake/Torch lib/x86_64-linux-gnu/cmake/Torch)
  set(_found "${_mmdg_torch_config}")
  unset(_mmdg_torch_config CACHE)  # a result, not a setting: looked up afresh each time
  if(_found)
    get_filename_component(_dir "${_found}" DIRECTORY)
    get_filename_component(_root "${_dir}/../../.." ABSOLUTE)
    set(${out_var} "${_root}" PARENT_SCOPE)
  else()
    set(${out_var} "" PARENT_SCOPE)
  endif()
endfunction()

# Before find_package(Torch): a LibTorch built with CUDA (lib/libtorch_cuda.so) needs the matching
# CUDA toolkit at configure time (its CMake package finds nvcc, the CUDA libraries, cuDNN, and NVTX
# up to LibTorch 2.4). Without nvcc this stops here, naming the toolkit the archive was built for.
# MMDG_NVCC_HINTS: folders searched for nvcc instead of the usual ones (the tests' fake toolkit).
function(mmdg_check_torch_cuda_toolkit torch_root)
  if(NOT torch_root OR NOT EXISTS "${torch_root}/lib/libtorch_cuda.so")
    return()
  endif()
  set(_built_for "")
  if(EXISTS "${torch_root}/build-version")
    file(STRINGS "${torch_root}/build-version" _version LIMIT_COUNT 1)
    if(_version MATCHES "\\+cu([0-9]+)([0-9])$")
      set(_built_for " (this archive, ${_version}, was built with CUDA ${CMAKE_MATCH_1}.${CMAKE_MATCH_2})")
    endif()
  endif()
  if(CMAKE_CUDA_COMPILER AND EXISTS "${CMAKE_CUDA_COMPILER}")
    return()
  endif()
  if(DEFINED MMDG_NVCC_HINTS)
    find_program(_mmdg_nvcc nvcc PATHS ${MMDG_NVCC_HINTS} NO_DEFAULT_PATH)
  else()
    find_program(_mmdg_nvcc nvcc HINTS ENV CUDA_HOME ENV CUDA_PATH ENV CUDAToolkit_ROOT /usr/local/cuda
                 PATH_SUFFIXES bin)
  endif()
  set(_nvcc "${_mmdg_nvcc}")
  unset(_mmdg_nvcc CACHE)
  if(NOT _nvcc)
    message(FATAL_ERROR
      "The LibTorch in ${torch_root} is built with CUDA${_built_for}: configuring against it needs "
      "that CUDA toolkit (nvcc, the CUDA libraries, cuDNN; NVTX for LibTorch <= 2.4), and no nvcc was "
      "found. Install the toolkit and pass -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc (or set "
      "CUDA_HOME); on a build machine without a GPU also set TORCH_CUDA_ARCH_LIST to the GPUs you "
      "will run on (e.g. \"8.0;9.0\" for A100 and H100/H200). For a CPU-only build use the CPU "
      "archive (libtorch-cxx11-abi-shared-with-deps-<version>+cpu.zip) or Debian's libtorch-dev.")
  endif()
endfunction()

# After find_package(Torch): TORCH_CXX_FLAGS carries -D_GLIBCXX_USE_CXX11_ABI=0 for the pip
# wheels up to 2.6 and the "pre-cxx11 ABI" archives. The flag reaches every target through the
# torch target, while Debian's OpenCV, GoogleTest, Google Benchmark, fmt and spdlog use the new
# ABI: linking would fail on every std::string in their interfaces. Stop with the right archive.
function(mmdg_check_torch_abi torch_cxx_flags)
  if(torch_cxx_flags MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
    message(FATAL_ERROR
      "This LibTorch is built with the old C++ ABI (TORCH_CXX_FLAGS: ${torch_cxx_flags}), as the pip "
      "wheels up to 2.6 and the \"pre-cxx11 ABI\" archives are; Debian's OpenCV, GoogleTest, Google "
      "Benchmark, fmt and spdlog use the new one, so linking mmdg would fail (undefined references to "
      "functions taking std::string). Use the cxx11-ABI archive instead: "
      "libtorch-cxx11-abi-shared-with-deps-<version>+<cpu|cuXXX>.zip from pytorch.org (or a pip wheel "
      ">= 2.7, built with the new ABI), and point CMAKE_PREFIX_PATH at it.")
  endif()
endfunction()
