# Build speed (issue 21): shared precompiled headers, and libraries and
# binaries built a few files to a translation unit. Most of a file's compile
# time here went to parsing the same third-party headers (the standard
# library, nlohmann/json, fmt, GoogleTest, Boost.Asio/Beast) and to
# instantiating the same templates; each header kind below is compiled once
# and every target of that kind reuses it (REUSE_FROM). Files still include
# what they use: -DFAULTLINE_PCH=OFF builds without either.
option(FAULTLINE_PCH "Shared precompiled headers and batched files" ON)
# Files per batch. 0 puts all of a target's files in one unit: a check that
# no two files of a library define the same internal name.
set(FAULTLINE_UNITY_BATCH 6 CACHE STRING "Source files per unity translation unit (0: one per target)")

# Test binaries' own files compile with less optimisation in optimised
# builds: the store, checkers and harness they test are the libraries the
# shipped binaries link, built with the build's optimisation; only the test
# code is not. clang: -O0, as its warnings come from the front end whatever
# the level (test steps of one build 256 CPU-s at -Og, 116 at -O0). GCC:
# -Og, which keeps the flow analysis behind -Wmaybe-uninitialized that -O0
# skips (one store test unit 38.6 s at -O2, 25.0 s at -Og).
# Empty: tests get the build's optimisation too.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(faultline_default_test_optimization -O0)
else()
  set(faultline_default_test_optimization -Og)
endif()
set(FAULTLINE_TEST_OPTIMIZATION ${faultline_default_test_optimization} CACHE STRING
    "Optimisation of the test binaries' own files in non-Debug builds (default: -O0 with clang, -Og with GCC)")
set(faultline_test_optimization $<$<NOT:$<CONFIG:Debug>>:${FAULTLINE_TEST_OPTIMIZATION}>)

set(faultline_pch_std
    <algorithm> <array> <atomic> <chrono> <condition_variable> <cstdint> <cstring> <filesystem> <fstream>
    <functional> <map> <memory> <mutex> <optional> <random> <set> <sstream> <string> <string_view> <thread>
    <unordered_map> <utility> <vector>)

# faultline_pch_<kind>: an object library of one empty file that owns the
# precompiled header; `link` are the targets whose usage requirements (include
# directories, definitions such as FMT_SHARED) the header is compiled with, so
# a reusing target that links the same has matching flags.
function(faultline_add_pch kind)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "HEADERS;LINK")
  add_library(faultline_pch_${kind} OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cc)
  target_link_libraries(faultline_pch_${kind} PRIVATE ${arg_LINK})
  target_precompile_headers(faultline_pch_${kind} PRIVATE ${faultline_pch_std} ${arg_HEADERS})
  if(kind MATCHES "test$")  # compiled as the test files that reuse it, or the compiler refuses it
    target_compile_options(faultline_pch_${kind} PRIVATE ${faultline_test_optimization})
  endif()
endfunction()

# faultline_speed_up(<dir>): every GoogleTest binary defined in dir and below
# gets the test optimisation; with FAULTLINE_PCH, every compiled target there
# reuses a header by what it is: dynastore's targets (store/) the Asio/Beast
# kind, a GoogleTest binary the test kind, the rest base. The executables
# built from a bench/ folder are listed apart, for the targets below.
function(faultline_speed_up dir)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    faultline_speed_up(${sub})
  endforeach()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|OBJECT_LIBRARY)$" OR target MATCHES "^faultline_pch_")
      continue()
    endif()
    get_target_property(sources ${target} SOURCES)
    if(type STREQUAL "EXECUTABLE" AND "${sources}" MATCHES "^bench/")
      set_property(GLOBAL APPEND PROPERTY faultline_benchmarks ${target})
    else()
      set_property(GLOBAL APPEND PROPERTY faultline_not_benchmarks ${target})
    endif()
    get_target_property(libs ${target} LINK_LIBRARIES)
    set(kind base)
    string(FIND "${dir}/" "${PROJECT_SOURCE_DIR}/store/" at)
    if(at EQUAL 0)
      set(kind asio)
    endif()
    if("${libs}" MATCHES "GTest::")
      set(kind ${kind}_test)
      target_compile_options(${target} PRIVATE ${faultline_test_optimization})
    endif()
    if(NOT FAULTLINE_PCH)
      continue()
    endif()
    # Files also compile a few to a translation unit: each batch
    # instantiates the templates they share (json, Asio, GoogleTest, the
    # standard containers) once, not once a file. Same flags and
    # optimisation as one file to a unit. Executables too: the faultline
    # command's eight files compile in 20 s batched against 57 s one by one.
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${FAULTLINE_UNITY_BATCH})
    # GCC warns when a class defined outside the main file (meant: in a
    # header) holds a file-local type. Batched, every .cc is an included
    # file, so each pimpl State holding its file's helpers would be
    # flagged; built one file to a unit, none of them can be.
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
    string(REPLACE "base_test" "test" kind ${kind})
    target_precompile_headers(${target} REUSE_FROM faultline_pch_${kind})
  endforeach()
