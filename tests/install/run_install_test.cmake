# cmake -P script behind the install.* tests (tests/install/CMakeLists.txt passes the
# build's compiler, flags and install directories). MODE:
#   find_package    cmake --install; the consumer with find_package(xsock) as written
#                   in the README, then COMPONENTS net with ICU and OpenSSL unfindable
#                   and the exact version, COMPONENTS tls alone, then what must be
#                   refused (text without ICU, tls without OpenSSL, 0.x+1)
#   net_only_build  a library-only build with XSOCK_BUILD_TEXT=OFF and XSOCK_BUILD_TLS=OFF,
#                   installed; COMPONENTS net works without ICU, COMPONENTS text and tls
#                   fail with a clear message
#   pkg_config      cmake --install, prefix moved; plain compiler command lines from
#                   pkg-config --cflags --libs xsock (and xsock-text, xsock-tls)
#   deb             cpack -G DEB; dpkg-deb -x into a scratch root; its contents, the
#                   tools' --version and the consumer (find_package) against that root
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# run(COMMAND...): runs it, fails the test with its output unless it exits 0.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# run_failing(EXPECT regex COMMAND...): the command must fail, saying regex.
function(run_failing)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "EXPECT" "COMMAND")
  execute_process(COMMAND ${arg_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REPLACE ";" " " cmd "${arg_COMMAND}")
  if(rc EQUAL 0)
    message(FATAL_ERROR "succeeded, but should have failed: ${cmd}\n${out}")
  endif()
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")
  if(NOT flat MATCHES "${arg_EXPECT}")
    message(FATAL_ERROR "failed without saying '${arg_EXPECT}': ${cmd}\n${out}")
  endif()
endfunction()

# configure_consumer(NAME PREFIX [HIDE_ICU] [FAIL regex] [ARGS...]): the consumer
# project in WORK_DIR/NAME against PREFIX. Without FAIL, also checks it found PREFIX's
# xsock. HIDE_ICU: every find_* searches under PREFIX only (CMAKE_FIND_ROOT_PATH), so
# the system's ICU and OpenSSL cannot be found (CMAKE_DISABLE_FIND_PACKAGE_ICU would not
# do: a REQUIRED find_dependency ignores it).
function(configure_consumer name prefix)
  cmake_parse_arguments(PARSE_ARGV 2 arg "HIDE_ICU" "FAIL" "")
  if(arg_HIDE_ICU)
    list(APPEND arg_UNPARSED_ARGUMENTS -DCMAKE_FIND_ROOT_PATH=${prefix}
         -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY
         -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY)
  endif()
  set(command ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/${name}
      -DCMAKE_PREFIX_PATH=${prefix}
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
      -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
      "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
      "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}"
      -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
      ${arg_UNPARSED_ARGUMENTS})
  if(arg_FAIL)
    run_failing(EXPECT "${arg_FAIL}" COMMAND ${command})
    message(STATUS "${name}: refused as it should be (${arg_FAIL})")
    return()
  endif()
  run(${command})
  if(NOT last_output MATCHES "consumer: found xsock ${VERSION} in ${prefix}/")
    message(FATAL_ERROR "${name}: did not find xsock ${VERSION} under ${prefix}:\n${last_output}")
  endif()
endfunction()

# build_and_run_consumer(NAME WITH_TEXT [WITH_TLS]): builds WORK_DIR/NAME, runs its
# programs.
function(build_and_run_consumer name with_text)
  set(with_tls "${ARGV2}")
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/${name})
  run(${WORK_DIR}/${name}/consumer)
  if(NOT last_output MATCHES "echo over 127\\.0\\.0\\.1:[0-9]+ ok")
    message(FATAL_ERROR "${name}: unexpected consumer output: ${last_output}")
  endif()
  if(with_text)
    run(${WORK_DIR}/${name}/text_consumer)
    if(NOT last_output MATCHES "decode ok")
      message(FATAL_ERROR "${name}: unexpected text_consumer output: ${last_output}")
    endif()
  endif()
  if(with_tls)
    run(${WORK_DIR}/${name}/tls_consumer)
    if(NOT last_output MATCHES "tls ClientHello [0-9]+ bytes ok")
      message(FATAL_ERROR "${name}: unexpected tls_consumer output: ${last_output}")
    endif()
  endif()
  message(STATUS "${name}: built and ran")
endfunction()

string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${VERSION}")
math(EXPR next_minor "${CMAKE_MATCH_2} + 1")
set(incompatible_version "${CMAKE_MATCH_1}.${next_minor}")

