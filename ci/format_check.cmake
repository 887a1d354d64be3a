# Fails when any C++ source under the project folders is not clang-format clean.
file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/engine/*.cc ${SOURCE_DIR}/engine/*.h ${SOURCE_DIR}/sim/*.cc ${SOURCE_DIR}/sim/*.h
     ${SOURCE_DIR}/invariants/*.cc ${SOURCE_DIR}/invariants/*.h ${SOURCE_DIR}/scenarios/*.cc
     ${SOURCE_DIR}/scenarios/*.h ${SOURCE_DIR}/tools/*.cc ${SOURCE_DIR}/tools/*.h)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${sources}
                WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE code ERROR_VARIABLE err)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "clang-format: files need formatting (run clang-format -i on them):\n${err}")
endif()
list(LENGTH sources count)
message(STATUS "clang-format: ${count} files clean")
