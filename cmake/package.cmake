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
    "${PROJECT_DESCRIPTION}\n xsock::net (sockets, poller, server loop), xsock::text (ICU-based\n streaming conversion) and xsock::tls (TLS on OpenSSL 3) as static libraries\n with headers, a CMake package (find_package(xsock)) and pkg-config files,\n plus the xsock-server and xsock-client tools.")
# The tools' shared-library needs (libc, the C++ runtime, ICU) come from
# dpkg-shlibdeps; building against xsock::text also needs ICU's headers.
find_program(XSOCK_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(XSOCK_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
set(xsock_deb_recommends "")
if(XSOCK_BUILD_TEXT)
  list(APPEND xsock_deb_recommends libicu-dev)
endif()
if(XSOCK_BUILD_TLS)
  # The static xsock::tls calls into OpenSSL 3's shared libraries, whether or not a
  # tool does (dpkg-shlibdeps sees only the tools); building against it needs their
  # headers and link names too.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libssl3 (>= 3.0.0)")
  list(APPEND xsock_deb_recommends libssl-dev)
endif()
list(JOIN xsock_deb_recommends ", " CPACK_DEBIAN_PACKAGE_RECOMMENDS)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake, pkg-config")
include(CPack)