if(MODE STREQUAL "find_package")
  set(prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
  # The include directory comes from $<INSTALL_INTERFACE:...>, exactly once.
  file(READ ${prefix}/${LIBDIR}/cmake/xsock/xsock-net-targets.cmake targets)
  if(NOT targets MATCHES "INTERFACE_INCLUDE_DIRECTORIES \"\\\${_IMPORT_PREFIX}/${INCLUDEDIR}\"\n")
    message(FATAL_ERROR "xsock::net's installed include directory is not <prefix>/${INCLUDEDIR}:\n${targets}")
  endif()
  configure_consumer(plain ${prefix} -DWITH_TEXT=${WITH_TEXT} -DWITH_TLS=${WITH_TLS})
  build_and_run_consumer(plain ${WITH_TEXT} ${WITH_TLS})
  # ICU and OpenSSL made unfindable: COMPONENTS net must not look for them.
  configure_consumer(net_without_icu ${prefix} HIDE_ICU -DXSOCK_COMPONENTS=net
                     -DXSOCK_REQUIRE_VERSION=${VERSION})
  build_and_run_consumer(net_without_icu FALSE)
  if(WITH_TEXT)
    # Also proves HIDE_ICU hides it.
    configure_consumer(text_without_icu ${prefix} HIDE_ICU FAIL "component text needs ICU"
                       -DXSOCK_COMPONENTS=net,text)
  endif()
  if(WITH_TLS)
    # tls alone loads neither xsock::text nor ICU (the consumer checks).
    configure_consumer(tls_only ${prefix} -DXSOCK_COMPONENTS=tls -DWITH_TLS=ON)
    build_and_run_consumer(tls_only FALSE TRUE)
    configure_consumer(tls_without_openssl ${prefix} HIDE_ICU FAIL "component tls needs OpenSSL 3"
                       -DXSOCK_COMPONENTS=net,tls)
  endif()
  configure_consumer(wrong_version ${prefix} FAIL "compatible with requested version \"${incompatible_version}\""
                     -DXSOCK_REQUIRE_VERSION=${incompatible_version})

elseif(MODE STREQUAL "net_only_build")
  set(build ${WORK_DIR}/xsock)
  set(prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build}
      -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
      "-DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_LAUNCHER}"
      "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
      -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
      -DXSOCK_BUILD_TEXT=OFF -DXSOCK_BUILD_TLS=OFF -DXSOCK_BUILD_TOOLS=OFF -DXSOCK_BUILD_TESTS=OFF
      -DXSOCK_BUILD_DOCS=OFF -DXSOCK_WARNINGS_AS_ERRORS=ON)
  run(${CMAKE_COMMAND} --build ${build} --parallel 2)
  run(${CMAKE_COMMAND} --install ${build} --prefix ${prefix})
  foreach(absent cmake/xsock/xsock-text-targets.cmake pkgconfig/xsock-text.pc
                 cmake/xsock/xsock-tls-targets.cmake pkgconfig/xsock-tls.pc)
    if(EXISTS ${prefix}/${LIBDIR}/${absent})
      message(FATAL_ERROR "a build without text and tls installed ${LIBDIR}/${absent}")
    endif()
  endforeach()
  configure_consumer(net_without_icu ${prefix} HIDE_ICU -DXSOCK_COMPONENTS=net)
  build_and_run_consumer(net_without_icu FALSE)
  configure_consumer(plain_without_icu ${prefix} HIDE_ICU)
  build_and_run_consumer(plain_without_icu FALSE)
  configure_consumer(text ${prefix} FAIL "built without text" -DXSOCK_COMPONENTS=text)
  configure_consumer(tls ${prefix}
    FAIL "xsock was built without tls \\(XSOCK_BUILD_TLS=OFF\\): component tls is not installed"
    -DXSOCK_COMPONENTS=tls)
  # Both refusals are said, not only the last.
  configure_consumer(text_and_tls ${prefix} FAIL "built without text.*built without tls"
                     -DXSOCK_COMPONENTS=text,tls)

