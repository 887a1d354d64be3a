# Helpers in the style of Abseil's AbseilHelpers.cmake: every library is a real target with a
# seedgrid:: alias, and tests are declared next to the library they test.

set(SEEDGRID_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

# Code whose speed nothing depends on — the tests and the command-line glue of the tool — compiles
# with lighter options than the engine: at -O1 -g1 a test file takes about half the compile time
# of -O2 -g (measured: 57 -> 27 s and 40 -> 18 s for two unity files), which is most of CI's
# build. The engine, simulator, checkers and scenarios keep the build type's flags (the scenario
# suite runs them; the dev preset's are -O2 -g1). Set SEEDGRID_LIGHT_OPTIONS to "" for full debug
# info in tests. (A precompiled header of GoogleTest + RapidCheck was tried and saved nothing: a
# test file's time is its own templates, not the frameworks' headers.)
if(CMAKE_BUILD_TYPE STREQUAL "RelWithDebInfo")
  set(SEEDGRID_LIGHT_OPTIONS "-O1;-g1" CACHE STRING
      "Compile options of tests and the tool's command glue (empty: the build type's)")
else()
  set(SEEDGRID_LIGHT_OPTIONS "" CACHE STRING
      "Compile options of tests and the tool's command glue (empty: the build type's)")
endif()

# SEEDGRID_PCH: a precompiled header (cmake/seedgrid_pch.h: standard library, Abseil, fmt,
# nlohmann-json) built once per set of compile options and reused by every library, test and
# tool target (seedgrid_use_pch; ~7 % less compile CPU from scratch, docs/performance.md). Only
# for GCC's optimised builds: a PCH must be used with the -O/-g it was built with (CMake adds
# -Winvalid-pch, an error with -Werror), and without -O fmt's headers set `#pragma GCC optimize`,
# which a GCC PCH does not carry well. The asan preset (Debug) and the canaries' builds
# (ci/canaries/run.py, nightly) compile without it, so they also check that every file includes
# what it uses.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_BUILD_TYPE MATCHES "^(RelWithDebInfo|Release)$")
  option(SEEDGRID_PCH "Precompile the third-party headers once per option set (GCC)" ON)
else()
  set(SEEDGRID_PCH OFF)
endif()

# seedgrid_use_pch(target [LIGHT]): `target` compiles with the shared precompiled header, if it is
# on; LIGHT for targets compiled with SEEDGRID_LIGHT_OPTIONS.
function(seedgrid_use_pch target)
  if(NOT SEEDGRID_PCH)
    return()
  endif()
  if("LIGHT" IN_LIST ARGN)
    target_precompile_headers(${target} REUSE_FROM seedgrid_pch_light)
  else()
    target_precompile_headers(${target} REUSE_FROM seedgrid_pch)
  endif()
endfunction()

# The installed package (docs/embedding.md): headers under include/seedgrid/ keep their source
# paths ("scenarios/system.h"), static libraries under lib/, and the CMake package config under
# lib/cmake/seedgrid/ exporting every library as seedgrid::<name>.
include(GNUInstallDirs)
set(SEEDGRID_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/seedgrid)
set(SEEDGRID_INCLUDE_DIRS $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}> $<INSTALL_INTERFACE:${SEEDGRID_INSTALL_INCLUDEDIR}>)

# seedgrid_install(TARGET target HDRS ...)
# Installs `target` into the seedgridTargets export (as seedgrid::<EXPORT_NAME>) and its headers
# (paths relative to the current source directory) under include/seedgrid/<this directory>/.
function(seedgrid_install)
  cmake_parse_arguments(SG "" "TARGET" "HDRS" ${ARGN})
  install(TARGETS ${SG_TARGET} EXPORT seedgridTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  file(RELATIVE_PATH dir ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  foreach(header ${SG_HDRS})
    get_filename_component(sub ${header} DIRECTORY)
    install(FILES ${header} DESTINATION ${SEEDGRID_INSTALL_INCLUDEDIR}/${dir}/${sub})
  endforeach()
endfunction()

# seedgrid_cc_library(NAME name SRCS ... HDRS ... DEPS ...)
# Creates target seedgrid_<name> with alias seedgrid::<name>, installed with its HDRS.
# Header-only when SRCS is empty.
function(seedgrid_cc_library)
  cmake_parse_arguments(SG "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target seedgrid_${SG_NAME})
  if(SG_SRCS)
    add_library(${target} ${SG_SRCS} ${SG_HDRS})
    target_include_directories(${target} PUBLIC ${SEEDGRID_INCLUDE_DIRS})
    target_link_libraries(${target} PUBLIC ${SG_DEPS})
    target_compile_options(${target} PRIVATE ${SEEDGRID_WARNINGS})
    seedgrid_use_pch(${target})
  else()
    add_library(${target} INTERFACE ${SG_HDRS})
    target_include_directories(${target} INTERFACE ${SEEDGRID_INCLUDE_DIRS})
    target_link_libraries(${target} INTERFACE ${SG_DEPS})
  endif()
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${SG_NAME})
  add_library(seedgrid::${SG_NAME} ALIAS ${target})
  seedgrid_install(TARGET ${target} HDRS ${SG_HDRS})
endfunction()

# seedgrid_cc_test(NAME name SRCS ... DEPS ...)
# A GoogleTest (+ RapidCheck) executable registered with gtest_discover_tests.
function(seedgrid_cc_test)
  if(NOT BUILD_TESTING OR NOT SEEDGRID_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(SG "" "NAME" "SRCS;DEPS" ${ARGN})
  set(target seedgrid_${SG_NAME})
  add_executable(${target} ${SG_SRCS})
  target_link_libraries(${target} PRIVATE ${SG_DEPS} rapidcheck rapidcheck_gtest GTest::gmock
                                          GTest::gtest_main)
  target_compile_options(${target} PRIVATE ${SEEDGRID_WARNINGS} ${SEEDGRID_LIGHT_OPTIONS})
  seedgrid_use_pch(${target} LIGHT)
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()
