# CPack: `cpack -G DEB` in a build directory makes one .deb with the libraries, the
# headers, the CMake package, the pkg-config files and the tools, for /usr.
set(CPACK_PACKAGE_NAME xsock)
set(CPACK_PACKAGE_VENDOR "xsock")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "xsock maintainers <xsock@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "/build-.*/")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "${PROJECT_DESCRIPTION}\n xsock::net (sockets, poller, server loop) and xsock::text (ICU-based\n streaming conversion) as static libraries with headers, a CMake package\n (find_package(xsock)) and pkg-config files, plus the xsock-server and\n xsock-client tools.")
# The tools' shared-library needs (libc, the C++ runtime, ICU) come from
# dpkg-shlibdeps; building against xsock::text also needs ICU's headers.
find_program(XSOCK_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(XSOCK_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
if(XSOCK_BUILD_TEXT)
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libicu-dev")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake, pkg-config")
include(CPack)