endfunction()

if(FAULTLINE_PCH)
  faultline_add_pch(base HEADERS <nlohmann/json.hpp> <fmt/format.h> <fmt/ranges.h>
                    LINK nlohmann_json::nlohmann_json fmt::fmt)
  faultline_add_pch(test HEADERS <nlohmann/json.hpp> <fmt/format.h> <fmt/ranges.h> <gtest/gtest.h>
                    LINK nlohmann_json::nlohmann_json fmt::fmt GTest::gtest)
  # dynastore: no fmt (the store needs nothing from the harness's stack).
  faultline_add_pch(asio HEADERS <nlohmann/json.hpp> <boost/asio.hpp> <boost/beast/core.hpp> <boost/beast/http.hpp>
                    LINK nlohmann_json::nlohmann_json Boost::headers)
  faultline_add_pch(asio_test HEADERS <nlohmann/json.hpp> <boost/asio.hpp> <boost/beast/core.hpp>
                    <boost/beast/http.hpp> <gtest/gtest.h> LINK nlohmann_json::nlohmann_json Boost::headers GTest::gtest)
endif()

# faultline_add_syntax_checks(<target>...): for each executable, <target>_syntax,
# its sources compiled with -fsyntax-only under the same flags, include
# directories, definitions and precompiled header (no code generated, nothing
# linked), and `benchmarks_syntax` for all of them. scripts/test checks the
# benchmarks so while the tests run: the compiler's front end gives every
# warning clang has, for a fifth of a full compile's CPU (the rest is the
# optimiser's, which no test needs). GCC's flow-analysis warnings
# (-Wmaybe-uninitialized) and the benchmarks' links come only from a real
# build (`cmake --build build`, the `benchmarks` target).
function(faultline_add_syntax_checks)
  add_custom_target(benchmarks_syntax)
  foreach(target IN LISTS ARGN)
    get_target_property(dir ${target} SOURCE_DIR)
    get_target_property(sources ${target} SOURCES)
    list(TRANSFORM sources PREPEND "${dir}/" REGEX "^[^/]")
    add_library(${target}_syntax OBJECT EXCLUDE_FROM_ALL ${sources})
    # What it links gives the usage requirements (include directories, as
    # system ones for imported targets, and definitions); an imported target
    # a benchmark links itself must be visible here, so GLOBAL
    # (bench_hiredis, store/CMakeLists.txt).
    foreach(property IN ITEMS INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS LINK_LIBRARIES
                              PRECOMPILE_HEADERS_REUSE_FROM UNITY_BUILD UNITY_BUILD_BATCH_SIZE)
      get_target_property(value ${target} ${property})
      if(value)
        set_property(TARGET ${target}_syntax PROPERTY ${property} "${value}")
      endif()
    endforeach()
    target_compile_options(${target}_syntax PRIVATE -fsyntax-only)
    add_dependencies(benchmarks_syntax ${target}_syntax)
  endforeach()
endfunction()
