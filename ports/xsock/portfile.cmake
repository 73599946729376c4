# Overlay port: builds xsock from the source tree this file is in (ports/xsock/../..),
# so a checkout (or a submodule) of xsock is the port's source:
#   vcpkg install xsock --overlay-ports=<xsock>/ports
# or, in a project's vcpkg.json manifest, "dependencies": ["xsock"] and
#   cmake -DVCPKG_OVERLAY_PORTS=<xsock>/ports ...
# Features: text (default; ICU), tls (default; OpenSSL 3), tools (xsock-server,
# xsock-client; CLI11). A feature left out turns its XSOCK_BUILD_* option off.
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
if(NOT EXISTS "${SOURCE_PATH}/core/include/xsock/xsock.hpp")
  message(FATAL_ERROR "xsock overlay port: no xsock source tree at ${SOURCE_PATH}")
endif()

# The libraries carry no dllexport annotations: static libraries on every triplet
# (with the triplet's CRT linkage).
vcpkg_check_linkage(ONLY_STATIC_LIBRARY)

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    text  XSOCK_BUILD_TEXT
    tls   XSOCK_BUILD_TLS
    tools XSOCK_BUILD_TOOLS)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${FEATURE_OPTIONS}
    -DXSOCK_INSTALL=ON
    -DXSOCK_BUILD_TESTS=OFF
    -DXSOCK_BUILD_BENCHMARKS=OFF
    -DXSOCK_BUILD_FUZZERS=OFF
    -DXSOCK_BUILD_DOCS=OFF)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME xsock CONFIG_PATH lib/cmake/xsock)
vcpkg_fixup_pkgconfig()
if("tools" IN_LIST FEATURES)
  vcpkg_copy_tools(TOOL_NAMES xsock-server xsock-client AUTO_CLEAN)
endif()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
# The source tree has no license file yet; the copyright file says where xsock comes from.
file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright"
  "xsock ${VERSION}: built from the source tree at ${SOURCE_PATH}.\n"
  "See that tree's README.md for its terms.\n")