elseif(MODE STREQUAL "pkg_config")
  # Installed, then moved: the .pc files must not name the prefix they were made for.
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/installed)
  file(RENAME ${WORK_DIR}/installed ${WORK_DIR}/moved)
  set(ENV{PKG_CONFIG_PATH} ${WORK_DIR}/moved/${LIBDIR}/pkgconfig)
  if(NOT DEFINED ENV{PKG_CONFIG})
    set(ENV{PKG_CONFIG} pkg-config)
  endif()
  set(pkg_config $ENV{PKG_CONFIG})
  run(${pkg_config} --modversion xsock)
  string(STRIP "${last_output}" version)
  if(NOT version STREQUAL VERSION)
    message(FATAL_ERROR "pkg-config --modversion xsock: '${version}', expected ${VERSION}")
  endif()
  separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS} ${LINKER_FLAGS}")
  set(programs consumer=xsock:main.cpp)
  if(WITH_TEXT)
    list(APPEND programs text_consumer=xsock-text:text_main.cpp)
  endif()
  if(WITH_TLS)
    list(APPEND programs tls_consumer=xsock-tls:tls_main.cpp)
  endif()
  foreach(program IN LISTS programs)
    string(REGEX MATCH "^([^=]+)=([^:]+):(.+)$" _ "${program}")
    set(name ${CMAKE_MATCH_1})
    set(module ${CMAKE_MATCH_2})
    set(source ${CMAKE_MATCH_3})
    run(${pkg_config} --cflags --libs ${module})
    separate_arguments(pc_flags UNIX_COMMAND "${last_output}")
    if(NOT "${pc_flags}" MATCHES "${WORK_DIR}/moved/")
      message(FATAL_ERROR "pkg-config ${module} does not point into the moved prefix: ${pc_flags}")
    endif()
    run(${CXX_COMPILER} -std=c++17 ${cxx_flags} ${CONSUMER_DIR}/${source} ${pc_flags}
        -pthread -o ${WORK_DIR}/${name})
    run(${WORK_DIR}/${name})
    message(STATUS "${name} (pkg-config ${module}): ${last_output}")
    if(NOT last_output MATCHES "echo over 127\\.0\\.0\\.1:[0-9]+ ok|decode ok|tls ClientHello [0-9]+ bytes ok")
      message(FATAL_ERROR "unexpected ${name} output: ${last_output}")
    endif()
  endforeach()

elseif(MODE STREQUAL "deb")
  run(cpack -G DEB --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR}/package)
  file(GLOB deb ${WORK_DIR}/package/*.deb)
  list(LENGTH deb count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "cpack -G DEB made ${count} .deb files: ${deb}\n${last_output}")
  endif()
  run(dpkg-deb --field ${deb} Package Version Architecture Depends)
  set(fields "${last_output}")
  message(STATUS "${deb}:\n${fields}")
  if(NOT fields MATCHES "Package: xsock\nVersion: ${VERSION}\n")
    message(FATAL_ERROR "unexpected control fields in ${deb}:\n${last_output}")
  endif()
  set(root ${WORK_DIR}/root)
  run(dpkg-deb --extract ${deb} ${root})
  set(usr ${root}/usr)
  file(GLOB net_library ${usr}/${LIBDIR}/libxsock_net.*)
  if(NOT net_library)
    message(FATAL_ERROR "no libxsock_net in ${usr}/${LIBDIR}")
  endif()
  set(files ${INCLUDEDIR}/xsock/xsock.hpp ${LIBDIR}/cmake/xsock/xsock-config.cmake
            ${LIBDIR}/cmake/xsock/xsock-config-version.cmake ${LIBDIR}/pkgconfig/xsock.pc)
  if(WITH_TLS)
    list(APPEND files ${INCLUDEDIR}/xsock/tls_context.hpp ${INCLUDEDIR}/xsock/stream_layer.hpp
         ${LIBDIR}/cmake/xsock/xsock-tls-targets.cmake ${LIBDIR}/pkgconfig/xsock-tls.pc)
    # xsock::tls is a static library: what runs it needs OpenSSL's shared libraries.
    if(NOT fields MATCHES "Depends:[^\n]*libssl3")
      message(FATAL_ERROR "xsock::tls uses OpenSSL 3, but ${deb} does not depend on libssl3")
    endif()
  endif()
  foreach(file IN LISTS files)
    if(NOT EXISTS ${usr}/${file})
      message(FATAL_ERROR "${deb} lacks /usr/${file}")
    endif()
  endforeach()
  if(WITH_TOOLS)
    if(NOT fields MATCHES "Depends:.*libicu")
      message(FATAL_ERROR "the tools use ICU, but ${deb} does not depend on it")
    endif()
    foreach(tool xsock-server xsock-client)
      run(${usr}/${BINDIR}/${tool} --version)
      if(NOT last_output MATCHES "^${tool} ${VERSION} ")
        message(FATAL_ERROR "${tool} --version from the .deb: ${last_output}")
      endif()
    endforeach()
  endif()
  # As a user of the package writes it; the variants are install.find_package's.
  configure_consumer(plain ${usr} -DWITH_TEXT=${WITH_TEXT} -DWITH_TLS=${WITH_TLS})
  build_and_run_consumer(plain ${WITH_TEXT} ${WITH_TLS})

else()
  message(FATAL_ERROR "run_install_test.cmake: unknown MODE '${MODE}'")
endif()
