# cmake -P script: install, configure the consumer against the install, build, run.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}"
    -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DWITH_TEXT=${WITH_TEXT})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
find_program(consumer NAMES consumer PATHS ${WORK_DIR}/build NO_DEFAULT_PATH REQUIRED)
run(${consumer})
if(NOT last_output MATCHES "echo over 127\\.0\\.0\\.1:[0-9]+ ok")
  message(FATAL_ERROR "unexpected consumer output: ${last_output}")
endif()
message(STATUS "${last_output}")
if(WITH_TEXT)
  find_program(text_consumer NAMES text_consumer PATHS ${WORK_DIR}/build NO_DEFAULT_PATH REQUIRED)
  run(${text_consumer})
  if(NOT last_output MATCHES "decode ok")
    message(FATAL_ERROR "unexpected text_consumer output: ${last_output}")
  endif()
  message(STATUS "${last_output}")
endif()
